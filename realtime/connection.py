"""Per-connection state, kept in the Socket.IO session: who this is, its turn and its rate.

Which room a connection is in is the rooms layer's to know (`rooms.selectors.room_member`)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from importlib import import_module

from channels.db import database_sync_to_async
from django.conf import settings

from chatsite.rate import TokenBucket
from rooms.identity import SESSION_USERNAME_KEY, connection_person_key, session_person_key


@dataclass(eq=False)
class Connection:
    sid: str
    person_key: str
    address: str = ""
    # Fixed by the Django session, or by the connection's first accepted join.
    username: str | None = None
    # Events of one connection are handled one after another, in the order they came.
    turn: asyncio.Lock = field(default_factory=asyncio.Lock)
    rate: TokenBucket = field(
        default_factory=lambda: TokenBucket(settings.CHAT_RATE_LIMIT, settings.CHAT_RATE_BURST)
    )


def _session_key(environ: dict) -> str | None:
    cookie = SimpleCookie()
    try:
        cookie.load(environ.get("HTTP_COOKIE", ""))
    except Exception:  # a malformed Cookie header is the same as none
        return None
    morsel = cookie.get(settings.SESSION_COOKIE_NAME)
    return morsel.value if morsel else None


@database_sync_to_async
def _session_username(session_key: str) -> tuple[bool, str | None]:
    """Whether the session is live, and its username: one read. A session that is missing or
    expired is no proof (the store forgets its key when it loads none)."""
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    data = store.load()
    if store.session_key is None:
        return False, None
    return True, data.get(SESSION_USERNAME_KEY)


async def connection_from_environ(sid: str, environ: dict, *, address: str) -> Connection:
    """A Django session, when the browser sent a valid one, is the person's proof."""
    session_key = _session_key(environ)
    if session_key:
        exists, username = await _session_username(session_key)
        if exists:
            person_key = session_person_key(session_key)
            return Connection(sid=sid, person_key=person_key, username=username, address=address)
    return Connection(sid=sid, person_key=connection_person_key(sid), address=address)
