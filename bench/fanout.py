"""Fan-out benchmark: DevRooms and a Node Socket.IO peer under the same load, back to back.

Starts a throwaway HarperDB, DevRooms under Daphne (debug off, rate limit off) and the Node
peer (bench/peer.mjs), each on free ports on 127.0.0.1. For every rate it runs the load
generator (bench/fanout_load.mjs: --clients clients in --rooms rooms, each sending in turn)
against DevRooms, then against the peer, and reads each server's CPU time and peak RSS from
/proc while it runs. Then it times join -> last_100_messages in a room holding
--history-messages stored messages. Prints one table; everything it started is stopped.

    .venv/bin/python bench/fanout.py [--rates 200,500,1000] [--clients 200 --rooms 10]
        [--duration 10] [--repeat 2] [--only devrooms] [--json results.jsonl]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from messaging.local_harperdb import LocalHarperDB, free_port
from messaging.store import HarperDBMessageStore, Message, MessageIdClock

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BENCH_DIR.parent
LOAD_GENERATOR = BENCH_DIR / "fanout_load.mjs"
PEER = BENCH_DIR / "peer.mjs"
ASGI_APP = "chatsite.asgi:application"


def daphne_command() -> list[str]:
    """How DevRooms is served: `chatsite.serve` (Daphne on uvloop; CHAT_UVLOOP=false keeps
    asyncio's loop) where the project has it, plain Daphne for commits from before it."""
    module = "chatsite.serve" if importlib.util.find_spec("chatsite.serve") else "daphne"
    return [sys.executable, "-m", module]


DATABASE = "devrooms_bench"
HARPERDB_USER = "bench"
HARPERDB_PASSWORD = secrets.token_urlsafe(12)
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
SETTLE_SECONDS = 3.0  # between runs: DevRooms announces departures after its grace period


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


@dataclass
class Server:
    name: str
    url: str
    process: subprocess.Popen
    log_file: Path | None = None
    harperdb_pid: int | None = None  # its database, whose CPU time is read too

    @property
    def pid(self) -> int:
        return self.process.pid

    def reset_peak_rss(self) -> None:
        # Writing 5 to clear_refs resets VmHWM (Linux 4.0+); without it, VmHWM is the peak
        # since the process started, so later runs would show earlier runs' peaks.
        try:
            Path(f"/proc/{self.pid}/clear_refs").write_text("5")
        except OSError:
            pass

    def peak_rss_mb(self) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        """Stop the server and anything it started (it leads its own process group)."""
        if self.process.poll() is not None:
            return
        os.killpg(self.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.pid, signal.SIGKILL)
            self.process.wait()

    def log_tail(self) -> str:
        if self.log_file is None or not self.log_file.exists():
            return ""
        return self.log_file.read_text(errors="replace")[-3000:]


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of a process, all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5)
    return (utime + stime) / CLOCK_TICKS


def wait_until_answers(server: Server, *, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and server.process.poll() is None:
        try:
            url = f"{server.url}/socket.io/?EIO=4&transport=polling"
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"{server.name} did not start:\n{server.log_tail()}")


def start_devrooms(folder: Path, harperdb: LocalHarperDB, *, clients: int) -> Server:
    """DevRooms as deployed: Daphne, debug off, a migrated SQLite database of its own; the
    chat rate limit off, and the per-address caps on connections and on new rooms lifted
    (every client of the generator comes from 127.0.0.1, and each run makes new rooms)."""
    folder.mkdir(parents=True, exist_ok=True)
    environment = {
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
    }
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=PROJECT_DIR,
        env=environment,
        check=True,
    )
    port = free_port()
    log_file = folder / "daphne.log"
    with open(log_file, "ab") as log:
        process = subprocess.Popen(
            [*daphne_command(), "-b", "127.0.0.1", "-p", str(port), ASGI_APP],
            cwd=PROJECT_DIR,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server("DevRooms", f"http://127.0.0.1:{port}", process, log_file, harperdb.pid())
    wait_until_answers(server)
    return server


def start_peer(folder: Path) -> Server:
    log_file = folder / "peer.log"
    port = free_port()
    with open(log_file, "ab") as log:
        process = subprocess.Popen(
            [node(), str(PEER), "--port", str(port)],
            cwd=PROJECT_DIR,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server("peer", f"http://127.0.0.1:{port}", process, log_file)
    wait_until_answers(server)
    return server


def node() -> str:
    found = shutil.which("node")
    if found is None:
        raise RuntimeError("node is not on PATH (Node 20 is needed, see README.md)")
    return found


def machine_cpu_seconds() -> float:
    """CPU seconds all processes on this machine have used (every core, idle left out)."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq = fields[:7]
    return (user + nice + system + irq + softirq) / CLOCK_TICKS


def generate(server: Server, arguments: list[str], *, limit_seconds: float) -> dict[str, Any]:
    """Run the load generator against `server`. When it starts and stops sending, reads the
    CPU seconds of the server, HarperDB (when the server has one), the generator and the
    whole machine; what the machine spent beyond those is other people's work, as noise."""
    process = subprocess.Popen(
        [node(), str(LOAD_GENERATOR), "--url", server.url, *arguments],
        cwd=PROJECT_DIR,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    watched = {"server": server.pid, "generator": process.pid}
    if server.harperdb_pid is not None:
        watched["harperdb"] = server.harperdb_pid
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
                    **{name: process_cpu_seconds(pid) for name, pid in watched.items()},
                }
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


def run_load(
    server: Server, options: argparse.Namespace, *, rate: int, prefix: str, duration: float
) -> dict:
    server.reset_peak_rss()
    result = generate(
        server,
        [
            *("--clients", str(options.clients), "--rooms", str(options.rooms)),
            *("--rate", str(rate), "--duration", str(duration)),
            *("--drain", str(options.drain), "--drain-max", str(options.drain_max)),
            *("--prefix", prefix),
        ],
        limit_seconds=duration + options.drain_max + 120,
    )
    result.update(server=server.name, rate=rate, peak_rss_mb=server.peak_rss_mb())
    received = result.get("deliveries_received") or 0
    if "server_cpu_seconds" in result and received:
        result["cpu_us_per_delivery"] = result["server_cpu_seconds"] * 1e6 / received
    if "harperdb_cpu_seconds" in result and received:
        result["harperdb_cpu_us_per_delivery"] = result["harperdb_cpu_seconds"] * 1e6 / received
    return result


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


def seed_history(store: HarperDBMessageStore, room: str, count: int) -> None:
    clock = MessageIdClock()
    messages = [
        Message.compose(
            room=room,
            username=f"seed{number % 20}",
            text=f"seeded message {number} " + "lorem ipsum " * 4,
            client_id=f"seed-{number}",
            clock=clock,
        )
        for number in range(count)
    ]
    for start in range(0, count, 250):
        store.insert(messages[start : start + 250])


def run_history(server: Server, options: argparse.Namespace, room: str) -> dict:
    return generate(
        server,
        ["--history-joins", str(options.history_joins), "--room", room],
        limit_seconds=120,
    )


def milliseconds(figures: dict | None, name: str) -> str:
    return "-" if not figures else f"{figures[name]:.1f}"


def number(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def ratio(ours: float | None, theirs: float | None) -> str:
    if not ours or not theirs:
        return "-"
    return f"{ours / theirs:.1f}x"


def table_row(ours: dict, peer: dict | None) -> list[str]:
    peer = peer or {}
    latency, peer_latency = ours.get("latency_ms") or {}, peer.get("latency_ms") or {}
    return [
        str(ours["rate"]),
        " / ".join(milliseconds(latency, name) for name in ("p50", "p95", "p99", "max")),
        str(ours.get("delivery_rate", "-")),
        str(ours.get("lost", "-")),
        str(ours.get("missing", "-")),
        str(ours.get("refused", "-")),
        str(ours.get("unanswered", "-")),
        number(ours.get("cpu_us_per_delivery")),
        number(ours.get("harperdb_cpu_us_per_delivery")),
        number(ours.get("peak_rss_mb"), 0),
        number(ours.get("other_processes_cores"), 2),
        " / ".join(milliseconds(peer_latency, name) for name in ("p50", "p99")),
        number(peer.get("cpu_us_per_delivery")),
        ratio(latency.get("p50"), peer_latency.get("p50")),
        ratio(latency.get("p99"), peer_latency.get("p99")),
        ratio(ours.get("cpu_us_per_delivery"), peer.get("cpu_us_per_delivery")),
    ]


TABLE_HEADER = [
    "msgs/s",
    "DevRooms p50 / p95 / p99 / max ms",
    "dlv/s",
    "lost",
    "missing",
    "refused",
    "no ack",
    "CPU us/dlv",
    "HarperDB us/dlv",
    "RSS MB",
    "others' cores",
    "peer p50 / p99 ms",
    "peer CPU us/dlv",
    "x p50",
    "x p99",
    "x CPU",
]


def print_table(rows: list[tuple[dict, dict | None]]) -> None:
    """One line per run: DevRooms, the peer, and DevRooms / peer ratios ("x"). dlv/s is
    deliveries per second from the first send to the last delivery: below 20 x msgs/s
    (with 20 per room) when DevRooms falls behind. "others' cores": CPU that processes other
    than DevRooms, its HarperDB and the load generator used meanwhile (the machine's noise)."""
    lines = [TABLE_HEADER] + [table_row(ours, peer) for ours, peer in rows]
    widths = [max(len(line[column]) for line in lines) for column in range(len(TABLE_HEADER))]
    print()
    for line in lines:
        print(" | ".join(cell.rjust(width) for cell, width in zip(line, widths, strict=True)))


def print_joins(rows: list[tuple[dict, dict | None]], history: list[dict]) -> None:
    def seconds(results: list[dict]) -> str:
        values = [r["connect_join_seconds"] for r in results if "connect_join_seconds" in r]
        if not values:
            return "-"
        median = statistics.median(values)
        return f"median {median:.2f} s (min {min(values):.2f}, max {max(values):.2f})"

    print(f"\nconnect + join of all clients, DevRooms: {seconds([ours for ours, _ in rows])}")
    print(f"connect + join of all clients, peer:     {seconds([p for _, p in rows if p])}")
    for result in history:
        figures = result.get("join_history_ms")
        print(
            f"join -> last_100_messages, {result['server']}: "
            f"p50 {milliseconds(figures, 'p50')} ms, p95 {milliseconds(figures, 'p95')} ms, "
            f"max {milliseconds(figures, 'max')} ms over {result.get('joins', '-')} joins, "
            f"history length {result.get('history_lengths', '-')}"
        )


def benchmark(options: argparse.Namespace, folder: Path, harperdb: LocalHarperDB) -> None:
    client = harperdb.client()
    client.timeout = 30
    store = HarperDBMessageStore(client, database=DATABASE, table="messages")
    store.bootstrap()
    servers: list[Server] = []
    try:
        devrooms = start_devrooms(folder / "devrooms", harperdb, clients=options.clients)
        servers.append(devrooms)
        say(f"DevRooms ({' '.join(daphne_command()[1:])}) pid {devrooms.pid} on {devrooms.url}")
        peer = None
        if options.only != "devrooms":
            peer = start_peer(folder)
            servers.append(peer)
            say(f"Node peer pid {peer.pid} on {peer.url}")
        run_id = secrets.token_hex(3)
        if options.warmup:
            # The first run after a start pays for cold caches, pools and JIT: not measured.
            for server in servers:
                warmup = run_load(
                    server,
                    options,
                    rate=min(options.rates),
                    prefix=f"bench-{run_id}-warmup",
                    duration=options.warmup,
                )
                record(options, {**warmup, "warmup": True})
                time.sleep(SETTLE_SECONDS)
        rows: list[tuple[dict, dict | None]] = []
        for repeat in range(options.repeat):
            for rate in options.rates:
                prefix = f"bench-{run_id}-{repeat}-{rate}"
                ours = run_load(
                    devrooms, options, rate=rate, prefix=prefix, duration=options.duration
                )
                if ours.get("mode") == "load":
                    ours["missing"] = missing_from_history(store, ours, prefix)
                record(options, ours)
                time.sleep(SETTLE_SECONDS)
                theirs = None
                if peer is not None:
                    theirs = run_load(
                        peer, options, rate=rate, prefix=prefix, duration=options.duration
                    )
                    record(options, theirs)
                    time.sleep(SETTLE_SECONDS)
                rows.append((ours, theirs))
        history = []
        if options.history_joins:
            room = f"bench-{run_id}-history"
            seed_history(store, room, options.history_messages)
            for server in servers:
                result = {**run_history(server, options, room), "server": server.name}
                record(options, result)
                history.append(result)
        print_table(rows)
        print_joins(rows, history)
    finally:
        for server in servers:
            server.stop()


def record(options: argparse.Namespace, result: dict) -> None:
    """Progress on stderr; every result in full to --json when given."""
    shown = {key: value for key, value in result.items() if key != "unacked_seqs"}
    say(json.dumps(shown))
    if options.json:
        with open(options.json, "a") as out:
            out.write(json.dumps(result) + "\n")


def main(options: argparse.Namespace) -> None:
    # A polite kill (SIGTERM) unwinds like Ctrl-C, so everything started is stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with tempfile.TemporaryDirectory(prefix="devrooms-fanout-") as folder:
        harperdb = LocalHarperDB.on_free_ports(
            Path(folder) / "harperdb", username=HARPERDB_USER, password=HARPERDB_PASSWORD
        )
        harperdb.start()
        try:
            benchmark(options, Path(folder), harperdb)
        finally:
            harperdb.stop()


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rates",
        type=lambda text: [int(rate) for rate in text.split(",")],
        default=[200, 500, 1000],
        help="total messages/s, comma-separated (default 200,500,1000)",
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
    parser.add_argument("--repeat", type=int, default=1, help="run every rate this many times")
    parser.add_argument("--history-messages", type=int, default=1000)
    parser.add_argument("--history-joins", type=int, default=50, help="0 skips the history run")
    parser.add_argument("--only", choices=["devrooms", "both"], default="both")
    parser.add_argument("--json", help="append every result as a JSON line to this file")
    return parser.parse_args()


if __name__ == "__main__":
    main(parse_arguments())
