"""A throwaway Redis for tests and benchmarks: Debian's `redis-server` on a free port of
127.0.0.1, keeping nothing on disk, stopped by its PID (`make redis` installs it)."""

from __future__ import annotations

import secrets
import shutil
import subprocess
import time
from pathlib import Path

import redis

from deploy.processes import stop_process_group
from messaging.local_harperdb import free_port

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def unique_prefix(kind: str) -> str:
    """A CHAT_REDIS_PREFIX of its own, so that test runs and benchmarks can share one Redis
    (a REDIS_URL) without seeing or touching each other's keys."""
    return f"devrooms-{kind}-{secrets.token_hex(4)}"


class LocalRedis:
    def __init__(self, folder: Path):
        self.folder = folder
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> LocalRedis:
        self.folder.mkdir(parents=True, exist_ok=True)
        log = self.folder / "redis.log"
        command = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--dir", str(self.folder)]
        command += ["--logfile", str(log)]
        self.process = subprocess.Popen(command, start_new_session=True)
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5)
        deadline = time.monotonic() + 20
        while True:
            try:
                client.ping()
                return self
            except redis.ConnectionError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    text = log.read_text(errors="replace") if log.exists() else ""
                    raise RuntimeError(f"redis-server did not start:\n{text}") from None
                time.sleep(0.05)
            finally:
                client.close()

    def stop(self) -> None:
        if self.process is not None:
            stop_process_group(self.process, timeout=10)
