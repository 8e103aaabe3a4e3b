"""The production run: DevRooms started by `deploy.cluster`, behind Debian's nginx running the
site rendered from `deploy/nginx-site.conf.template`, each on a free port of 127.0.0.1.

One DevRooms process here; tests/test_cluster_live.py puts two behind nginx.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
import requests
import socketio

from deploy.local_nginx import NGINX, LocalNginx
from deploy.nginx_site import nginx_site
from deploy.processes import stop_process_group
from messaging.local_harperdb import free_port
from tests.chat_client import ChatClient, unique_room
from tests.cluster import Launcher, close_clients, production_environment

PROJECT_DIR = Path(__file__).resolve().parent.parent
METRICS_TOKEN = "proxy-test-metrics-token"
PER_ADDRESS = 4  # CHAT_MAX_CONNECTIONS_PER_IP of the process behind the proxy
LOW_OPEN_FILES_LIMIT = ["/bin/sh", "-c", 'ulimit -Sn 1024 && exec "$@"', "sh"]

pytestmark = pytest.mark.skipif(
    not Path(NGINX).exists(), reason="Debian's nginx is missing: `make nginx` installs it"
)


@dataclass
class Deployment:
    port: int
    launcher: Launcher
    static_root: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.launcher.log

    def daphne_pid(self) -> int:
        return self.launcher.daphne_pid(self.port)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory, harperdb_settings):
    """One DevRooms process started the production way, with a low open-files limit to raise.

    Stopped with `deploy.cluster stop`, which must leave no process of it behind."""
    folder = tmp_path_factory.mktemp("production-run")
    port = free_port()
    environment = production_environment(
        folder,
        harperdb_settings,
        CHAT_MAX_CONNECTIONS_PER_IP=str(PER_ADDRESS),
        CHAT_METRICS_TOKEN=METRICS_TOKEN,
    )
    launcher = Launcher(
        ports=[port], run_dir=folder / "run", environment=environment, log=folder / "launcher.log"
    )
    try:
        launcher.start(wrapper=LOW_OPEN_FILES_LIMIT).wait_ready()
        daphne = launcher.daphne_pid(port)
        yield Deployment(
            port=port, launcher=launcher, static_root=Path(environment["DJANGO_STATIC_ROOT"])
        )
        assert launcher.stop() == 0
        assert not Path(f"/proc/{daphne}").exists()
    finally:
        stop_process_group(launcher.process)


@pytest.fixture(scope="module")
def proxy(tmp_path_factory, deployment):
    """Debian's nginx with a configuration of its own in a temporary prefix, serving the
    rendered DevRooms site on a free port of 127.0.0.1; stopped by its PID."""
    nginx = LocalNginx(
        tmp_path_factory.mktemp("nginx"),
        upstream_ports=[deployment.port],
        static_root=deployment.static_root,
    )
    try:
        yield nginx.start()
    finally:
        nginx.stop()


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
    await close_clients(opened)


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
