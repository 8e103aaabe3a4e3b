"""A python-socketio client that remembers every event it received, for end-to-end tests."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
import warnings
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import aiohttp
import socketio

from chatsite import events


async def close_quietly(closing: Awaitable, what: str, timeout: float = 15) -> None:
    """Finish a test's clean-up without letting a stuck close hang the whole run."""
    try:
        await asyncio.wait_for(closing, timeout)
    except TimeoutError:
        warnings.warn(
            f"closing {what} took over {timeout} s; left to the session's end", stacklevel=2
        )


def unique_room(label: str = "room") -> str:
    return f"{label}-{uuid.uuid4().hex[:10]}"


class ChatClient:
    def __init__(self, url: str, *, source_address: str | None = None):
        """A client of `url`; with `source_address` (a loopback address such as 127.0.0.2) its
        connections, polling and WebSocket alike, come from there, e.g. to land on a chosen
        process behind a proxy that routes by client address."""
        self.url = url
        self.source_address = source_address
        options = {} if source_address is None else {"http_session": self._http_session}
        self.sio = socketio.AsyncClient(reconnection=False, **options)
        self.received: list[tuple[str, Any]] = []
        self.arrivals: list[tuple[float, dict]] = []  # chat messages, with when they came
        self._arrival = asyncio.Condition()
        self._gone = asyncio.Event()
        self.sio.on("*", self._record)
        self.sio.on("disconnect", self._gone_away)

    async def _record(self, event: str, data: Any = None) -> None:
        if event == events.RECEIVE_MESSAGE and data.get("username") != events.CHATBOT:
            self.arrivals.append((time.perf_counter(), data))
        async with self._arrival:
            self.received.append((event, data))
            self._arrival.notify_all()

    async def _gone_away(self, *reason: Any) -> None:
        self._gone.set()

    def _http_session(self) -> aiohttp.ClientSession:
        # A factory, not a session: Engine.IO's client then closes it with the connection.
        connector = aiohttp.TCPConnector(local_addr=(self.source_address, 0))
        return aiohttp.ClientSession(connector=connector)

    async def connect(self, **options: Any) -> None:
        await self.sio.connect(self.url, wait_timeout=10, **options)

    async def disconnect(self) -> None:
        if self.sio.connected:
            await self.sio.disconnect()

    @property
    def sid(self) -> str:
        return self.sio.get_sid()

    async def call(self, event: str, *args: Any, timeout: float = 10) -> Any:
        """Emit `event` with exactly these arguments (none, one, or several) and await the ack."""
        data = args[0] if len(args) == 1 else tuple(args)
        return await self.sio.call(event, data, timeout=timeout)

    async def join(self, username: str, room: str) -> dict[str, Any]:
        ack = await self.call(events.JOIN_ROOM, {"username": username, "room": room})
        assert ack["ok"], ack
        return ack

    async def send(self, text: str, **extra: Any) -> dict[str, Any]:
        return await self.call(events.SEND_MESSAGE, {"message": text, **extra})

    async def send_marker(self) -> dict[str, Any]:
        """Send a unique message to this client's room; return it once it is back here.

        The server sends to a connection in the order it produced the events, so whatever it
        meant for this client before the marker has arrived by then: "nothing came" is shown
        by finding only the marker (STYLE.md 15), not by sleeping and looking.
        """
        ack = await self.send(f"marker {uuid.uuid4().hex[:10]}")
        assert ack["ok"], ack
        return await self.wait_for(events.RECEIVE_MESSAGE, lambda m: m.get("id") == ack["id"])

    def events_named(self, event: str) -> list[Any]:
        return [data for name, data in self.received if name == event]

    def messages(self) -> list[dict[str, Any]]:
        """Chat messages received live (ChatBot notices left out)."""
        return [
            m for m in self.events_named(events.RECEIVE_MESSAGE) if m["username"] != events.CHATBOT
        ]

    def notices(self) -> list[str]:
        return [
            m["message"]
            for m in self.events_named(events.RECEIVE_MESSAGE)
            if m["username"] == events.CHATBOT
        ]

    def history(self) -> list[dict[str, Any]]:
        """The latest `last_100_messages`, parsed (it travels as a JSON string)."""
        return json.loads(self.events_named(events.LAST_100_MESSAGES)[-1])

    async def wait_for(
        self, event: str, matching: Callable[[Any], bool] = lambda _: True, timeout: float = 5
    ) -> Any:
        """The first received `event` whose data matches, waiting for it if needed."""

        def found():
            return next((d for name, d in self.received if name == event and matching(d)), None)

        await self._until(lambda: found() is not None, timeout)
        return found()

    async def wait_until(self, condition: Callable[[], bool], timeout: float = 5) -> None:
        """Wait until `condition` holds, looked at again each time an event arrives."""
        await self._until(condition, timeout)

    def roster(self) -> list[str] | None:
        """The usernames of the latest `chatroom_users`, or None before any."""
        rosters = self.events_named(events.CHATROOM_USERS)
        return [person["username"] for person in rosters[-1]] if rosters else None

    async def wait_for_messages(self, ids: Iterable[str], timeout: float = 5) -> None:
        """Wait until every chat message in `ids` has arrived, in whatever order."""
        wanted = set(ids)
        await self._until(lambda: wanted <= {m["id"] for m in self.messages()}, timeout)

    async def wait_disconnected(self, timeout: float = 5) -> None:
        """Wait until the connection has ended (the server closed it, or we did)."""
        await asyncio.wait_for(self._gone.wait(), timeout)

    async def _until(self, condition: Callable[[], bool], timeout: float) -> None:
        async with self._arrival:
            await asyncio.wait_for(self._arrival.wait_for(condition), timeout)

    def forget(self) -> None:
        self.received.clear()
