"""Start DevRooms for production on this machine: N Daphne processes on 127.0.0.1, debug off.

    python -m deploy.cluster start --processes 2 --first-port 8001   # stays in the foreground
    python -m deploy.cluster stop                                    # from another shell

`start` raises the open-files limit, runs the one-time steps once (the local HarperDB when
HARPERDB_URL is empty, its table, migrate, collectstatic), starts each process in a process
group of its own on its own port, waits until each answers /healthz, and then watches them:
SIGTERM or SIGINT (or `stop`) stops them all by process group; if one dies, the others are
stopped too and it exits 1, for a service manager to restart. PID files and each process's
log are in the run folder (default var/cluster/).

Several processes need REDIS_URL: through it they share presence, each room's message order
and every room event (README.md "Architecture", "Production run").
"""

from __future__ import annotations

import argparse
import os
import resource
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from chatsite.local_env import env_file_path, env_file_values
from deploy.nginx_site import ports_of

PROJECT_DIR = Path(__file__).resolve().parent.parent
OPEN_FILES = 65536  # sockets, HarperDB's connection pool and files, with room to spare
STOP_SECONDS = 10.0
READY_SECONDS = 60.0
SEVERAL_NEED_REDIS = (
    "Several processes need REDIS_URL: without it each process keeps its own rooms, people "
    "and messages."
)


def setting(name: str, default: str = "") -> str:
    """A setting as Django will read it: the environment first, then the env file."""
    return os.environ.get(name) or env_file_values(env_file_path(), [name]).get(name, default)


def raise_open_files_limit(wanted: int = OPEN_FILES) -> int:
    """Raise this process's open-files limit (inherited by what it starts) to `wanted`, or
    as far as it may go (the hard limit, unless privileged); returns the limit in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, max(wanted, hard)))
        except (ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def manage(*arguments: str, environment: dict[str, str]) -> None:
    print(f"$ manage.py {' '.join(arguments)}", flush=True)
    subprocess.run(
        [sys.executable, "manage.py", *arguments], cwd=PROJECT_DIR, env=environment, check=True
    )


def prepare(environment: dict[str, str]) -> None:
    """The steps run once for all processes: message store, database, static files."""
    if not setting("HARPERDB_URL"):
        manage("harperdb", "start", environment=environment)
    manage("harperdb", "setup", environment=environment)
    manage("migrate", "--noinput", environment=environment)
    manage("collectstatic", "--noinput", "-v", "0", environment=environment)


class Cluster:
    def __init__(self, *, ports: list[int], run_dir: Path, environment: dict[str, str]):
        self.ports = ports
        self.run_dir = run_dir
        self.environment = environment
        self.processes: dict[int, subprocess.Popen] = {}

    def pid_file(self, port: int) -> Path:
        return self.run_dir / f"daphne-{port}.pid"

    def start(self) -> None:
        for port in self.ports:
            with open(self.run_dir / f"daphne-{port}.log", "ab") as log:
                process = subprocess.Popen(
                    [
                        *(sys.executable, "-m", "chatsite.serve", "--proxy-headers"),
                        *("-b", "127.0.0.1", "-p", str(port), "chatsite.asgi:application"),
                    ],
                    cwd=PROJECT_DIR,
                    env=self.environment,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # its own process group: stopped as a whole
                )
            self.processes[port] = process
            self.pid_file(port).write_text(str(process.pid))

    def wait_until_answering(self) -> dict[int, str]:
        """Each process's /healthz answer, once each has answered (whatever its status)."""
        deadline = time.monotonic() + READY_SECONDS
        answers: dict[int, str] = {}
        while len(answers) < len(self.ports):
            if time.monotonic() > deadline or self.exited():
                raise RuntimeError(f"not every process started: see the logs in {self.run_dir}")
            for port in set(self.ports) - set(answers):
                if (answer := health(port)) is not None:
                    answers[port] = answer
            time.sleep(0.2)
        return answers

    def exited(self) -> list[int]:
        return [port for port, process in self.processes.items() if process.poll() is not None]

    def stop(self) -> None:
        """SIGTERM to each process group, SIGKILL to those still there after STOP_SECONDS."""
        for process in self.processes.values():
            _signal_group(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        for port, process in self.processes.items():
            try:
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(process.pid, signal.SIGKILL)
                process.wait()
            self.pid_file(port).unlink(missing_ok=True)


def _signal_group(pid: int, signum: int) -> None:
    try:
        os.killpg(pid, signum)
    except ProcessLookupError:
        pass


def health(port: int) -> str | None:
    """The /healthz answer of the process on `port` (status and body), or None while it
    does not answer."""
    url = f"http://127.0.0.1:{port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return f"{response.status} {response.read().decode()}"
    except urllib.error.HTTPError as error:  # up, but a check failed (503) or the host (400)
        return f"{error.code} {error.read().decode(errors='replace')[:300]}"
    except OSError:
        return None


class Stop(Exception):
    pass


def _raise_stop(signum, frame) -> None:
    raise Stop


def start(options: argparse.Namespace) -> int:
    ports = ports_of(processes=options.processes, first_port=options.first_port)
    if len(ports) > 1:
        if not setting("REDIS_URL"):
            print(SEVERAL_NEED_REDIS, file=sys.stderr)
            return 2
    run_dir = options.run_dir.resolve()
    if (pid := running_pid(run_dir / "cluster.pid")) is not None:
        print(f"Already running from {run_dir} (PID {pid}).", file=sys.stderr)
        return 2
    run_dir.mkdir(parents=True, exist_ok=True)
    open_files = raise_open_files_limit(options.open_files)
    environment = {
        **os.environ,
        "DJANGO_DEBUG": "false",
        "DJANGO_STATIC_ROOT": setting("DJANGO_STATIC_ROOT", str(PROJECT_DIR / "var" / "static")),
    }
    prepare(environment)
    launcher_pid_file = run_dir / "cluster.pid"
    launcher_pid_file.write_text(str(os.getpid()))
    cluster = Cluster(ports=ports, run_dir=run_dir, environment=environment)
    signal.signal(signal.SIGTERM, _raise_stop)
    signal.signal(signal.SIGINT, _raise_stop)
    try:
        cluster.start()
        answers = cluster.wait_until_answering()
        for port in ports:
            process = cluster.processes[port]
            print(f"127.0.0.1:{port} PID {process.pid}, /healthz: {answers[port]}", flush=True)
        print(
            f"DevRooms: {len(ports)} process(es), debug off, open files {open_files}; "
            f"static files in {environment['DJANGO_STATIC_ROOT']}. Ready.",
            flush=True,
        )
        while not (exited := cluster.exited()):
            time.sleep(0.5)
        print(f"The process on port {exited[0]} exited: stopping the others.", file=sys.stderr)
        return 1
    except Stop:
        return 0
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second signal must not cut this short
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        cluster.stop()
        launcher_pid_file.unlink(missing_ok=True)


def running_pid(pid_file: Path) -> int | None:
    """The PID in `pid_file` if that process is alive."""
    try:
        pid = int(pid_file.read_text())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def stop(options: argparse.Namespace) -> int:
    """Stop a running `start` by the PID in its run folder (it stops its processes); if it
    is gone (killed), stop the processes it left by their PID files."""
    run_dir = options.run_dir.resolve()
    pid_file = run_dir / "cluster.pid"
    if (pid := running_pid(pid_file)) is not None:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS + 5
        while pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        return 0 if not pid_file.exists() else 1
    for left in run_dir.glob("daphne-*.pid"):
        if (pid := running_pid(left)) is not None:
            _signal_group(pid, signal.SIGTERM)
            print(f"Stopped PID {pid} ({left.name}), left by a launcher that is gone.")
        left.unlink()
    pid_file.unlink(missing_ok=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["start", "stop"])
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--first-port", type=int, default=8001)
    parser.add_argument("--run-dir", type=Path, default=PROJECT_DIR / "var" / "cluster")
    parser.add_argument("--open-files", type=int, default=OPEN_FILES)
    options = parser.parse_args(argv)
    return start(options) if options.action == "start" else stop(options)


if __name__ == "__main__":
    sys.exit(main())
