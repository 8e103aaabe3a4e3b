"""Production security settings, and secrets that must never reach a browser."""

import os
import re
import secrets
import subprocess
import sys

import requests

from tests.chat_client import unique_room
from tests.live_server import PROJECT_DIR, browser_session, post_form

TLS_WARNINGS = {"security.W004", "security.W008", "security.W012", "security.W016"}


def deploy_check_warnings(**environment: str) -> set[str]:
    completed = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=PROJECT_DIR,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "chatsite.settings",
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(60),
            **environment,
        },
        capture_output=True,
        text=True,
    )
    return set(re.findall(r"security\.W\d+", completed.stdout + completed.stderr))


def test_behind_tls_cookies_are_secure_hsts_is_sent_and_http_redirects():
    assert TLS_WARNINGS <= deploy_check_warnings(DJANGO_SECURE="false")
    assert deploy_check_warnings(DJANGO_SECURE="true").isdisjoint(TLS_WARNINGS)


def test_harperdb_credentials_never_reach_a_browser(chat_server):
    password = chat_server.environment["HARPERDB_PASSWORD"]
    http = requests.Session()
    cookie = browser_session(chat_server.url, "Ana", unique_room())
    http.headers["Cookie"] = cookie
    join_page = http.get(f"{chat_server.url}/", timeout=5)
    room_page = http.get(f"{chat_server.url}/rooms/react/", timeout=5)
    scripts = re.findall(r'src="([^"]+\.js)"', room_page.text)
    assert scripts, "the chat page loads its scripts"
    bodies = [join_page.text, room_page.text]
    bodies += [http.get(f"{chat_server.url}{src}", timeout=5).text for src in scripts]
    for body in bodies:
        assert password not in body
        assert chat_server.environment["HARPERDB_URL"] not in body


def test_the_session_cookie_is_http_only_and_same_site(chat_server):
    http = requests.Session()
    http.get(f"{chat_server.url}/", timeout=5)  # a visit sets no session cookie; joining does
    joined = post_form(http, chat_server, "/", {"username": "Ana", "new_room": unique_room()})
    session_cookie = next(c for c in joined.history[0].cookies if c.name == "sessionid")
    assert session_cookie.has_nonstandard_attr("HttpOnly")
    assert session_cookie.get_nonstandard_attr("SameSite") == "Lax"
