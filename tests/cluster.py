"""DevRooms started the production way (`python -m deploy.cluster start`) for end-to-end tests:
launchers, several processes sharing one Redis behind Debian's nginx, and which process nginx
sends a client address to."""

from __future__ import annotations

import asyncio
import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests

from deploy.local_nginx import LocalNginx
from deploy.local_redis import unique_prefix
from deploy.processes import stop_process_group
from messaging.local_harperdb import free_port
from tests.chat_client import ChatClient
from tests.live_server import ChatServer

PROJECT_DIR = Path(__file__).resolve().parent.parent
LAUNCHER = [sys.executable, "-m", "deploy.cluster"]
READY_SECONDS = 120.0
# In the tests' nginx only: every proxied answer names the process that gave it.
UPSTREAM_HEADER = "X-Upstream"
TELL_UPSTREAM = f"add_header {UPSTREAM_HEADER} $upstream_addr always;"
PRESENCE_TTL_SECONDS = 3.0
# Client addresses to spread connections over the processes behind nginx (`hash
# $remote_addr`): the loopback's own 127.0.0.0/8, which needs no set-up on Linux.
SOURCE_ADDRESSES = [f"127.0.0.{number}" for number in range(2, 255)]


def free_ports(count: int) -> list[int]:
    """`count` consecutive free ports of 127.0.0.1, as deploy.cluster's --first-port takes."""
    for _ in range(100):
        first = free_port()
        if all(_bindable(first + number) for number in range(1, count)):
            return [first + number for number in range(count)]
    raise RuntimeError(f"no {count} consecutive free ports")


def _bindable(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def production_environment(folder: Path, harperdb_settings: dict, **overrides: str) -> dict:
    """The environment of a production run in `folder` (its own SQLite database, static files
    and no env file), against the test HarperDB, chat rate limits off."""
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "chatsite.settings",
        "DJANGO_ENV_FILE": str(folder / "none.env"),  # not the developer's own .env
        "DJANGO_SECRET_KEY": "production-run-tests-only",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}",
        "DJANGO_STATIC_ROOT": str(folder / "static"),
        "CHAT_RATE_LIMIT": "0",
        "CHAT_ROOM_CREATE_PER_HOUR": "0",
        **{name: str(value) for name, value in harperdb_settings.items()},
        **overrides,
    }
    environment.pop("DJANGO_DEBUG", None)
    return environment


def cluster_environment(folder: Path, harperdb_settings: dict, redis_url: str) -> dict:
    """A production run's environment for several processes sharing one Redis under a key
    prefix of their own, with short presence timings, and every chat limit off as in
    tests/live_server.py. DATABASE_URL, when set, is the database they share."""
    overrides = {
        "REDIS_URL": redis_url,
        "CHAT_REDIS_PREFIX": unique_prefix("test"),
        "CHAT_PRESENCE_TTL_SECONDS": str(PRESENCE_TTL_SECONDS),
        "CHAT_PRESENCE_GRACE_SECONDS": "0.5",
        "CHAT_RECONNECT_GRACE_SECONDS": "3",
        "CHAT_FRAME_RATE": "0",
        "CHAT_INBOUND_BYTES_PER_SECOND": "0",
        "PYTHONUNBUFFERED": "1",  # each process's access log is in its log file at once
    }
    if os.environ.get("DATABASE_URL"):
        overrides["DATABASE_URL"] = os.environ["DATABASE_URL"]
    return production_environment(folder, harperdb_settings, **overrides)


@dataclass
class Launcher:
    """One `python -m deploy.cluster start` in the foreground, as a service manager runs it,
    for the processes on `ports`; its run folder holds each process's PID file and log."""

    ports: list[int]
    run_dir: Path
    environment: dict
    log: Path
    process: subprocess.Popen | None = None

    def start(self, *, wrapper: Sequence[str] = ()) -> Launcher:
        """Start it (through `wrapper`, a command that ends by running its arguments)."""
        options = ["--processes", str(len(self.ports)), "--first-port", str(self.ports[0])]
        options += ["--run-dir", str(self.run_dir)]
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [*wrapper, *LAUNCHER, "start", *options],
                cwd=PROJECT_DIR,
                env=self.environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def wait_ready(self) -> None:
        """Wait for its "Ready." (every process answers /healthz)."""
        deadline = time.monotonic() + READY_SECONDS
        while "Ready." not in self.output():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"deploy.cluster did not get ready:\n{self.output()[-3000:]}")
            time.sleep(0.1)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def daphne_pid(self, port: int) -> int:
        return int((self.run_dir / f"daphne-{port}.pid").read_text())

    def daphne_log(self, port: int) -> str:
        return (self.run_dir / f"daphne-{port}.log").read_text(errors="replace")

    def stop(self) -> int:
        """`deploy.cluster stop` (which also stops the processes of a launcher that is gone);
        returns the launcher's exit code."""
        subprocess.run(
            [*LAUNCHER, "stop", "--run-dir", str(self.run_dir)],
            cwd=PROJECT_DIR,
            env=self.environment,
            check=True,
            timeout=60,
        )
        return self.process.wait(timeout=20)

    def close(self) -> None:
        """Whatever happened: nothing it started is left running."""
        if self.process is None:
            return
        try:
            self.stop()
        finally:
            stop_process_group(self.process)


@dataclass
class Cluster:
    """DevRooms processes on `ports` of 127.0.0.1, started by `launchers`, behind `proxy`."""

    ports: list[int]
    launchers: list[Launcher]
    proxy: LocalNginx
    environment: dict
    _addresses: dict[int, list[str]] = field(default_factory=dict)

    def url(self, port: int) -> str:
        """A process's own address, not through nginx."""
        return f"http://127.0.0.1:{port}"

    def launcher_of(self, port: int) -> Launcher:
        return next(launcher for launcher in self.launchers if port in launcher.ports)

    def daphne_pid(self, port: int) -> int:
        return self.launcher_of(port).daphne_pid(port)

    def requests_of(self, port: int, engine_sid: str) -> int:
        """How many HTTP requests of an Engine.IO session the process on `port` logged."""
        return self.launcher_of(port).daphne_log(port).count(f"sid={engine_sid}")

    def kill(self, port: int) -> None:
        """SIGKILL the Daphne process on `port`, as a crash or the OOM killer would."""
        os.kill(self.daphne_pid(port), signal.SIGKILL)

    def site(self, port: int) -> ChatServer:
        """The process on `port` as tests/live_server.py's admin helpers take a server."""
        return ChatServer(port=port, environment=self.environment, log_file=Path(os.devnull))

    def upstream_of(self, source_address: str) -> int:
        """The port of the process that answers a request from `source_address` through nginx
        (the last one nginx tried, when the first was down)."""
        connection = http.client.HTTPConnection(
            "127.0.0.1", self.proxy.port, timeout=10, source_address=(source_address, 0)
        )
        try:
            connection.request("GET", "/healthz")
            response = connection.getresponse()
            response.read()
            tried = response.getheader(UPSTREAM_HEADER) or ""
        finally:
            connection.close()
        if not (ports := re.findall(r":(\d+)", tried)):
            raise AssertionError(f"nginx named no upstream for {source_address}: {tried!r}")
        return int(ports[-1])

    def addresses(self, port: int, count: int = 3) -> list[str]:
        """`count` loopback addresses whose connections nginx sends to the process on `port`,
        found by asking nginx (while every process is up)."""
        for address in SOURCE_ADDRESSES:
            if len(self._addresses.get(port, [])) >= count:
                break
            if not any(address in found for found in self._addresses.values()):
                self._addresses.setdefault(self.upstream_of(address), []).append(address)
        found = self._addresses.get(port, [])
        assert len(found) >= count, f"nginx sent fewer than {count} addresses to {port}"
        return found[:count]

    def port_of(self, source_address: str) -> int:
        """The process that `addresses` found for `source_address` (while every one was up)."""
        return next(port for port, found in self._addresses.items() if source_address in found)


@contextmanager
def running_cluster(
    folder: Path,
    *,
    harperdb_settings: dict,
    redis_url: str,
    processes: int = 2,
    launcher_per_process: bool = False,
) -> Iterator[Cluster]:
    """DevRooms processes on consecutive free ports, sharing one Redis (a key prefix of their
    own) and one database, behind nginx; everything stopped by PID at the end.

    One launcher for all (`deploy.cluster start --processes N`), as on one machine; or, with
    `launcher_per_process`, one launcher each, as on N machines: then a process that dies
    leaves the others running (one launcher would stop them all and exit 1)."""
    ports = free_ports(processes)
    environment = cluster_environment(folder, harperdb_settings, redis_url)
    groups = [[port] for port in ports] if launcher_per_process else [ports]
    launchers = [
        Launcher(
            ports=group,
            run_dir=folder / f"run-{group[0]}",
            environment=environment,
            log=folder / f"launcher-{group[0]}.log",
        )
        for group in groups
    ]
    with ExitStack() as stack:
        for launcher in launchers:  # one after another: each runs migrate and collectstatic
            stack.callback(launcher.close)
            launcher.start().wait_ready()
        proxy = LocalNginx(
            folder / "nginx",
            upstream_ports=ports,
            static_root=Path(environment["DJANGO_STATIC_ROOT"]),
            http_directives=[TELL_UPSTREAM],
        )
        stack.callback(proxy.stop)
        proxy.start()
        yield Cluster(ports=ports, launchers=launchers, proxy=proxy, environment=environment)


async def close_clients(clients: Iterable[ChatClient]) -> None:
    """Close clients together. A polling client's disconnect waits for its pending long poll
    (up to 25 s, python-engineio's client, with or without a proxy); the server has the close
    at once, so it is not waited for past 2 s."""

    async def close(client: ChatClient) -> None:
        closing = asyncio.ensure_future(client.disconnect())
        try:
            await asyncio.wait_for(asyncio.shield(closing), 2)
        except TimeoutError:
            pass

    await asyncio.gather(*(close(client) for client in clients))


def admin_room_id(http: requests.Session, site: ChatServer, room: str) -> int:
    """A room's id as the admin's room list shows it to staff (whatever the database)."""
    listing = http.get(f"{site.url}/admin/rooms/room/", params={"q": room}, timeout=10)
    found = set(re.findall(r"/admin/rooms/room/(\d+)/change/", listing.text))
    assert len(found) == 1, f"the admin lists {len(found)} rooms named {room!r}"
    return int(found.pop())
