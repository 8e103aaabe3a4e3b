"""What the load benchmarks share: DevRooms's environment under load, the load generator
(bench/fanout_load.mjs) run with the CPU time of the processes it loads read from /proc,
and the check of HarperDB's history after a run."""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from messaging.local_harperdb import LocalHarperDB
from messaging.store import HarperDBMessageStore

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BENCH_DIR.parent
# deploy/ is the project's, not an installed package: the benchmarks import it from here.
if str(PROJECT_DIR) not in sys.path:
    sys.path.insert(0, str(PROJECT_DIR))
LOAD_GENERATOR = BENCH_DIR / "fanout_load.mjs"
DATABASE = "devrooms_bench"
HARPERDB_USER = "bench"
HARPERDB_PASSWORD = secrets.token_urlsafe(12)
METRICS_TOKEN = secrets.token_urlsafe(24)  # DevRooms' /metrics, for the writer's figures
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def node() -> str:
    found = shutil.which("node")
    if found is None:
        raise RuntimeError("node is not on PATH (Node 20 is needed, see README.md)")
    return found


def devrooms_environment(folder: Path, harperdb: LocalHarperDB, *, clients: int) -> dict:
    """DevRooms as deployed: debug off, a SQLite database of its own in `folder`, messages in
    `harperdb`; the chat rate limit off, and the per-address caps on connections and on new
    rooms lifted (the generator's clients share few addresses, and each run makes new rooms).
    Without Redis: add REDIS_URL for several processes."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "chatsite.settings",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(32),
        "DJANGO_DEBUG": "false",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_LOG_LEVEL": "WARNING",
        "DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}",
        "HARPERDB_URL": harperdb.url,
        "HARPERDB_USERNAME": harperdb.username,
        "HARPERDB_PASSWORD": harperdb.password,
        "HARPERDB_DATABASE": DATABASE,
        "HARPERDB_TABLE": "messages",
        "REDIS_URL": "",
        "CHAT_RATE_LIMIT": "0",
        "CHAT_MAX_CONNECTIONS_PER_IP": str(clients + 100),
        "CHAT_ROOM_CREATE_PER_HOUR": "1000000",
        "CHAT_METRICS_TOKEN": METRICS_TOKEN,
    }


def bench_store(harperdb: LocalHarperDB) -> HarperDBMessageStore:
    """The benchmark's message table in `harperdb`, created when missing."""
    client = harperdb.client()
    client.timeout = 30
    store = HarperDBMessageStore(client, database=DATABASE, table="messages")
    store.bootstrap()
    return store


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of a process, all its threads."""
    return _cpu_seconds(Path(f"/proc/{pid}/stat"))


@dataclass(frozen=True)
class MainThread:
    """A process's main thread alone: for DevRooms, its event loop, without the threads
    that wait for HarperDB or the database."""

    pid: int


def cpu_seconds(source: int | MainThread) -> float:
    """The CPU seconds of a process (by its pid) or of a process's main thread."""
    if isinstance(source, MainThread):
        return _cpu_seconds(Path(f"/proc/{source.pid}/task/{source.pid}/stat"))
    return process_cpu_seconds(source)


def _cpu_seconds(stat: Path) -> float:
    fields = stat.read_text().rsplit(")", 1)[1].split()
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5)
    return (utime + stime) / CLOCK_TICKS


WRITER_METRICS = {
    "devrooms_store_seconds_count": "store_attempts",
    "devrooms_store_seconds_sum": "store_seconds",
    "devrooms_messages_stored_total": "messages_stored",
}


def writer_totals(url: str) -> dict[str, float]:
    """DevRooms' writer so far, from its /metrics: attempts to store a batch, the seconds
    they took, and the messages stored."""
    request = urllib.request.Request(
        f"{url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read().decode()
    totals = {}
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name in WRITER_METRICS:
            totals[WRITER_METRICS[name]] = float(value)
    return totals


def writer_figures(before: dict[str, float], after: dict[str, float], seconds: float) -> dict:
    """What the writer did between two `writer_totals`: its batches, their mean size and
    time, and how much of the `seconds` it spent storing (near 1: every message waits for
    the batch before its own)."""
    spent = {name: after[name] - before.get(name, 0.0) for name in after}
    batches = spent.get("store_attempts", 0)
    if not batches or seconds <= 0:
        return {}
    return {
        "store_batches": int(batches),
        "messages_per_batch": spent.get("messages_stored", 0) / batches,
        "store_ms_mean": 1000 * spent["store_seconds"] / batches,
        "writer_busy": spent["store_seconds"] / seconds,
    }


def machine_cpu_seconds() -> float:
    """CPU seconds all processes on this machine have used (every core, idle left out)."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq = fields[:7]
    return (user + nice + system + irq + softirq) / CLOCK_TICKS


def reset_peak_rss(pid: int) -> None:
    # Writing 5 to clear_refs resets VmHWM (Linux 4.0+); without it, VmHWM is the peak
    # since the process started, so later runs would show earlier runs' peaks.
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        pass


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def generate(
    url: str,
    arguments: list[str],
    *,
    watched: dict[str, Sequence[int | MainThread]],
    limit_seconds: float,
    on_phase: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run the load generator against `url`. When it starts and stops sending, reads the CPU
    seconds of each group of `watched` processes or main threads (as `<name>_cpu_seconds`),
    the generator's
    and the whole machine's; what the machine spent beyond those is other people's work, as
    noise. `on_phase` is called with each phase the generator announces, after its reading."""
    process = subprocess.Popen(
        [node(), str(LOAD_GENERATOR), "--url", url, *arguments],
        cwd=PROJECT_DIR,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    watched = {**watched, "generator": [process.pid]}
    watchdog = threading.Timer(limit_seconds, os.killpg, (process.pid, signal.SIGKILL))
    watchdog.start()
    marks: dict[str, dict[str, float]] = {}
    result: dict[str, Any] = {"mode": "failed", "errors": ["no result"]}
    try:
        for line in process.stdout:
            try:
                report = json.loads(line)
            except json.JSONDecodeError:
                result = {"mode": "failed", "errors": [f"not JSON: {line[:200]}"]}
                continue
            if "phase" in report:
                marks[report["phase"]] = {
                    "machine": machine_cpu_seconds(),
                    "wall": time.monotonic(),
                    **{
                        name: sum(cpu_seconds(source) for source in sources)
                        for name, sources in watched.items()
                    },
                }
                if on_phase is not None:
                    on_phase(report["phase"])
            else:
                result = report
        process.wait()
    finally:
        watchdog.cancel()
        if process.poll() is None:  # interrupted: it has a session of its own, so no Ctrl-C
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    if {"sending", "drained"} <= marks.keys():
        spent = {name: marks["drained"][name] - marks["sending"][name] for name in marks["sending"]}
        for name in watched:
            result[f"{name}_cpu_seconds"] = spent[name]
        others = spent["machine"] - sum(spent[name] for name in watched)
        result["other_processes_cores"] = max(0.0, others) / spent["wall"]
    return result


def per_delivery(result: dict, name: str) -> float | None:
    """Microseconds of `name`'s CPU time per delivery received, when both are known."""
    received = result.get("deliveries_received") or 0
    if f"{name}_cpu_seconds" not in result or not received:
        return None
    return result[f"{name}_cpu_seconds"] * 1e6 / received


def missing_from_history(store: HarperDBMessageStore, result: dict, prefix: str) -> int:
    """Messages acked as stored that the room's history does not hold."""
    clients, rooms = result["clients"], result["rooms"]
    unacked = set(result["unacked_seqs"])
    expected: dict[int, set[str]] = {room: set() for room in range(rooms)}
    for seq in range(result["messages"]):
        if seq not in unacked:
            expected[(seq % clients) % rooms].add(f"m{seq}")
    missing = 0
    for room, client_ids in expected.items():
        stored = store.latest(room=f"{prefix}-{room}", limit=len(client_ids) + 1000)
        missing += len(client_ids - {message.client_id for message in stored})
    return missing


SETTLE_SECONDS = 3.0  # between runs: DevRooms announces departures after its grace period


def warm_up(options: argparse.Namespace, run: Callable[..., dict], *, prefix: str) -> None:
    """The first run after a start pays for cold caches, pools and JIT: `run` at the lowest
    rate for --warmup seconds, recorded as a warm-up and not measured; then let it settle."""
    if not options.warmup:
        return
    warmup = run(rate=min(options.rates), prefix=f"{prefix}-warmup", duration=options.warmup)
    record(options, {**warmup, "warmup": True})
    time.sleep(SETTLE_SECONDS)


def record(options: argparse.Namespace, result: dict) -> None:
    """Progress on stderr; every result in full to --json when given."""
    shown = {key: value for key, value in result.items() if key != "unacked_seqs"}
    say(json.dumps(shown))
    if options.json:
        with open(options.json, "a") as out:
            out.write(json.dumps(result) + "\n")


def milliseconds(figures: dict | None, name: str) -> str:
    return "-" if not figures else f"{figures[name]:.1f}"


def number(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def print_columns(header: list[str], rows: list[list[str]]) -> None:
    """A table: one line per row, each column right-aligned to its widest cell."""
    lines = [header, *rows]
    widths = [max(len(line[column]) for line in lines) for column in range(len(header))]
    print()
    for line in lines:
        print(" | ".join(cell.rjust(width) for cell, width in zip(line, widths, strict=True)))


def integers(text: str) -> list[int]:
    """An option's comma-separated integers, e.g. --rates 200,500."""
    return [int(value) for value in text.split(",")]


def load_parser(description: str, *, rates: list[int]) -> argparse.ArgumentParser:
    """The options every fan-out benchmark takes: the load, its phases, repeats, output."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--rates",
        type=integers,
        default=rates,
        help=f"total messages/s, comma-separated (default {','.join(map(str, rates))})",
    )
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--rooms", type=int, default=10)
    parser.add_argument("--duration", type=float, default=10, help="seconds of sending per run")
    parser.add_argument(
        "--warmup", type=float, default=3, help="seconds of unmeasured load first (0: none)"
    )
    parser.add_argument(
        "--drain", type=float, default=10, help="give up after this many seconds without progress"
    )
    parser.add_argument(
        "--drain-max", type=float, default=180, help="seconds to wait for late deliveries at most"
    )
    parser.add_argument("--repeat", type=int, default=1, help="run every row this many times")
    parser.add_argument("--json", help="append every result as a JSON line to this file")
    return parser


def run_with_harperdb(name: str, benchmark: Callable[[Path, LocalHarperDB], None]) -> None:
    """Run `benchmark(folder, harperdb)` against a throwaway HarperDB in a temporary folder;
    whatever happens (SIGTERM included), everything started is stopped."""
    import tempfile

    # A polite kill (SIGTERM) unwinds like Ctrl-C, so everything started is stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with tempfile.TemporaryDirectory(prefix=f"devrooms-{name}-") as folder:
        harperdb = LocalHarperDB.on_free_ports(
            Path(folder) / "harperdb", username=HARPERDB_USER, password=HARPERDB_PASSWORD
        )
        harperdb.start()
        try:
            benchmark(Path(folder), harperdb)
        finally:
            harperdb.stop()
