"""The transport-neutral way services tell people what happened (like Zulip's `send_event`).

Services publish "this event to room R" or "this event to connection C" and subscribe a
connection to a room's events; they never see the transport. The Socket.IO server plugs
its publisher in at startup (`chatsite/asgi.py`). A process without a transport (a
management command, a unit test that installs none) holds no connections, so its default
publisher has nobody to tell and drops events.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any, Protocol

logger = logging.getLogger(__name__)


class Publisher(Protocol):
    async def to_room(
        self, room: str, event: str, data: Any, *, skip: Collection[str] = ()
    ) -> None:
        """Send to every connection subscribed to `room`, except those in `skip`."""

    async def to_connection(self, connection: str, event: str, data: Any) -> None: ...

    async def subscribe(self, connection: str, room: str) -> None:
        """From now on `connection` receives what is published to `room`."""

    async def unsubscribe(self, connection: str, room: str) -> None: ...


class NoConnectionsPublisher:
    """The publisher of a process that serves no connections: nobody to tell."""

    async def to_room(
        self, room: str, event: str, data: Any, *, skip: Collection[str] = ()
    ) -> None:
        logger.debug("no transport in this process: %s to room %r dropped", event, room)

    async def to_connection(self, connection: str, event: str, data: Any) -> None:
        logger.debug("no transport in this process: %s to %s dropped", event, connection)

    async def subscribe(self, connection: str, room: str) -> None:
        return None

    async def unsubscribe(self, connection: str, room: str) -> None:
        return None


@dataclass(frozen=True)
class Sent:
    connection: str
    event: str
    data: Any


@dataclass
class InMemoryPublisher:
    """Delivers to subscribed connections in a list, in order: the unit tests' transport."""

    sent: list[Sent] = field(default_factory=list)
    rooms: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    async def to_room(
        self, room: str, event: str, data: Any, *, skip: Collection[str] = ()
    ) -> None:
        for connection in self.rooms.get(room, []):
            if connection not in skip:
                self.sent.append(Sent(connection, event, data))

    async def to_connection(self, connection: str, event: str, data: Any) -> None:
        self.sent.append(Sent(connection, event, data))

    async def subscribe(self, connection: str, room: str) -> None:
        if connection not in self.rooms[room]:
            self.rooms[room].append(connection)

    async def unsubscribe(self, connection: str, room: str) -> None:
        if connection in self.rooms.get(room, []):
            self.rooms[room].remove(connection)

    def received(self, connection: str, event: str | None = None) -> list[Any]:
        """What `connection` was sent, oldest first (of one event, when given)."""
        return [
            sent.data
            for sent in self.sent
            if sent.connection == connection and event in (None, sent.event)
        ]


_installed: Publisher = NoConnectionsPublisher()


def install(publisher: Publisher) -> None:
    """Make `publisher` the one every service publishes through (once, at startup)."""
    global _installed
    _installed = publisher


def publisher() -> Publisher:
    return _installed
