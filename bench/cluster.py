"""Cluster benchmark: DevRooms as 1 process and as 2 processes sharing rooms through Redis,
both behind nginx, under the same load, back to back.

Starts a throwaway HarperDB and Redis once, on free ports of 127.0.0.1. Then, for each rate,
one row per process count: DevRooms started the production way (`python -m deploy.cluster
start`: Daphne with --proxy-headers, debug off), with the chat rate limit off as in
bench/fanout.py, REDIS_URL and a key prefix of its own; Debian's nginx in front
(deploy/local_nginx.py, serving the site of deploy/nginx_site.py, which sends each client
address to one process); --warmup seconds of unmeasured load, then the load generator
(bench/fanout_load.mjs) through nginx, its clients connecting from --source-addresses
loopback addresses so that nginx spreads them over the processes. Reads the CPU time of
DevRooms's processes, redis-server, nginx and HarperDB, and each process's peak RSS, from
/proc; how many clients each process holds from its /metrics; which acked messages HarperDB's
history lacks. Prints one table; everything it started is stopped by PID or process group.

    .venv/bin/python bench/cluster.py [--rates 500,1000] [--processes 1,2]
        [--clients 200 --rooms 10] [--duration 10] [--repeat 2] [--json results.jsonl]
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from harness import (
    PROJECT_DIR,
    bench_store,
    devrooms_environment,
    generate,
    integers,
    load_parser,
    milliseconds,
    missing_from_history,
    number,
    peak_rss_mb,
    per_delivery,
    print_columns,
    record,
    reset_peak_rss,
    run_with_harperdb,
    say,
    warm_up,
)

from deploy.local_nginx import LocalNginx
from deploy.local_redis import LocalRedis, unique_prefix
from deploy.processes import stop_process_group
from messaging.local_harperdb import LocalHarperDB, free_port, port_is_free
from messaging.store import HarperDBMessageStore

METRICS_TOKEN = secrets.token_urlsafe(16)
READY_SECONDS = 120.0
STOP_SECONDS = 30.0
# Reading the logs for errors (DevRooms logs at WARNING, nginx at info).
CHAINED = ("The above exception", "During handling of the above exception")
SOCKET_ID = re.compile(r"\b[A-Za-z0-9_-]{20}\b")  # Socket.IO's, in messages: not counted apart
LOGGED_ERROR = re.compile(r"\b(ERROR|CRITICAL)\b")
# nginx's "[level] pid#tid: *connection message, client: ...": the message, for counting.
NGINX_ERROR = re.compile(r"\[(error|crit|alert|emerg)\] [^:]*: (?:\*\d+ )?([^,]*)")


@dataclass
class Deployment:
    """DevRooms processes on `ports` (started by one deploy.cluster launcher) behind nginx."""

    ports: list[int]
    pids: list[int]
    nginx: LocalNginx

    def nginx_pids(self) -> list[int]:
        """nginx's master and workers: its process group."""
        return process_group(self.nginx.process.pid)


def process_group(pgid: int) -> list[int]:
    """The PIDs of the processes in group `pgid`."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # gone meanwhile
            if int(fields[2]) == pgid:  # field 5 of proc(5), pgrp
                pids.append(int(entry.name))
    return pids


def consecutive_free_ports(count: int) -> list[int]:
    """`count` consecutive free ports of 127.0.0.1, as deploy.cluster's --first-port takes."""
    for _ in range(100):
        first = free_port()
        ports = [first + number for number in range(count)]
        if all(port_is_free(port) for port in ports[1:]):
            return ports
    raise RuntimeError(f"no {count} consecutive free ports")


def source_addresses(count: int) -> list[str]:
    """127.0.0.2, 127.0.0.3, ...: the loopback's own addresses, no set-up needed on Linux."""
    if not 1 <= count <= 253:
        raise ValueError("--source-addresses: 1 to 253")
    return [f"127.0.0.{number}" for number in range(2, 2 + count)]


def stop_group(pid: int, signum: int) -> None:
    try:
        os.killpg(pid, signum)
    except ProcessLookupError:
        pass


@contextmanager
def deployed(
    folder: Path,
    *,
    processes: int,
    harperdb: LocalHarperDB,
    redis: LocalRedis,
    options: argparse.Namespace,
) -> Iterator[Deployment]:
    """`processes` DevRooms processes with a SQLite database and a Redis key prefix of their
    own, behind nginx; all stopped on leaving."""
    folder.mkdir(parents=True)
    run_dir = folder / "run"
    ports = consecutive_free_ports(processes)
    environment = devrooms_environment(folder, harperdb, clients=options.clients)
    environment |= {
        "REDIS_URL": redis.url,
        "CHAT_REDIS_PREFIX": unique_prefix("bench"),
        "DJANGO_STATIC_ROOT": str(folder.parent / "static"),  # collected once, then reused
        "CHAT_METRICS_TOKEN": METRICS_TOKEN,
    }
    log_file = folder / "launcher.log"
    with open(log_file, "ab") as log:
        launcher = subprocess.Popen(
            [
                *(sys.executable, "-m", "deploy.cluster", "start"),
                *("--processes", str(processes), "--first-port", str(ports[0])),
                *("--run-dir", str(run_dir)),
            ],
            cwd=PROJECT_DIR,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    pids: list[int] = []
    nginx = LocalNginx(
        folder / "nginx",
        upstream_ports=ports,
        static_root=folder.parent / "static",
        worker_connections=2 * options.clients + 256,  # each proxied connection takes two
    )
    try:
        wait_for_ready(launcher, log_file)
        pids = [int((run_dir / f"daphne-{port}.pid").read_text()) for port in ports]
        nginx.start()
        yield Deployment(ports=ports, pids=pids, nginx=nginx)
    finally:
        nginx.stop()
        stop_launcher(launcher, pids)


def wait_for_ready(launcher: subprocess.Popen, log_file: Path) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while "Ready." not in log_file.read_text(errors="replace"):
        if launcher.poll() is not None or time.monotonic() > deadline:
            tail = log_file.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"deploy.cluster did not get ready:\n{tail}")
        time.sleep(0.1)


def stop_launcher(launcher: subprocess.Popen, pids: list[int]) -> None:
    """SIGTERM to the launcher, which stops its processes by process group; if it does not
    exit in time, SIGKILL to its group and to each of its processes' groups."""
    if stop_process_group(launcher, timeout=STOP_SECONDS):
        for pid in pids:  # the launcher did not get to stop them
            stop_group(pid, signal.SIGKILL)


def connections(port: int) -> int | None:
    """The process's `devrooms_connections`, from its own /metrics."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            text = response.read().decode()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("devrooms_connections "):
            return round(float(line.split()[1]))
    return None


def run_load(
    deployment: Deployment,
    options: argparse.Namespace,
    *,
    harperdb: LocalHarperDB,
    redis: LocalRedis,
    rate: int,
    prefix: str,
    duration: float,
) -> dict:
    for pid in deployment.pids:
        reset_peak_rss(pid)
    held: list[int | None] = []

    def count_connections(phase: str) -> None:
        if phase == "joined":  # every client connected, before the measured part
            held.extend(connections(port) for port in deployment.ports)

    result = generate(
        deployment.nginx.url,
        [
            *("--clients", str(options.clients), "--rooms", str(options.rooms)),
            *("--rate", str(rate), "--duration", str(duration)),
            *("--drain", str(options.drain), "--drain-max", str(options.drain_max)),
            *("--prefix", prefix),
            *("--local-addresses", ",".join(source_addresses(options.source_addresses))),
        ],
        watched={
            "server": deployment.pids,
            "redis": [redis.process.pid],
            "nginx": deployment.nginx_pids(),
            "harperdb": [harperdb.pid()],
        },
        limit_seconds=duration + options.drain_max + 120,
        on_phase=count_connections,
    )
    result.update(
        processes=len(deployment.ports),
        rate=rate,
        peak_rss_mb=[peak_rss_mb(pid) for pid in deployment.pids],
        connections=held,
    )
    for name in ("server", "redis", "nginx", "harperdb"):
        result[f"{name}_cpu_us_per_delivery"] = per_delivery(result, name)
    return result


def python_log_errors(text: str) -> Counter[str]:
    """The errors a DevRooms or launcher log tells of, counted by the line logged before the
    traceback, its last exception and, for chained tracebacks (one error), the first one;
    and lines logged at ERROR or CRITICAL without a traceback."""
    errors: Counter[str] = Counter()
    message, exceptions, state = "", [], "outside"

    def close() -> None:
        cause = f" (from {exceptions[0]})" if len(exceptions) > 1 else ""
        errors[f"{message} -> {exceptions[-1] if exceptions else '?'}{cause}"] += 1

    for previous, line in zip(["", *text.splitlines()], text.splitlines(), strict=False):
        if line.startswith("Traceback ("):
            if state == "outside":
                message, exceptions = SOCKET_ID.sub("<sid>", previous), []
            state = "inside"
        elif state == "inside" and line and not line[0].isspace():
            exceptions.append(line)
            state = "after"
        elif state == "after" and line and not line.startswith(CHAINED):
            close()
            state = "outside"
        if state == "outside" and LOGGED_ERROR.search(line):
            errors[line] += 1
    if state != "outside":
        close()
    return errors


def nginx_log_errors(text: str) -> Counter[str]:
    """nginx's error-level lines and worse, counted by their message."""
    errors: Counter[str] = Counter()
    for line in text.splitlines():
        if found := NGINX_ERROR.search(line):
            errors[f"nginx {found.group(1)}: {found.group(2)}"] += 1
    return errors


def log_errors(folder: Path) -> Counter[str]:
    """What went wrong in a row, by its DevRooms, launcher and nginx logs."""
    errors: Counter[str] = Counter()
    for log in [folder / "launcher.log", *sorted((folder / "run").glob("daphne-*.log"))]:
        if log.exists():
            errors += python_log_errors(log.read_text(errors="replace"))
    if (nginx_log := folder / "nginx" / "error.log").exists():
        errors += nginx_log_errors(nginx_log.read_text(errors="replace"))
    return errors


def keep_logs(folder: Path, into: Path) -> None:
    into.mkdir(parents=True, exist_ok=True)
    for log in [
        folder / "launcher.log",
        *(folder / "run").glob("*.log"),
        folder / "nginx" / "error.log",
    ]:
        if log.exists():
            shutil.copy(log, into / log.name)


def run_row(
    folder: Path,
    options: argparse.Namespace,
    *,
    processes: int,
    rate: int,
    prefix: str,
    harperdb: LocalHarperDB,
    redis: LocalRedis,
    store: HarperDBMessageStore,
) -> dict:
    """Start `processes` processes behind nginx, warm them up, measure, stop them."""
    servers = {"harperdb": harperdb, "redis": redis}
    with deployed(folder, processes=processes, options=options, **servers) as deployment:
        say(
            f"{processes} process(es): ports {deployment.ports}, PIDs {deployment.pids}; "
            f"nginx PID {deployment.nginx.process.pid} on {deployment.nginx.url}"
        )
        warm_up(options, partial(run_load, deployment, options, **servers), prefix=prefix)
        result = run_load(
            deployment, options, rate=rate, prefix=prefix, duration=options.duration, **servers
        )
    if options.logs:
        keep_logs(folder, options.logs / folder.name)
    if result.get("mode") == "load":
        result["missing"] = missing_from_history(store, result, prefix)
    result["log_errors"] = dict(log_errors(folder).most_common())
    return result


def table_row(result: dict) -> list[str]:
    latency = result.get("latency_ms") or {}
    costs = [result.get(f"{name}_cpu_us_per_delivery") for name in ("server", "redis", "nginx")]
    costs.append(result.get("harperdb_cpu_us_per_delivery"))
    total = None if None in costs else sum(costs)
    return [
        str(result["processes"]),
        str(result["rate"]),
        " / ".join(milliseconds(latency, name) for name in ("p50", "p95", "p99", "max")),
        str(result.get("delivery_rate", "-")),
        str(result.get("lost", "-")),
        str(result.get("missing", "-")),
        str(result.get("refused", "-")),
        str(result.get("unanswered", "-")),
        *(number(cost) for cost in costs),
        number(total),
        " / ".join(number(rss, 0) for rss in result.get("peak_rss_mb", [])),
        " / ".join("-" if held is None else str(held) for held in result.get("connections", [])),
        number(result.get("other_processes_cores"), 2),
        str(sum(result.get("log_errors", {}).values())),
    ]


TABLE_HEADER = [
    "procs",
    "msgs/s",
    "p50 / p95 / p99 / max ms",
    "dlv/s",
    "lost",
    "missing",
    "refused",
    "no ack",
    "DevRooms us/dlv",
    "redis us/dlv",
    "nginx us/dlv",
    "HarperDB us/dlv",
    "sum us/dlv",
    "peak RSS MB",
    "clients",
    "others' cores",
    "log errors",
]


def print_table(rows: list[dict]) -> None:
    """One line per run. dlv/s: deliveries per second from the first send to the last
    delivery (below 20 x msgs/s, with 20 per room, when DevRooms falls behind). "us/dlv": CPU
    microseconds per delivery, DevRooms's summed over its processes; "sum" adds them all up.
    "peak RSS MB" and "clients" (its connections once all had joined): per process, in port
    order. "others' cores": CPU that processes other than those and the load generator used
    meanwhile (the machine's noise). "log errors": errors in the row's DevRooms, launcher and
    nginx logs, from start to stop (warm-up included), listed below the table."""
    print_columns(TABLE_HEADER, [table_row(result) for result in rows])
    for result in rows:
        if errors := result.get("log_errors"):
            print(f"\nErrors in the logs, {result['processes']} process(es) at {result['rate']}:")
            for error, count in errors.items():
                print(f"  {count} x {error[:300]}")


def benchmark(options: argparse.Namespace, folder: Path, harperdb: LocalHarperDB) -> None:
    store = bench_store(harperdb)  # the table, before any process looks for it
    redis = LocalRedis(folder / "redis").start()
    say(f"HarperDB PID {harperdb.pid()} on {harperdb.url}, redis-server PID {redis.process.pid}")
    try:
        run_id = secrets.token_hex(3)
        rows = []
        for repeat in range(options.repeat):
            for rate in options.rates:
                for processes in options.processes:
                    name = f"{repeat}-{rate}-{processes}p"
                    result = run_row(
                        folder / name,
                        options,
                        processes=processes,
                        rate=rate,
                        prefix=f"bench-{run_id}-{name}",
                        harperdb=harperdb,
                        redis=redis,
                        store=store,
                    )
                    record(options, result)
                    rows.append(result)
        print_table(rows)
    finally:
        redis.stop()


def main(options: argparse.Namespace) -> None:
    run_with_harperdb(
        "cluster-bench", lambda folder, harperdb: benchmark(options, folder, harperdb)
    )


def parse_arguments() -> argparse.Namespace:
    parser = load_parser(__doc__.splitlines()[0], rates=[500, 1000])
    parser.add_argument(
        "--processes",
        type=integers,
        default=[1, 2],
        help="DevRooms process counts, one row each, comma-separated (default 1,2)",
    )
    parser.add_argument(
        "--source-addresses",
        type=int,
        default=None,
        help="loopback addresses the clients connect from (default: one per client, up to 253)",
    )
    parser.add_argument(
        "--logs", type=Path, help="keep every row's DevRooms, launcher and nginx logs here"
    )
    options = parser.parse_args()
    if options.source_addresses is None:
        options.source_addresses = min(options.clients, 253)
    return options


if __name__ == "__main__":
    main(parse_arguments())
