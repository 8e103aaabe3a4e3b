"""Fan-out benchmark: DevRooms and a Node Socket.IO peer under the same load, back to back.

Starts a throwaway HarperDB, DevRooms under Daphne (debug off, rate limit off) and the Node
peer (bench/peer.mjs), each on free ports on 127.0.0.1. For every rate it runs the load
generator (bench/fanout_load.mjs: --clients clients in --rooms rooms, each sending in turn)
against DevRooms, then against the peer, and reads each server's CPU time and peak RSS from
/proc while it runs. Then it times join -> last_100_messages in a room holding
--history-messages stored messages. Prints one table; everything it started is stopped.
With `--peer socketio` the peer is bare, stock python-socketio under stock Daphne
(bench/socketio_peer.py): what the libraries DevRooms is built on cost without DevRooms.
With `--peer floor` it is a bare ASGI app speaking the same subset (bench/daphne_floor.py),
served as DevRooms is: what Daphne, autobahn and Twisted cost on their own. With
`--checkout DIR` the peer is DevRooms served from another checkout (a git worktree of an
older commit): before and after, side by side in one run.

    .venv/bin/python bench/fanout.py [--rates 200,500,1000] [--clients 200 --rooms 10]
        [--duration 10] [--repeat 2] [--only devrooms] [--peer node|socketio|floor]
        [--checkout DIR] [--json results.jsonl]
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from harness import (
    BENCH_DIR,
    PROJECT_DIR,
    SETTLE_SECONDS,
    MainThread,
    bench_store,
    devrooms_environment,
    generate,
    load_parser,
    milliseconds,
    missing_from_history,
    node,
    number,
    peak_rss_mb,
    per_delivery,
    print_columns,
    record,
    reset_peak_rss,
    run_with_harperdb,
    say,
    warm_up,
    writer_figures,
    writer_totals,
)

from deploy.processes import stop_process_group
from messaging.local_harperdb import LocalHarperDB, free_port
from messaging.store import HarperDBMessageStore, Message, MessageIdClock

PEER = BENCH_DIR / "peer.mjs"
PEER_NAMES = {
    "node": "Node socket.io",
    "socketio": "bare python-socketio (stock Daphne)",
    "floor": "bare ASGI (Daphne as DevRooms serves it)",
}
ASGI_APP = "chatsite.asgi:application"


def daphne_command(project: Path = PROJECT_DIR) -> list[str]:
    """How DevRooms is served: `chatsite.serve` (Daphne on uvloop; CHAT_UVLOOP=false keeps
    asyncio's loop) where the checkout has it, plain Daphne for commits from before it."""
    module = "chatsite.serve" if (project / "chatsite" / "serve.py").exists() else "daphne"
    return [sys.executable, "-m", module]


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
        reset_peak_rss(self.pid)

    def peak_rss_mb(self) -> float:
        return peak_rss_mb(self.pid)

    def stop(self) -> None:
        """Stop the server and anything it started (it leads its own process group)."""
        if self.process.poll() is None:
            os.killpg(self.pid, signal.SIGTERM)  # the peer's node and DevRooms's Daphne alike
        stop_process_group(self.process, timeout=10)

    def log_tail(self) -> str:
        if self.log_file is None or not self.log_file.exists():
            return ""
        return self.log_file.read_text(errors="replace")[-3000:]


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


def start_devrooms(
    folder: Path,
    harperdb: LocalHarperDB,
    *,
    clients: int,
    project: Path = PROJECT_DIR,
    name: str = "DevRooms",
) -> Server:
    """DevRooms under Daphne as harness.devrooms_environment has it (debug off, chat rate
    limit off), with its SQLite database migrated; every client of the generator comes from
    127.0.0.1. `project`: the checkout to serve, this one unless told."""
    folder.mkdir(parents=True, exist_ok=True)
    environment = devrooms_environment(folder, harperdb, clients=clients)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=project,
        env=environment,
        check=True,
    )
    port = free_port()
    log_file = folder / "daphne.log"
    with open(log_file, "ab") as log:
        process = subprocess.Popen(
            [*daphne_command(project), "-b", "127.0.0.1", "-p", str(port), ASGI_APP],
            cwd=project,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(name, f"http://127.0.0.1:{port}", process, log_file, harperdb.pid())
    wait_until_answers(server)
    return server


def start_peer(folder: Path, kind: str, environment: dict) -> Server:
    """The peer: bench/peer.mjs (Node's socket.io); with `kind` "socketio" the bare
    python-socketio of bench/socketio_peer.py under stock Daphne (asyncio's own loop); with
    "floor" the bare ASGI app of bench/daphne_floor.py, served as DevRooms is, in
    DevRooms's `environment` (`chatsite.serve` loads the project before Daphne starts)."""
    log_file = folder / "peer.log"
    port = free_port()
    cwd = PROJECT_DIR
    if kind == "socketio":
        command = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port)]
        command.append("socketio_peer:application")
        cwd = BENCH_DIR
    elif kind == "floor":
        command = [*daphne_command(), "-b", "127.0.0.1", "-p", str(port)]
        command.append("bench.daphne_floor:application")
    else:
        command = [node(), str(PEER), "--port", str(port)]
    with open(log_file, "ab") as log:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env=environment if kind == "floor" else None,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server("peer", f"http://127.0.0.1:{port}", process, log_file)
    wait_until_answers(server)
    return server


def start_chosen_peer(options: argparse.Namespace, folder: Path, harperdb: LocalHarperDB) -> Server:
    """The peer --checkout or --peer names."""
    if options.checkout:
        project = Path(options.checkout).resolve()
        peer = start_devrooms(
            folder / "checkout",
            harperdb,
            clients=options.clients,
            project=project,
            name=f"DevRooms at {project}",
        )
        say(f"peer: DevRooms served from {project}, pid {peer.pid} on {peer.url}")
        return peer
    environment = devrooms_environment(folder / "peer", harperdb, clients=0)
    peer = start_peer(folder, options.peer, environment)
    say(f"{PEER_NAMES[options.peer]} peer pid {peer.pid} on {peer.url}")
    return peer


def generate_against(
    server: Server,
    arguments: list[str],
    *,
    limit_seconds: float,
    on_phase: Callable[[str], None] | None = None,
) -> dict:
    """The load generator against `server`, reading its CPU time, its main thread's and its
    HarperDB's."""
    watched: dict[str, list] = {"server": [server.pid], "server_main": [MainThread(server.pid)]}
    if server.harperdb_pid is not None:
        watched["harperdb"] = [server.harperdb_pid]
    return generate(
        server.url, arguments, watched=watched, limit_seconds=limit_seconds, on_phase=on_phase
    )


def run_load(
    server: Server, options: argparse.Namespace, *, rate: int, prefix: str, duration: float
) -> dict:
    server.reset_peak_rss()
    writer: dict[str, tuple[float, dict[str, float]]] = {}

    def read_writer(phase: str) -> None:
        if server.harperdb_pid is None or phase not in ("sending", "drained"):
            return
        try:
            writer[phase] = (time.monotonic(), writer_totals(server.url))
        except urllib.error.HTTPError:
            pass  # a checkout from before DevRooms had /metrics (--checkout)

    result = generate_against(
        server,
        [
            *("--clients", str(options.clients), "--rooms", str(options.rooms)),
            *("--rate", str(rate), "--duration", str(duration)),
            *("--drain", str(options.drain), "--drain-max", str(options.drain_max)),
            *("--prefix", prefix),
        ],
        limit_seconds=duration + options.drain_max + 120,
        on_phase=read_writer,
    )
    result.update(server=server.name, rate=rate, peak_rss_mb=server.peak_rss_mb())
    if (cpu := per_delivery(result, "server")) is not None:
        result["cpu_us_per_delivery"] = cpu
        result["main_thread_share"] = result["server_main_cpu_seconds"] / max(
            result["server_cpu_seconds"], 1e-9
        )
    if (cpu := per_delivery(result, "harperdb")) is not None:
        result["harperdb_cpu_us_per_delivery"] = cpu
    if {"sending", "drained"} <= writer.keys():
        (started, before), (ended, after) = writer["sending"], writer["drained"]
        result.update(writer_figures(before, after, ended - started))
    return result


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
    return generate_against(
        server,
        ["--history-joins", str(options.history_joins), "--room", room],
        limit_seconds=120,
    )


def ratio(ours: float | None, theirs: float | None) -> str:
    if not ours or not theirs:
        return "-"
    return f"{ours / theirs:.1f}x"


def percent(share: float | None) -> str:
    return "-" if share is None else f"{100 * share:.0f}%"


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
        percent(ours.get("main_thread_share")),
        number(ours.get("harperdb_cpu_us_per_delivery")),
        " / ".join(
            [
                number(ours.get("messages_per_batch")),
                number(ours.get("store_ms_mean")),
                percent(ours.get("writer_busy")),
            ]
        ),
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
    "main thread",
    "HarperDB us/dlv",
    "batch msgs / ms / busy",
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
    than DevRooms, its HarperDB and the load generator used meanwhile (the machine's noise).
    "main thread": the share of DevRooms' CPU spent on its event loop's thread (the rest is
    the threads that wait for HarperDB and the database). "batch msgs / ms / busy": the
    writer's mean batch, the mean time to store one, and the share of the run it spent
    storing (near 100%, each message waits for the batch before its own)."""
    print_columns(TABLE_HEADER, [table_row(ours, peer) for ours, peer in rows])


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
    store = bench_store(harperdb)
    servers: list[Server] = []
    try:
        devrooms = start_devrooms(folder / "devrooms", harperdb, clients=options.clients)
        servers.append(devrooms)
        say(f"DevRooms ({' '.join(daphne_command()[1:])}) pid {devrooms.pid} on {devrooms.url}")
        peer = None
        if options.only != "devrooms":
            peer = start_chosen_peer(options, folder, harperdb)
            servers.append(peer)
        run_id = secrets.token_hex(3)
        for number, server in enumerate(servers):
            run = partial(run_load, server, options)
            warm_up(options, run, prefix=f"bench-{run_id}-{number}")
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
                    # Rooms and client_ids of their own: a DevRooms peer (--checkout) stores
                    # in the same HarperDB, and would take ours for retries of its messages.
                    theirs = run_load(
                        peer, options, rate=rate, prefix=f"{prefix}-peer", duration=options.duration
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


def main(options: argparse.Namespace) -> None:
    run_with_harperdb("fanout", lambda folder, harperdb: benchmark(options, folder, harperdb))


def parse_arguments() -> argparse.Namespace:
    parser = load_parser(__doc__.splitlines()[0], rates=[200, 500, 1000])
    parser.add_argument("--history-messages", type=int, default=1000)
    parser.add_argument("--history-joins", type=int, default=50, help="0 skips the history run")
    parser.add_argument("--only", choices=["devrooms", "both"], default="both")
    parser.add_argument(
        "--peer",
        choices=sorted(PEER_NAMES),
        default="node",
        help="the peer: Node's socket.io (peer.mjs), bare python-socketio (socketio_peer.py) "
        "or a bare ASGI app (daphne_floor.py)",
    )
    parser.add_argument(
        "--checkout",
        help="the peer is DevRooms served from this checkout instead (e.g. a git worktree of "
        "an older commit): before and after in one run",
    )
    return parser.parse_args()


if __name__ == "__main__":
    main(parse_arguments())
