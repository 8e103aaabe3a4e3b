"""Join storm: --clients people join one room within --seconds while someone else joins
another room now and then. Prints, for whole-list clients and for `roster_changes` clients:
the server's RSS growth and peak, the roster traffic each member received, how long until
every member's list held everyone, and the other room's join -> last_100_messages delay.

    .venv/bin/python bench/join_storm.py [--clients 1000 --seconds 10] [--profile /tmp/storm]
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from fanout import start_devrooms
from harness import DATABASE, HARPERDB_PASSWORD, HARPERDB_USER, PROJECT_DIR, node

from messaging.local_harperdb import LocalHarperDB
from messaging.store import HarperDBMessageStore

GENERATOR = Path(__file__).with_name("join_storm.mjs")
PY_SPY = str(Path(sys.executable).with_name("py-spy"))


def rss_mb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def storm(folder: Path, harperdb, options: argparse.Namespace, *, changes: bool) -> dict:
    server = start_devrooms(folder, harperdb, clients=options.clients + 200)
    try:
        before = rss_mb(server.pid, "VmRSS")
        server.reset_peak_rss()
        profiler = None
        if options.profile:
            profile = f"{options.profile}-{'changes' if changes else 'lists'}.txt"
            record = ["record", "--format", "raw", "--nonblocking", "-o", profile]
            profiler = subprocess.Popen(
                [PY_SPY, *record, "--pid", str(server.pid)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        completed = subprocess.run(
            [
                node(),
                str(GENERATOR),
                *("--url", server.url, "--room", f"storm-{changes}"),
                *("--clients", str(options.clients), "--seconds", str(options.seconds)),
                *(["--changes"] if changes else []),
            ],
            cwd=PROJECT_DIR,
            capture_output=True,
            text=True,
            timeout=options.seconds + 180,
            check=True,
        )
        if profiler is not None:
            profiler.send_signal(signal.SIGINT)  # py-spy writes its profile when interrupted
            profiler.wait(timeout=60)
        result = json.loads(completed.stdout.strip().splitlines()[-1])
        result["rss_before_mb"] = before
        result["rss_peak_growth_mb"] = rss_mb(server.pid, "VmHWM") - before
        result["rss_after_mb"] = rss_mb(server.pid, "VmRSS")
        return result
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument(
        "--profile",
        metavar="PREFIX",
        help="record the server with py-spy into PREFIX-lists.txt and PREFIX-changes.txt "
        "(read them with bench/profile_top.py)",
    )
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="devrooms-storm-") as folder:
        harperdb = LocalHarperDB.on_free_ports(
            Path(folder) / "harperdb", username=HARPERDB_USER, password=HARPERDB_PASSWORD
        )
        harperdb.start()
        try:
            HarperDBMessageStore(harperdb.client(), database=DATABASE, table="messages").bootstrap()
            run_both(Path(folder), harperdb, options)
        finally:
            harperdb.stop()


def run_both(folder: Path, harperdb: LocalHarperDB, options: argparse.Namespace) -> None:
    for changes in (False, True):
        kind = "roster_changes" if changes else "chatroom_users"
        result = storm(folder / kind, harperdb, options, changes=changes)
        per_member = result["roster_entries_received"] / max(1, result["clients"])
        print(
            f"{kind:>15}: {result['clients']} joins in {result['joined_in_ms'] / 1000:.1f} s, "
            f"lists complete after {result['converged_ms'] / 1000:.1f} s "
            f"(all: {result['converged']}), refused {result['refused']}, "
            f"disconnected {result['disconnected']}; "
            f"RSS +{result['rss_peak_growth_mb']:.0f} MB at peak "
            f"({result['rss_before_mb']:.0f} -> {result['rss_after_mb']:.0f} MB after); "
            f"roster events {result['roster_events']}, "
            f"{per_member:.0f} roster entries per member; "
            f"other room join -> history p50 {result['probe_p50_ms']:.0f} ms, "
            f"max {result['probe_max_ms']:.0f} ms ({result['probe_joins']} joins)"
            + (f"; errors {result['errors']}" if result["errors"] else "")
        )
        sys.stdout.flush()


if __name__ == "__main__":
    main()
