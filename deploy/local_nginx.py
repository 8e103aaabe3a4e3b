"""A throwaway nginx for tests and benchmarks: Debian's `nginx` with a configuration of its own
in a folder (its prefix), serving the DevRooms site rendered by `deploy.nginx_site` for
processes on 127.0.0.1, on a free port of 127.0.0.1; stopped by its PID (`make nginx`
installs it)."""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import socket
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path

from deploy.nginx_site import nginx_site
from deploy.processes import stop_process_group
from messaging.local_harperdb import free_port

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
START_SECONDS = 30.0
STOP_SECONDS = 20.0
TEMP_FOLDERS = ("body", "proxy", "fastcgi", "uwsgi", "scgi")


class LocalNginx:
    """nginx in front of the DevRooms processes on `upstream_ports`.

    The site is the production one; `http_directives` are added around it, in the `http`
    block, for a test's own needs: e.g. `add_header X-Upstream $upstream_addr always;`
    names the process that answered each request."""

    def __init__(
        self,
        folder: Path,
        *,
        upstream_ports: Iterable[int],
        static_root: Path,
        http_directives: Iterable[str] = (),
        worker_connections: int = 512,
    ):
        self.folder = folder
        self.upstream_ports = list(upstream_ports)
        self.static_root = static_root
        self.http_directives = list(http_directives)
        self.worker_connections = worker_connections  # each proxied connection takes two
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def error_log(self) -> Path:
        return self.folder / "error.log"

    def start(self) -> LocalNginx:
        """Write the configuration, start nginx in the foreground and wait until it listens."""
        config = self._write_configuration()
        self.process = subprocess.Popen(
            [NGINX, "-p", str(self.folder), "-c", str(config), "-e", str(self.error_log)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # master and workers in one group: stopped as a whole
        )
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline and self.process.poll() is None:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.05)
        self.stop()
        log = self.error_log.read_text(errors="replace")[-3000:] if self.error_log.exists() else ""
        raise RuntimeError(f"nginx did not start:\n{log}")

    def stop(self) -> None:
        """SIGTERM (nginx's fast shutdown) to the master, SIGKILL to its group if it lingers."""
        if self.process is not None:
            stop_process_group(self.process, timeout=STOP_SECONDS)

    def _write_configuration(self) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        site = self.folder / "devrooms.conf"
        site.write_text(
            nginx_site(
                ports=self.upstream_ports,
                listen=f"127.0.0.1:{self.port}",
                server_name="_",
                static_root=self.static_root,
            )
        )
        temp = {name: self.folder / "temp" / name for name in TEMP_FOLDERS}
        for folder in temp.values():
            folder.mkdir(parents=True, exist_ok=True)
        user = f"{pwd.getpwuid(os.geteuid()).pw_name} {grp.getgrgid(os.getegid()).gr_name}"
        extra = "".join(f"    {directive}\n" for directive in self.http_directives)
        config = self.folder / "nginx.conf"
        config.write_text(
            f"daemon off;\nworker_processes 1;\npid {self.folder}/nginx.pid;\nuser {user};\n"
            f"error_log {self.error_log} info;\n"
            f"events {{ worker_connections {self.worker_connections}; }}\n"
            "http {\n    include /etc/nginx/mime.types;\n"
            f"    access_log {self.folder}/access.log;\n"
            f"    client_body_temp_path {temp['body']};\n    proxy_temp_path {temp['proxy']};\n"
            f"    fastcgi_temp_path {temp['fastcgi']};\n    uwsgi_temp_path {temp['uwsgi']};\n"
            f"    scgi_temp_path {temp['scgi']};\n{extra}    include {site};\n}}\n"
        )
        return config
