"""DevRooms under Daphne on a free port, against the test HarperDB, as a browser sees it."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from messaging.local_harperdb import free_port

PROJECT_DIR = Path(__file__).resolve().parent.parent


@dataclass
class ChatServer:
    port: int
    environment: dict[str, str]
    log_file: Path
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start Daphne (again, on the same port and database) and wait until it answers."""
        with open(self.log_file, "ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "chatsite.serve",
                    "-b",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                    "chatsite.asgi:application",
                ],
                cwd=PROJECT_DIR,
                env=self.environment,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                if requests.get(f"{self.url}/socket.io/?EIO=4&transport=polling", timeout=1).ok:
                    return
            except requests.ConnectionError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"DevRooms did not start:\n{self.log()}")

    def stop(self, *, crash: bool = False) -> None:
        """Stop the server: politely, or at once as if it crashed."""
        if crash:
            self.process.kill()
        else:
            self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def log(self) -> str:
        return self.log_file.read_text(errors="replace")

    def database(self) -> sqlite3.Connection:
        """The server's own SQLite database, for checking what it recorded."""
        return sqlite3.connect(self.environment["DATABASE_URL"].removeprefix("sqlite:///"))


def start_chat_server(folder: Path, harperdb_settings: dict, **overrides: str) -> ChatServer:
    """Migrate a fresh SQLite database and start Daphne on a free port; wait until it answers."""
    folder.mkdir(parents=True, exist_ok=True)
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "chatsite.settings",
        "DJANGO_SECRET_KEY": "end-to-end-tests-only",
        "DJANGO_DEBUG": "false",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}",
        "CHAT_PRESENCE_GRACE_SECONDS": "0.5",
        "CHAT_RECONNECT_GRACE_SECONDS": "3",
        "CHAT_RATE_LIMIT": "0",
        "CHAT_ROOM_CREATE_PER_HOUR": "0",
        "CHAT_FRAME_RATE": "0",
        "CHAT_INBOUND_BYTES_PER_SECOND": "0",
        **{name: str(value) for name, value in harperdb_settings.items()},
        **overrides,
    }
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=PROJECT_DIR,
        env=environment,
        check=True,
    )
    server = ChatServer(port=free_port(), environment=environment, log_file=folder / "daphne.log")
    server.start()
    return server


def browser_session(server_url: str, username: str, room: str) -> str:
    """Join through the join page, as a browser does; returns the Django session cookie."""
    http = requests.Session()
    page = http.get(f"{server_url}/", timeout=5)
    token = http.cookies["csrftoken"]
    response = http.post(
        f"{server_url}/",
        data={"csrfmiddlewaretoken": token, "username": username, "new_room": room},
        headers={"Referer": f"{server_url}/"},
        timeout=5,
        allow_redirects=False,
    )
    assert page.ok, page.text[:500]
    assert response.status_code == 302, response.text[:500]
    return f"sessionid={http.cookies['sessionid']}"


def create_user(server: ChatServer, username: str, password: str, *, staff: bool) -> str:
    """A user in the server's database (a superuser when `staff`); returns the key of a
    session logged in as them, as Django's login would have made it."""
    code = f"""
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.models import User
from django.contrib.sessions.backends.db import SessionStore
user = User.objects.create_user({username!r}, password={password!r},
                                is_staff={staff}, is_superuser={staff})
session = SessionStore()
session[SESSION_KEY] = str(user.pk)
session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
session[HASH_SESSION_KEY] = user.get_session_auth_hash()
session.create()
print(session.session_key)
"""
    completed = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=PROJECT_DIR,
        env=server.environment,
        check=True,
        capture_output=True,
        text=True,
    )
    return completed.stdout.strip().splitlines()[-1]


def logged_in(server: ChatServer, username: str, password: str) -> requests.Session:
    """An HTTP session logged in through the admin's login form."""
    http = requests.Session()
    http.get(f"{server.url}/admin/login/", timeout=5)
    response = http.post(
        f"{server.url}/admin/login/?next=/admin/",
        data={
            "csrfmiddlewaretoken": http.cookies["csrftoken"],
            "username": username,
            "password": password,
        },
        headers={"Referer": f"{server.url}/admin/login/"},
        timeout=5,
    )
    assert "sessionid" in http.cookies, response.text[:500]
    return http


def post_form(
    http: requests.Session, server: ChatServer, path: str, data: dict
) -> requests.Response:
    """POST a form the way a browser does: CSRF token and same-origin Referer."""
    return http.post(
        f"{server.url}{path}",
        data={"csrfmiddlewaretoken": http.cookies["csrftoken"], **data},
        headers={"Referer": f"{server.url}{path}"},
        timeout=10,
    )


def room_id(server: ChatServer, name: str) -> int:
    with server.database() as database:
        return database.execute("SELECT id FROM rooms_room WHERE name = ?", (name,)).fetchone()[0]


def moderation_path(server: ChatServer, room: str) -> str:
    return f"/admin/rooms/room/{room_id(server, room)}/moderate/"


async def moderate(
    http: requests.Session, server: ChatServer, room: str, action: str, **fields: str
) -> requests.Response:
    """A moderator's action on the room's Moderate page (posted off the event loop)."""
    data = {"action": action, **fields}
    return await asyncio.to_thread(post_form, http, server, moderation_path(server, room), data)


async def rooms_action(
    http: requests.Session, server: ChatServer, action: str, room: str
) -> requests.Response:
    """An action of the admin's room list (close_rooms, reopen_rooms) on one room."""
    data = {"action": action, "_selected_action": str(room_id(server, room))}
    return await asyncio.to_thread(post_form, http, server, "/admin/rooms/room/", data)
