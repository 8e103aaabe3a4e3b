"""The transport-neutral way services tell people what happened (like Zulip's `send_event`).

Services publish "this event to room R" or "this event to connection C" and subscribe a
connection to a room's events; they never see the transport. The Socket.IO server plugs
its publisher in at startup (`chatsite/asgi.py`). A process without a transport (a
management command, a unit test that installs none) holds no connections, so its default
publisher has nobody to tell and drops events.

With several processes (`chatsite.cluster`), `publisher().to_room` goes out on the cluster's
events channel and every process hands it to its own connections; `publisher_here()` reaches
this process's connections only (for what every process works out for itself, such as
roster updates). Connections are always this process's own: `to_connection`, `subscribe`
and `unsubscribe` are called by the process that holds the connection.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any, Protocol

from chatsite.cluster import cluster

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


class ClusterPublisher:
    """Room events through the cluster's channel, to every process's connections."""

    async def to_room(
        self, room: str, event: str, data: Any, *, skip: Collection[str] = ()
    ) -> None:
        payload = {"room": room, "event": event, "data": data, "skip": list(skip)}
        await cluster().broadcast(ROOM_EVENT, payload)

    async def to_connection(self, connection: str, event: str, data: Any) -> None:
        await _installed.to_connection(connection, event, data)

    async def subscribe(self, connection: str, room: str) -> None:
        await _installed.subscribe(connection, room)

    async def unsubscribe(self, connection: str, room: str) -> None:
        await _installed.unsubscribe(connection, room)


ROOM_EVENT = "room"
"""The cluster event that carries a room event (`room`, `event`, `data`, `skip`)."""


async def room_event_here(payload: dict[str, Any]) -> None:
    """A room event from the cluster's channel, for this process's connections."""
    skip = payload.get("skip") or ()
    await _installed.to_room(payload["room"], payload["event"], payload["data"], skip=skip)


_installed: Publisher = NoConnectionsPublisher()
_cluster_publisher = ClusterPublisher()


def install(publisher: Publisher) -> None:
    """Make `publisher` this process's transport (once, at startup)."""
    global _installed
    _installed = publisher
    cluster().on_event(ROOM_EVENT, room_event_here)


def publisher() -> Publisher:
    """Reaches every connection, whichever process holds it."""
    return _cluster_publisher if cluster().shared else _installed


def publisher_here() -> Publisher:
    """Reaches this process's connections only."""
    return _installed
