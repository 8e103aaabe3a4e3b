"""Server-to-client sends, used by the services once their work is done."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from chatsite import events
from realtime.server import sio

if TYPE_CHECKING:
    from realtime.connection import Connection


def channel(room: str) -> str:
    """The Socket.IO room that carries a chat room's events."""
    return f"room:{room}"


def now_ms() -> int:
    return int(time.time() * 1000)


def chatbot_notice(room: str, text: str) -> dict[str, Any]:
    return {"username": events.CHATBOT, "room": room, "message": text, "__createdtime__": now_ms()}


async def to_connection(connection: str, event: str, data: Any) -> None:
    await sio.emit(event, data, to=connection)


async def to_room(room: str, event: str, data: Any, *, skip: list[str] | None = None) -> None:
    await sio.emit(event, data, room=channel(room), skip_sid=skip)


async def enter(connection: str, room: str) -> None:
    await sio.enter_room(connection, channel(room))


async def leave(connection: str, room: str) -> None:
    await sio.leave_room(connection, channel(room))


async def connection_state(connection: str) -> Connection | None:
    """The state of a live connection (None once it has gone)."""
    try:
        return (await sio.get_session(connection)).get("connection")
    except KeyError:
        return None
