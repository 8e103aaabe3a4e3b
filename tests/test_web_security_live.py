"""What the site answers to browsers, probers and crawlers."""

import uuid

import pytest
import requests
from django.conf import settings

from tests.chat_client import unique_room
from tests.live_server import browser_session, create_user


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
