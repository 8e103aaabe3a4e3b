"""Run the npm-installed HarperDB as a local background process (development and tests).

The process listens on 127.0.0.1 only, keeps its data and a private HOME under `root`
(so that several instances never share HarperDB's boot file in ~/.harperdb), and is
stopped by the PID recorded when it was started.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from messaging.harperdb import HarperDBClient, HarperDBError

PROJECT_DIR = Path(__file__).resolve().parent.parent
EXECUTABLE = PROJECT_DIR / "node_modules" / ".bin" / "harperdb"


class LocalHarperDBError(Exception):
    pass


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As a server would bind it: connections of a just-stopped server may linger in TIME_WAIT.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _alive(pid: int) -> bool:
    try:
        # Reap it first when it is our own child, or a zombie would look alive.
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


@dataclass
class LocalHarperDB:
    root: Path
    port: int
    http_port: int
    mqtt_port: int
    username: str
    password: str
    threads: int = 1

    @classmethod
    def on_free_ports(cls, root: Path, *, username: str, password: str) -> LocalHarperDB:
        """A throwaway instance (tests, benchmarks) that clashes with nothing running."""
        return cls(
            root=root,
            port=free_port(),
            http_port=free_port(),
            mqtt_port=free_port(),
            username=username,
            password=password,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid_file(self) -> Path:
        return self.root / "harperdb.pid"

    @property
    def log_file(self) -> Path:
        return self.root / "harperdb.log"

    def client(self) -> HarperDBClient:
        return HarperDBClient(
            url=self.url, username=self.username, password=self.password, timeout=2.0
        )

    def pid(self) -> int | None:
        """The PID of the HarperDB we started, if that process is still alive."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if _alive(pid) else None

    def answers(self) -> bool:
        try:
            self.client().ping()
        except HarperDBError:
            return False
        return True

    def start(self, *, timeout: float = 90.0) -> bool:
        """Start HarperDB unless it already answers; True when this call started it."""
        if self.answers():
            return False
        if self.pid() is None:
            self._spawn()
        self.wait_until_ready(timeout=timeout)
        return True

    def _spawn(self) -> None:
        if not EXECUTABLE.exists():
            raise LocalHarperDBError(f"{EXECUTABLE} is missing: run `make setup` first.")
        for port in (self.port, self.http_port, self.mqtt_port):
            if not port_is_free(port):
                raise LocalHarperDBError(
                    f"Port {port} is taken by another program; set HARPERDB_LOCAL_*PORT."
                )
        home = self.root / "home"
        home.mkdir(parents=True, exist_ok=True)
        loopback = "127.0.0.1:{}".format
        environment = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(home),
            "TC_AGREEMENT": "yes",
            "ROOTPATH": str(self.root / "hdb"),
            "HDB_ADMIN_USERNAME": self.username,
            "HDB_ADMIN_PASSWORD": self.password,
            "OPERATIONSAPI_NETWORK_PORT": loopback(self.port),
            "OPERATIONSAPI_NETWORK_SECUREPORT": "null",
            "HTTP_PORT": loopback(self.http_port),
            "HTTP_SECUREPORT": "null",
            "MQTT_NETWORK_PORT": loopback(self.mqtt_port),
            "MQTT_NETWORK_SECUREPORT": "null",
            "REPLICATION_SECUREPORT": "null",
            "THREADS_COUNT": str(self.threads),
            "LOCALSTUDIO_ENABLED": "false",
        }
        with open(self.log_file, "ab") as log:
            process = subprocess.Popen(
                [str(EXECUTABLE), "run"],
                env=environment,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.pid_file.write_text(str(process.pid))

    def wait_until_ready(self, *, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.answers():
                return
            if self.pid() is None:
                break
            time.sleep(0.2)
        raise LocalHarperDBError(
            f"HarperDB did not answer on {self.url}; see {self.log_file}:\n{self._log_tail()}"
        )

    def _log_tail(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def stop(self, *, timeout: float = 20.0) -> bool:
        """Stop the HarperDB we started (by its PID); True when one was running."""
        pid = self.pid()
        if pid is None:
            return False
        os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.pid() is not None:
            time.sleep(0.1)
        if self.pid() is not None:
            os.killpg(pid, signal.SIGKILL)
        self.pid_file.unlink(missing_ok=True)
        return True


def from_settings() -> LocalHarperDB:
    from django.conf import settings

    return LocalHarperDB(
        root=settings.HARPERDB_LOCAL_ROOT,
        port=settings.HARPERDB_LOCAL_PORT,
        http_port=settings.HARPERDB_LOCAL_HTTP_PORT,
        mqtt_port=settings.HARPERDB_LOCAL_MQTT_PORT,
        username=settings.HARPERDB_USERNAME,
        password=settings.HARPERDB_PASSWORD,
    )
