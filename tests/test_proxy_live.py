"""The production run: DevRooms started by `deploy.cluster`, behind Debian's nginx running the
site rendered from `deploy/nginx-site.conf.template`, each on a free port of 127.0.0.1.

One DevRooms process only. Two behind nginx need presence shared between processes first
(issue 11): until then each process would show its own roster, so no test here pretends.
"""

from __future__ import annotations

import asyncio
import grp
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
import requests
import socketio

from deploy.nginx_site import nginx_site
from messaging.local_harperdb import free_port
from tests.chat_client import ChatClient, unique_room

PROJECT_DIR = Path(__file__).resolve().parent.parent
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
METRICS_TOKEN = "proxy-test-metrics-token"
PER_ADDRESS = 4  # CHAT_MAX_CONNECTIONS_PER_IP of the process behind the proxy

pytestmark = pytest.mark.skipif(
    not Path(NGINX).exists(), reason="Debian's nginx is missing: `make nginx` installs it"
)


def wait_for_port(port: int, process: subprocess.Popen, what: str, log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and process.poll() is None:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not start:\n{log.read_text(errors='replace')[-3000:]}")


def stop_group(process: subprocess.Popen) -> None:
    """Stop a process we started (in its own group): SIGTERM, then SIGKILL to its group."""
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@dataclass
class Deployment:
    port: int
    run_dir: Path
    static_root: Path
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def daphne_pid(self) -> int:
        return int((self.run_dir / f"daphne-{self.port}.pid").read_text())


@pytest.fixture(scope="module")
def deployment(tmp_path_factory, harperdb_settings):
    """One DevRooms process started the production way, with a low open-files limit to raise.

    Stopped with `deploy.cluster stop`, which must leave no process of it behind."""
    folder = tmp_path_factory.mktemp("production-run")
    deployment = Deployment(
        port=free_port(),
        run_dir=folder / "run",
        static_root=folder / "static",
        log=folder / "launcher.log",
    )
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "chatsite.settings",
        "DJANGO_ENV_FILE": str(folder / "none.env"),  # not the developer's own .env
        "DJANGO_SECRET_KEY": "production-run-tests-only",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}",
        "DJANGO_STATIC_ROOT": str(deployment.static_root),
        "CHAT_RATE_LIMIT": "0",
        "CHAT_ROOM_CREATE_PER_HOUR": "0",
        "CHAT_MAX_CONNECTIONS_PER_IP": str(PER_ADDRESS),
        "CHAT_METRICS_TOKEN": METRICS_TOKEN,
        **{name: str(value) for name, value in harperdb_settings.items()},
    }
    environment.pop("DJANGO_DEBUG", None)
    command = [sys.executable, "-m", "deploy.cluster"]
    where = ["--run-dir", str(deployment.run_dir)]
    low_open_files_limit = ["/bin/sh", "-c", 'ulimit -Sn 1024 && exec "$@"', "sh"]
    one_process = ["--processes", "1", "--first-port", str(deployment.port)]
    with open(deployment.log, "ab") as log:
        launcher = subprocess.Popen(
            [*low_open_files_limit, *command, "start", *one_process, *where],
            cwd=PROJECT_DIR,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 120
        while "Ready." not in deployment.log.read_text() and time.monotonic() < deadline:
            assert launcher.poll() is None, deployment.log.read_text()
            time.sleep(0.2)
        assert "Ready." in deployment.log.read_text(), deployment.log.read_text()
        daphne = deployment.daphne_pid()
        yield deployment
        subprocess.run([*command, "stop", *where], cwd=PROJECT_DIR, env=environment, check=True)
        assert launcher.wait(timeout=20) == 0
        assert not Path(f"/proc/{daphne}").exists()
    finally:
        stop_group(launcher)


@dataclass
class Proxy:
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture(scope="module")
def proxy(tmp_path_factory, deployment):
    """Debian's nginx with a configuration of its own in a temporary prefix, serving the
    rendered DevRooms site on a free port of 127.0.0.1; stopped by its PID."""
    prefix = tmp_path_factory.mktemp("nginx")
    port = free_port()
    site = prefix / "devrooms.conf"
    site.write_text(
        nginx_site(
            ports=[deployment.port],
            listen=f"127.0.0.1:{port}",
            server_name="_",
            static_root=deployment.static_root,
        )
    )
    temp = {name: prefix / "temp" / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for folder in temp.values():
        folder.mkdir(parents=True)
    user = f"{pwd.getpwuid(os.geteuid()).pw_name} {grp.getgrgid(os.getegid()).gr_name}"
    config = prefix / "nginx.conf"
    config.write_text(
        f"daemon off;\nworker_processes 1;\npid {prefix}/nginx.pid;\nuser {user};\n"
        f"error_log {prefix}/error.log info;\nevents {{ worker_connections 512; }}\n"
        "http {\n    include /etc/nginx/mime.types;\n"
        f"    access_log {prefix}/access.log;\n"
        f"    client_body_temp_path {temp['body']};\n    proxy_temp_path {temp['proxy']};\n"
        f"    fastcgi_temp_path {temp['fastcgi']};\n    uwsgi_temp_path {temp['uwsgi']};\n"
        f"    scgi_temp_path {temp['scgi']};\n    include {site};\n}}\n"
    )
    log = prefix / "error.log"
    nginx = subprocess.Popen(
        [NGINX, "-p", str(prefix), "-c", str(config), "-e", str(log)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_for_port(port, nginx, "nginx", log)
        yield Proxy(port=port)
    finally:
        stop_group(nginx)


@pytest.fixture
async def clients():
    """`await clients(url, **connect_options)`: a socket.io client, closed after the test."""
    opened: list[ChatClient] = []

    async def open_client(url: str, **options) -> ChatClient:
        client = ChatClient(url)
        await client.connect(**options)
        opened.append(client)
        return client

    yield open_client
    for client in opened:
        # A polling client's disconnect then waits for its pending long poll (up to 30 s,
        # python-engineio's client, with or without a proxy); the server has the close at once.
        closing = asyncio.ensure_future(client.disconnect())
        try:
            await asyncio.wait_for(asyncio.shield(closing), 2)
        except TimeoutError:
            pass


async def round_trip(sender: ChatClient, receiver: ChatClient) -> None:
    """A message from `sender` reaches `receiver`, both in one new room."""
    room = unique_room("proxy")
    await sender.join("Ana", room)
    await receiver.join("Bob", room)
    ack = await sender.send("through nginx")
    assert ack["ok"], ack
    await receiver.wait_for_messages([ack["id"]])


async def test_the_polling_transport_works_through_the_proxy(proxy, clients):
    ana = await clients(proxy.url, transports=["polling"])
    bob = await clients(proxy.url, transports=["polling"])
    await round_trip(ana, bob)
    assert ana.sio.transport() == bob.sio.transport() == "polling"


async def test_a_websocket_upgrade_works_through_the_proxy(proxy, clients):
    ana = await clients(proxy.url)  # polling first, then the upgrade (within connect)
    bob = await clients(proxy.url, transports=["websocket"])
    assert ana.sio.transport() == "websocket"
    await round_trip(ana, bob)


async def test_a_page_of_the_site_may_open_a_websocket_through_the_proxy_and_another_may_not(
    proxy,
):
    url = f"{proxy.url}/socket.io/?EIO=4&transport=websocket"
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(url, origin=proxy.url) as websocket:
            opened = await websocket.receive_str(timeout=5)
            assert opened.startswith('0{"sid"')
        with pytest.raises(aiohttp.WSServerHandshakeError):
            await http.ws_connect(url, origin="http://elsewhere.example")


async def test_a_forged_x_forwarded_for_does_not_escape_the_per_address_limit(proxy, clients):
    refused = []
    for number in range(PER_ADDRESS + 1):
        forged = {"X-Forwarded-For": f"203.0.113.{number + 1}"}
        try:
            await clients(proxy.url, headers=forged)
        except socketio.exceptions.ConnectionError as error:
            refused.append(str(error))
    assert refused, "every forged address was let in: the proxy passed the client's header on"


def test_healthz_answers_through_the_proxy(proxy):
    response = requests.get(f"{proxy.url}/healthz", timeout=5)
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_metrics_are_scraped_from_each_process_not_through_the_proxy(proxy, deployment):
    token = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    assert requests.get(f"{proxy.url}/metrics", headers=token, timeout=5).status_code == 403
    direct = requests.get(f"{deployment.url}/metrics", headers=token, timeout=5)
    assert direct.status_code == 200
    assert "devrooms_connections" in direct.text


def test_static_files_come_from_collectstatic_through_nginx(proxy, deployment):
    source = sorted((PROJECT_DIR / "static").rglob("*.js"))[0]
    path = source.relative_to(PROJECT_DIR / "static").as_posix()
    response = requests.get(f"{proxy.url}/static/{path}", timeout=5)
    assert response.status_code == 200
    assert response.content == (deployment.static_root / path).read_bytes()
    assert "Content-Security-Policy" not in response.headers  # nginx's, not Django's
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_process_runs_with_debug_off_and_a_raised_open_files_limit(proxy, deployment):
    not_found = requests.get(f"{proxy.url}/no-such-page/", timeout=5)
    assert not_found.status_code == 404
    assert "URLconf" not in not_found.text  # Django's debug page would explain the URLs
    limits = Path(f"/proc/{deployment.daphne_pid()}/limits").read_text()
    soft = int(re.search(r"^Max open files\s+(\d+)", limits, re.MULTILINE).group(1))
    assert soft > 1024
    assert f"open files {soft};" in deployment.log.read_text()


def test_the_rendered_site_passes_nginx_t_within_debians_own_nginx_conf(tmp_path):
    debian = Path("/etc/nginx/nginx.conf").read_text()
    assert "include /etc/nginx/sites-enabled/*;" in debian
    site = tmp_path / "devrooms.conf"
    site.write_text(
        nginx_site(
            ports=[8001, 8002], listen="80", server_name="chat.example.com", static_root=tmp_path
        )
    )
    config = tmp_path / "nginx.conf"
    config.write_text(debian.replace("include /etc/nginx/sites-enabled/*;", f"include {site};"))
    checked = subprocess.run(
        [NGINX, "-t", "-c", str(config), "-e", str(tmp_path / "error.log")],
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stderr
