"""Run the npm-installed HarperDB as a local background process (development and tests).

The process serves only its Operations API, on 127.0.0.1 and a unix socket under `root`,
with CORS off; it keeps its data and a private HOME under `root` (so that several instances
never share HarperDB's boot file in ~/.harperdb), and is stopped by the PID recorded when it
was started. Its admin password is generated on first use and kept in the local `.env`.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chatsite.local_env import env_file_add_missing
from messaging.harperdb import HarperDBClient, HarperDBError

PROJECT_DIR = Path(__file__).resolve().parent.parent
EXECUTABLE = PROJECT_DIR / "node_modules" / ".bin" / "harperdb"


# What DevRooms installed its local HarperDB with before passwords were generated: an install
# that still accepts it is given the generated password on its next start.
LEGACY_PASSWORD = "devrooms-local"
PASSWORD_SETTING = "HARPERDB_PASSWORD"


class LocalHarperDBError(Exception):
    pass


def local_password(env_file: Path) -> str:
    """The local HarperDB's password as kept in `env_file`, generated and written there the
    first time (into an empty `HARPERDB_PASSWORD=` line when there is one)."""
    generate = {PASSWORD_SETTING: lambda: secrets.token_urlsafe(24)}
    return env_file_add_missing(env_file, generate)[PASSWORD_SETTING]


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
    username: str
    password: str
    threads: int = 1
    # Top-level sections added to the configuration applied on every start, e.g.
    # `replication` (README.md "HarperDB on several machines").
    extra_config: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def on_free_ports(cls, root: Path, *, username: str, password: str) -> LocalHarperDB:
        """A throwaway instance (tests, benchmarks) that clashes with nothing running."""
        return cls(
            root=root,
            port=free_port(),
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
        """True when HarperDB accepts our credentials; raises when it is up but refuses them.

        An install that still has LEGACY_PASSWORD is given ours first."""
        try:
            self.client().ping()
        except HarperDBError as error:
            if error.status != 401:
                return False
            if not self._adopt_legacy_install():
                raise LocalHarperDBError(
                    f"HarperDB on {self.url} refuses the password in {PASSWORD_SETTING}: "
                    f"{self.root} was installed with another one."
                ) from error
        return True

    def _adopt_legacy_install(self) -> bool:
        legacy = HarperDBClient(
            url=self.url, username=self.username, password=LEGACY_PASSWORD, timeout=2.0
        )
        try:
            legacy.alter_user(username=self.username, password=self.password)
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
        if not port_is_free(self.port):
            raise LocalHarperDBError(
                f"Port {self.port} is taken by another program; set HARPERDB_LOCAL_PORT."
            )
        home = self.root / "home"
        home.mkdir(parents=True, exist_ok=True)
        address = f"127.0.0.1:{self.port}"
        environment = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(home),
            "TC_AGREEMENT": "yes",
            "ROOTPATH": str(self.root / "hdb"),
            "HDB_ADMIN_USERNAME": self.username,
            "HDB_ADMIN_PASSWORD": self.password,
            "OPERATIONSAPI_NETWORK_PORT": address,
            "OPERATIONSAPI_NETWORK_SECUREPORT": "null",
            # DevRooms only uses the Operations API: no REST/WebSocket server, no MQTT.
            "HTTP_PORT": "null",
            "HTTP_SECUREPORT": "null",
            "MQTT_NETWORK_PORT": "null",
            "MQTT_NETWORK_SECUREPORT": "null",
            "REPLICATION_SECUREPORT": "null",
            "THREADS_COUNT": str(self.threads),
            "LOCALSTUDIO_ENABLED": "false",
            # Applied on every start, over what an older install wrote in its config file.
            "HARPER_SET_CONFIG": json.dumps(
                {
                    # No web page of another origin may call it.
                    "operationsApi": {"network": {"cors": False}},
                    # Without a port, HarperDB 4.7 registers its authentication layer for
                    # port "all" and binds that to a random port on every interface.
                    "authentication": {"port": address},
                    **self.extra_config,
                }
            ),
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
        username=settings.HARPERDB_USERNAME,
        password=settings.HARPERDB_PASSWORD or local_password(settings.ENV_FILE),
    )
