"""The Socket.IO side of `chatsite.publish`: a chat room is a Socket.IO room."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import socketio


def channel(room: str) -> str:
    """The Socket.IO room that carries a chat room's events."""
    return f"room:{room}"


class SocketIOPublisher:
    def __init__(self, sio: socketio.AsyncServer):
        self.sio = sio

    async def to_room(
        self, room: str, event: str, data: Any, *, skip: Collection[str] = ()
    ) -> None:
        await self.sio.emit(event, data, room=channel(room), skip_sid=list(skip) or None)

    async def to_connection(self, connection: str, event: str, data: Any) -> None:
        await self.sio.emit(event, data, to=connection)

    async def subscribe(self, connection: str, room: str) -> None:
        await self.sio.enter_room(connection, channel(room))

    async def unsubscribe(self, connection: str, room: str) -> None:
        await self.sio.leave_room(connection, channel(room))
