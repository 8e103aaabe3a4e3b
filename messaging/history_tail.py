"""The newest messages of recently read rooms, in memory: a join's `last_100_messages`
without a HarperDB read.

A room's tail is filled by one read of the store; then every message this process stores
is appended to it, and a deletion, edit or move forgets it. That is only the whole truth
when this process stores every message, so `messaging.backend.history_tail()` gives none
when several processes share the rooms (REDIS_URL set). Bounded: past `max_bytes` of
message text the least recently read rooms are forgotten.

Joins that find a room unknown together (a join storm) share one read: a read on its way may
be waited for instead of starting another, as long as no message of the room was stored
since it began (the newcomer, already in the room, could otherwise miss that message).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque
from dataclasses import dataclass, field

from messaging.store import Message

# What keeping a room costs before any message: without it, rooms with no messages would
# cost nothing and never be forgotten, however many were read.
ROOM_OVERHEAD_BYTES = 1_000


def _size(message: Message) -> int:
    return len(message.message) + 200  # the text, and the fields around it


@dataclass
class _Tail:
    messages: deque[Message]
    complete: bool  # holds every message the room has (fewer than the tail's size)
    size_bytes: int = 0


@dataclass
class _Fills:
    """The reads of one room on their way."""

    changes: int = 0  # to the room's history since the first of them began
    reads: int = 0
    shared: asyncio.Future | None = None  # the result of the newest one, to wait for
    shared_since: int = 0  # `changes` when it began


@dataclass
class HistoryTail:
    size: int  # messages kept per room: CHAT_HISTORY_LIMIT
    max_bytes: int
    _rooms: OrderedDict[str, _Tail] = field(default_factory=OrderedDict)
    _fills: dict[str, _Fills] = field(default_factory=dict)
    size_bytes: int = 0

    def recent(self, room: str, limit: int) -> list[Message] | None:
        """The room's latest `limit` messages, oldest first; None when not known here."""
        tail = self._rooms.get(room)
        if tail is None or not (limit <= len(tail.messages) or tail.complete):
            return None
        self._rooms.move_to_end(room)
        return list(tail.messages)[-limit:] if limit else []

    def read_to_share(self, room: str) -> asyncio.Future | None:
        """The result of a read of the room's tail on its way that nothing stored since it
        began would make stale (resolves to the messages, or raises as the read did)."""
        entry = self._fills.get(room)
        if entry is None or entry.shared is None or entry.shared.done():
            return None
        if entry.shared_since != entry.changes:
            return None
        if entry.shared.get_loop() is not asyncio.get_running_loop():
            return None
        return entry.shared

    def begin_fill(self, room: str, *, shared: asyncio.Future | None = None) -> int:
        """Before reading a room's tail from the store: returns a token for `fill`, which
        must follow (with None when the read failed). `shared`, a future the reader will
        resolve with the read's result, is handed to later readers by `read_to_share`."""
        entry = self._fills.setdefault(room, _Fills())
        entry.reads += 1
        if shared is not None:
            entry.shared, entry.shared_since = shared, entry.changes
        return entry.changes

    def fill(self, room: str, token: int, messages: list[Message] | None) -> None:
        """Keep what the store returned (the room's newest `size` messages or fewer), unless
        the read failed (None) or the room changed while it was being read."""
        entry = self._fills[room]
        changed = entry.changes != token
        entry.reads -= 1
        if entry.reads == 0:
            del self._fills[room]
        if messages is None or changed or room in self._rooms:
            return
        tail = _Tail(deque(messages[-self.size :], maxlen=self.size), len(messages) < self.size)
        tail.size_bytes = ROOM_OVERHEAD_BYTES + sum(_size(message) for message in tail.messages)
        self._rooms[room] = tail
        self.size_bytes += tail.size_bytes
        self._shrink()

    def appended(self, message: Message) -> None:
        """A message of this process was stored: it is the room's newest."""
        if message.room in self._fills:
            self._fills[message.room].changes += 1
        tail = self._rooms.get(message.room)
        if tail is None:
            return
        if tail.messages and message.id <= tail.messages[-1].id:
            return  # a read that ended while its batch was being delivered has it already
        if len(tail.messages) == self.size:
            dropped = tail.messages[0]
            tail.size_bytes -= _size(dropped)
            self.size_bytes -= _size(dropped)
            tail.complete = False
        tail.messages.append(message)
        tail.size_bytes += _size(message)
        self.size_bytes += _size(message)
        self._shrink()

    def forget(self, room: str) -> None:
        """The room's history changed other than by a new message: read it again next time."""
        if room in self._fills:
            self._fills[room].changes += 1
        tail = self._rooms.pop(room, None)
        if tail is not None:
            self.size_bytes -= tail.size_bytes

    def _shrink(self) -> None:
        while self.size_bytes > self.max_bytes and self._rooms:
            _room, tail = self._rooms.popitem(last=False)
            self.size_bytes -= tail.size_bytes
