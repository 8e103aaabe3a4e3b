"""Where chat messages are kept: the HarperDB table, and an in-memory twin for unit tests.

A message's primary key is `<room key>|<13-digit ms>|<6-digit sequence>|<node>`: all of
a room's messages share one key prefix and sort by time, so "the latest 100" and "the
100 before X" are one range read on the primary index, sorted by that index, never a
scan or sort of the room's whole history.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from django.conf import settings

from messaging.harperdb import HarperDBClient, InsertResult, get_client

ROOM_KEY_END = "~"  # sorts after every character used in a key's tail
NODE = secrets.token_hex(2)  # keeps ids of several server processes apart

MESSAGE_ATTRIBUTES = [
    {"name": "id", "type": "String", "indexed": True},
    {"name": "room", "type": "String"},
    {"name": "username", "type": "String"},
    {"name": "message", "type": "String"},
    {"name": "created_ms", "type": "Float"},
    {"name": "client_id", "type": "String"},
    {"name": "client_key", "type": "String", "indexed": True},
    {"name": "edited_ms", "type": "Float"},
]


def room_key(room: str) -> str:
    """A fixed-width key for a room name of any script (never its raw text)."""
    return hashlib.sha256(room.encode("utf-8")).hexdigest()[:24]


def client_key(*, room: str, username: str, client_id: str) -> str:
    """Scopes an idempotency key to its author and room, so nobody can replay another's."""
    raw = f"{room}\x00{username.casefold()}\x00{client_id}"
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Message:
    id: str
    room: str
    username: str
    message: str
    created_ms: int
    client_id: str | None = None
    edited_ms: int | None = None  # when its author last edited it

    def to_payload(self) -> dict[str, Any]:
        """The wire shape, the same live and in history."""
        payload: dict[str, Any] = {
            "id": self.id,
            "room": self.room,
            "username": self.username,
            "message": self.message,
            "__createdtime__": self.created_ms,
        }
        if self.client_id is not None:
            payload["client_id"] = self.client_id
        if self.edited_ms is not None:
            payload["edited_ms"] = self.edited_ms
        return payload

    def to_record(self) -> dict[str, Any]:
        record: dict[str, Any] = {
            "id": self.id,
            "room": self.room,
            "username": self.username,
            "message": self.message,
            "created_ms": self.created_ms,
        }
        if self.client_id is not None:
            record["client_id"] = self.client_id
            record["client_key"] = self.idempotency_key
        if self.edited_ms is not None:
            record["edited_ms"] = self.edited_ms
        return record

    @property
    def idempotency_key(self) -> str | None:
        if self.client_id is None:
            return None
        return client_key(room=self.room, username=self.username, client_id=self.client_id)

    @classmethod
    def compose(
        cls, *, room: str, username: str, text: str, client_id: str | None, clock: MessageIdClock
    ) -> Message:
        """A new message with the server's id and time from `clock`."""
        message_id, created_ms = clock.next(room)
        return cls(
            id=message_id,
            room=room,
            username=username,
            message=text,
            created_ms=created_ms,
            client_id=client_id,
        )

    def edited(self, text: str, *, edited_ms: int) -> Message:
        """The same message with its author's new text."""
        return replace(self, message=text, edited_ms=edited_ms)

    def moved_to(self, room: str) -> Message:
        """The same message in another room (after a rename): same time, same order."""
        tail = self.id.split("|", 1)[1]
        return replace(self, id=f"{room_key(room)}|{tail}", room=room)

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Message:
        return cls(
            id=record["id"],
            room=record["room"],
            username=record["username"],
            message=record["message"],
            created_ms=int(record["created_ms"]),
            client_id=record.get("client_id"),
            edited_ms=None if record.get("edited_ms") is None else int(record["edited_ms"]),
        )


@dataclass
class MessageIdClock:
    """Hands out ids in strictly increasing order per process, from the server's clock."""

    _last_ms: int = 0
    _sequence: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def next(self, room: str) -> tuple[str, int]:
        with self._lock:
            now = int(time.time() * 1000)
            if now > self._last_ms:
                self._last_ms, self._sequence = now, 0
            else:
                self._sequence += 1
            created_ms, sequence = self._last_ms, self._sequence
        return message_id(room, created_ms, sequence), created_ms


def message_id(room: str, created_ms: int, sequence: int) -> str:
    """The id of a room's message given at `created_ms`, the `sequence`th in that ms."""
    return f"{room_key(room)}|{created_ms:013d}|{sequence:06d}|{NODE}"


def message_id_in_room(message_id: str, room: str) -> bool:
    return message_id.startswith(room_key(room) + "|")


def message_id_time(message_id: str) -> int:
    """The server time (ms) a message id was given at."""
    return int(message_id.split("|")[1])


def _id_between(low: str, high: str) -> dict[str, Any]:
    return {"search_attribute": "id", "search_type": "between", "search_value": [low, high]}


class MessageStore(Protocol):
    def bootstrap(self) -> None: ...
    def ping(self, *, timeout: float) -> None: ...
    def insert(self, messages: list[Message]) -> InsertResult: ...
    def latest(self, *, room: str, limit: int) -> list[Message]: ...
    def before(self, *, room: str, before_id: str, limit: int) -> list[Message]: ...
    def find_by_client_keys(self, keys: list[str]) -> dict[str, Message]: ...
    def created_times(self, *, room: str, since_ms: int = 0) -> list[int]: ...
    def created_times_by_room(self, *, rooms: list[str]) -> dict[str, list[int]]: ...
    def find(self, message_id: str) -> Message | None: ...
    def update(self, message: Message) -> bool: ...
    def delete(self, message_id: str) -> bool: ...
    def delete_many(self, message_ids: list[str]) -> None: ...


class HarperDBMessageStore:
    def __init__(self, client: HarperDBClient, *, database: str, table: str):
        self.client = client
        self.database = database
        self.table = table

    def bootstrap(self) -> None:
        """Create the database and table; safe to run any number of times."""
        self.client.create_database(database=self.database)
        self.client.create_table(
            database=self.database,
            table=self.table,
            primary_key="id",
            attributes=MESSAGE_ATTRIBUTES,
        )

    def ping(self, *, timeout: float) -> None:
        """Raise unless HarperDB answers within `timeout` seconds."""
        self.client.ping(timeout=timeout)

    def insert(self, messages: list[Message]) -> InsertResult:
        return self.client.insert(
            database=self.database,
            table=self.table,
            records=[message.to_record() for message in messages],
        )

    def _range(self, *, low: str, high: str, limit: int) -> list[Message]:
        rows = self.client.search_by_conditions(
            database=self.database,
            table=self.table,
            conditions=[_id_between(low, high)],
            sort={"attribute": "id", "descending": True},
            limit=limit,
        )
        return [Message.from_record(row) for row in reversed(rows)]

    def latest(self, *, room: str, limit: int) -> list[Message]:
        prefix = room_key(room) + "|"
        return self._range(low=prefix, high=prefix + ROOM_KEY_END, limit=limit)

    def before(self, *, room: str, before_id: str, limit: int) -> list[Message]:
        # `between` includes its upper bound: ask for one more and drop `before_id` itself.
        rows = self._range(low=room_key(room) + "|", high=before_id, limit=limit + 1)
        return [row for row in rows if row.id != before_id][-limit:]

    def find_by_client_keys(self, keys: list[str]) -> dict[str, Message]:
        """The stored messages whose idempotency key is one of `keys`, in one request."""
        if not keys:
            return {}
        rows = self.client.search_by_conditions(
            database=self.database,
            table=self.table,
            conditions=[
                {"search_attribute": "client_key", "search_type": "equals", "search_value": key}
                for key in keys
            ],
            operator="or" if len(keys) > 1 else "and",
        )
        return {row["client_key"]: Message.from_record(row) for row in rows}

    def created_times(self, *, room: str, since_ms: int = 0) -> list[int]:
        """When each of the room's messages from `since_ms` on was posted, oldest first.

        Reads ids only: a message's time is part of its id."""
        prefix = room_key(room) + "|"
        rows = self.client.search_by_conditions(
            database=self.database,
            table=self.table,
            conditions=[_id_between(f"{prefix}{since_ms:013d}", prefix + ROOM_KEY_END)],
            sort={"attribute": "id"},
            attributes=["id"],
        )
        return [message_id_time(row["id"]) for row in rows]

    def created_times_by_room(self, *, rooms: list[str]) -> dict[str, list[int]]:
        """`created_times` of several rooms, in one request (one id range per room)."""
        if not rooms:
            return {}
        by_key = {room_key(room): room for room in rooms}
        rows = self.client.search_by_conditions(
            database=self.database,
            table=self.table,
            conditions=[_id_between(key + "|", key + "|" + ROOM_KEY_END) for key in by_key],
            operator="or" if len(by_key) > 1 else "and",
            attributes=["id"],
        )
        times: dict[str, list[int]] = {room: [] for room in rooms}
        for row_id in sorted(row["id"] for row in rows):
            times[by_key[row_id.split("|", 1)[0]]].append(message_id_time(row_id))
        return times

    def find(self, message_id: str) -> Message | None:
        """The message with this id, or None."""
        rows = self.client.search_by_id(database=self.database, table=self.table, ids=[message_id])
        return Message.from_record(rows[0]) if rows else None

    def update(self, message: Message) -> bool:
        """Write an edited message's text and edit time; False when there is no such message
        (it is never created)."""
        record = {"id": message.id, "message": message.message, "edited_ms": message.edited_ms}
        return bool(self.client.update(database=self.database, table=self.table, records=[record]))

    def delete(self, message_id: str) -> bool:
        """Delete one message; False when there was no such message."""
        found = self.client.search_by_id(
            database=self.database, table=self.table, ids=[message_id], attributes=["id"]
        )
        if not found:
            return False
        self.delete_many([message_id])
        return True

    def delete_many(self, message_ids: list[str]) -> None:
        self.client.delete(database=self.database, table=self.table, ids=message_ids)


class InMemoryMessageStore:
    """The same contract as HarperDBMessageStore, in a dict: for fast unit tests."""

    def __init__(self) -> None:
        self.rows: dict[str, Message] = {}
        self.insert_calls = 0

    def bootstrap(self) -> None:
        return None

    def ping(self, *, timeout: float) -> None:
        return None

    def insert(self, messages: list[Message]) -> InsertResult:
        self.insert_calls += 1
        inserted, skipped = [], []
        for message in messages:
            (skipped if message.id in self.rows else inserted).append(message.id)
            self.rows.setdefault(message.id, message)
        return InsertResult(inserted=inserted, skipped=skipped)

    def _room_rows(self, room: str) -> list[Message]:
        return sorted(
            (row for row in self.rows.values() if message_id_in_room(row.id, room)),
            key=lambda row: row.id,
        )

    def latest(self, *, room: str, limit: int) -> list[Message]:
        return self._room_rows(room)[-limit:]

    def before(self, *, room: str, before_id: str, limit: int) -> list[Message]:
        return [row for row in self._room_rows(room) if row.id < before_id][-limit:]

    def find_by_client_keys(self, keys: list[str]) -> dict[str, Message]:
        wanted = set(keys)
        found = {}
        for row in self.rows.values():
            if row.client_id is not None:
                if row.idempotency_key in wanted:
                    found[row.idempotency_key] = row
        return found

    def created_times(self, *, room: str, since_ms: int = 0) -> list[int]:
        return [row.created_ms for row in self._room_rows(room) if row.created_ms >= since_ms]

    def created_times_by_room(self, *, rooms: list[str]) -> dict[str, list[int]]:
        return {room: self.created_times(room=room) for room in rooms}

    def find(self, message_id: str) -> Message | None:
        return self.rows.get(message_id)

    def update(self, message: Message) -> bool:
        stored = self.rows.get(message.id)
        if stored is None:
            return False
        self.rows[message.id] = stored.edited(message.message, edited_ms=message.edited_ms)
        return True

    def delete(self, message_id: str) -> bool:
        return self.rows.pop(message_id, None) is not None

    def delete_many(self, message_ids: list[str]) -> None:
        for message_id in message_ids:
            self.rows.pop(message_id, None)


def harperdb_store() -> HarperDBMessageStore:
    return HarperDBMessageStore(
        get_client(), database=settings.HARPERDB_DATABASE, table=settings.HARPERDB_TABLE
    )
