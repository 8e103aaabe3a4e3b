"""What the site answers to browsers, probers and crawlers."""

import json
import subprocess
import sys
import time
import uuid

import pytest
import requests
from django.conf import settings

from messaging.local_harperdb import free_port
from tests.chat_client import unique_room
from tests.live_server import PROJECT_DIR, browser_session, create_user


@pytest.fixture(scope="module")
def staff_cookie(chat_server) -> str:
    username = f"staff-{uuid.uuid4().hex[:6]}"
    return f"sessionid={create_user(chat_server, username, 'staff-password-1', staff=True)}"


def pages(chat_server, staff_cookie) -> dict[str, str]:
    """Path -> Cookie header: the site's pages, the admin's included, and a 404."""
    visitor = browser_session(chat_server.url, "Ana", room := unique_room("csp"))
    return {
        "/": "",
        f"/rooms/{room}/": visitor,
        "/nope/": "",
        "/admin/login/": "",
        "/admin/": staff_cookie,
        "/admin/rooms/room/": staff_cookie,
        "/admin/live-rooms/": staff_cookie,
    }


def test_every_page_has_a_content_security_policy_without_inline_script_or_style(
    chat_server, staff_cookie
):
    for path, cookie in pages(chat_server, staff_cookie).items():
        response = requests.get(
            f"{chat_server.url}{path}", headers={"Cookie": cookie}, timeout=5, allow_redirects=False
        )
        assert response.status_code in (200, 404), path
        policy = response.headers["Content-Security-Policy"]
        assert policy == settings.CONTENT_SECURITY_POLICY, path
    assert "unsafe" not in settings.CONTENT_SECURITY_POLICY
    assert "script-src 'self'" in settings.CONTENT_SECURITY_POLICY
    assert "style-src 'self'" in settings.CONTENT_SECURITY_POLICY


@pytest.fixture(scope="module")
def runserver(chat_server):
    """The server as `make run` serves it: `manage.py runserver`, debug on."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=PROJECT_DIR,
        env={**chat_server.environment, "DJANGO_DEBUG": "true"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            requests.get(f"{url}/static/devrooms/chat.css", timeout=1)
            break
        except requests.ConnectionError:
            time.sleep(0.2)
    yield url
    process.terminate()
    process.wait(timeout=10)


@pytest.mark.parametrize("server", ["daphne", "runserver"])
@pytest.mark.parametrize(
    "path",
    [
        "/static/../chatsite/settings.py",
        "/static/%2e%2e/chatsite/settings.py",
        "/static/devrooms/../../chatsite/settings.py",
    ],
)
def test_a_path_out_of_the_static_folder_is_not_found(chat_server, request, server, path):
    url = chat_server.url if server == "daphne" else request.getfixturevalue("runserver")
    prepared = requests.Request("GET", f"{url}/static/devrooms/chat.css").prepare()
    prepared.url = f"{url}{path}"  # as sent: requests would resolve the dots itself
    with requests.Session() as http:
        response = http.send(prepared, timeout=5)
    assert response.status_code == 404
    assert "SECRET_KEY" not in response.text


def test_a_polling_post_over_the_size_limit_is_refused_at_once(chat_server):
    opened = requests.get(f"{chat_server.url}/socket.io/?EIO=4&transport=polling", timeout=5)
    sid = json.loads(opened.text.removeprefix("0"))["sid"]  # Engine.IO's OPEN packet
    started = time.monotonic()
    response = requests.post(
        f"{chat_server.url}/socket.io/?EIO=4&transport=polling&sid={sid}",
        data="4" + "x" * settings.CHAT_MAX_PAYLOAD_BYTES,
        headers={"Content-Type": "text/plain;charset=UTF-8"},
        timeout=15,
    )
    assert response.status_code == 413
    assert time.monotonic() - started < 3


def test_visits_of_the_join_page_write_no_session_rows(chat_server):
    def session_rows() -> int:
        with chat_server.database() as database:
            return database.execute("SELECT COUNT(*) FROM django_session").fetchone()[0]

    before = session_rows()
    for _ in range(100):
        assert requests.get(f"{chat_server.url}/", timeout=5).ok
    assert session_rows() == before
