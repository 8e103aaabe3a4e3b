"""Who is in which room right now, per person (several connections of one person are one entry).

Two implementations of one small interface (`join`, `ensure_available`, `member`, `detach`,
`remove`, `evict`, `forget`, `here`, `roster`, `size`, `find`, `connection_counts`,
`room_counts`): `InProcessPresence` here, where one server process holds the whole truth,
and `rooms.redis_presence.RedisPresence`, shared by every process on REDIS_URL. Reads and
changes are coroutines (the shared one asks Redis); which person a connection is in a room as
(`member`, `here`, `forget`) is always the holding process's own knowledge, so it is not.
Every operation but `roster`, `connection_counts` and `room_counts` takes the same time
however many people a room holds.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass, field

from chatsite.errors import ChatError, ErrorCode
from rooms.identity import is_sessionless
from rooms.names import look_key, name_key

USERNAME_TAKEN = "That username is already used in this room; pick another."


@dataclass(eq=False)
class Person:
    """One person in one room: a roster entry, with the connections that keep it there."""

    id: str
    username: str
    room: str
    person_key: str
    since: float
    connections: set[str] = field(default_factory=set)
    departure: asyncio.Task | None = None
    # Names the grace period `departure` waits out, where a shared presence needs to tell it
    # from a later one (the person came back and left again, maybe on another process).
    departure_token: str = ""
    _roster_entry: dict[str, str] | None = field(default=None, repr=False)

    def as_roster_entry(self) -> dict[str, str]:
        """The wire's roster entry (built once: a person's id, name and room never change)."""
        if self._roster_entry is None:
            self._roster_entry = {"id": self.id, "username": self.username, "room": self.room}
        return self._roster_entry


@dataclass(frozen=True)
class JoinOutcome:
    person: Person
    is_new: bool


def name_keys(username: str) -> tuple[tuple[str, str], tuple[str, str]]:
    """Two names are one (`rooms.names.same_name`) when either of these keys is equal."""
    return ("case", name_key(username)), ("look", look_key(username))


def username_taken() -> ChatError:
    return ChatError(ErrorCode.USERNAME_TAKEN, USERNAME_TAKEN)


class LocalMembers:
    """Which person each of this process's connections is in a room as."""

    def __init__(self) -> None:
        self._members: dict[str, Person] = {}  # connection -> the person it belongs to
        self._connections_of: dict[str, set[str]] = {}  # person id -> their connections here

    def _hold(self, connection: str, person: Person) -> None:
        self._members[connection] = person
        self._connections_of.setdefault(person.id, set()).add(connection)

    def _release(self, connection: str) -> Person | None:
        person = self._members.pop(connection, None)
        if person is not None:
            held = self._connections_of[person.id]
            held.discard(connection)
            if not held:
                del self._connections_of[person.id]
        return person

    def member(self, *, connection: str) -> Person | None:
        """The person a connection is in a room as, or None when it is in no room."""
        return self._members.get(connection)

    def here(self, *, person_id: str) -> list[str]:
        """This process's connections of the person `person_id`."""
        return list(self._connections_of.get(person_id, ()))

    def forget(self, *, connection: str) -> None:
        """The connection is in no room any more (its person was evicted)."""
        self._release(connection)


class InProcessPresence(LocalMembers):
    def __init__(self) -> None:
        super().__init__()
        self._rooms: dict[str, dict[str, Person]] = {}  # room -> id -> person, in join order
        # room -> a key of each person's name (see `name_keys`) -> that person
        self._names: dict[str, dict[tuple[str, str], Person]] = {}

    _name_keys = staticmethod(name_keys)

    def _holder(self, room: str, username: str) -> Person | None:
        names = self._names.get(room, {})
        for key in self._name_keys(username):
            if key in names:
                return names[key]
        return None

    async def join(
        self, *, room: str, username: str, person_key: str, connection: str
    ) -> JoinOutcome:
        """Attach a connection to its person in `room`; refuse a username another person holds.

        A person whose last connection went away moments ago (still in the grace period)
        is the same person again, not a newcomer; for people without a Django session,
        the one who reclaims the username in that window is taken to be them.
        """
        self._check_available(room=room, username=username, person_key=person_key)
        holder = self._holder(room, username)
        if holder is not None:
            holder.person_key = person_key
            if holder.departure is not None:
                holder.departure.cancel()
                holder.departure = None
            holder.connections.add(connection)
            self._hold(connection, holder)
            return JoinOutcome(person=holder, is_new=False)
        person = Person(
            id=secrets.token_urlsafe(9),
            username=username,
            room=room,
            person_key=person_key,
            since=time.time(),
            connections={connection},
        )
        self._rooms.setdefault(room, {})[person.id] = person
        names = self._names.setdefault(room, {})
        for key in self._name_keys(username):
            names.setdefault(key, person)
        self._hold(connection, person)
        return JoinOutcome(person=person, is_new=True)

    async def ensure_available(self, *, room: str, username: str, person_key: str) -> None:
        """Raise `username_taken` unless this person may use `username` in `room`."""
        self._check_available(room=room, username=username, person_key=person_key)

    def _check_available(self, *, room: str, username: str, person_key: str) -> None:
        holder = self._holder(room, username)
        if holder is None or holder.person_key == person_key:
            return
        returning_without_session = (
            not holder.connections
            and is_sessionless(holder.person_key)
            and is_sessionless(person_key)
        )
        if not returning_without_session:
            raise username_taken()

    async def detach(self, *, connection: str) -> Person | None:
        """Take a connection out of its room; returns its person when that was their last one."""
        person = self._release(connection)
        if person is None:
            return None
        person.connections.discard(connection)
        return None if person.connections else person

    async def remove(self, person: Person) -> bool:
        """Drop a person from the roster unless they came back; True when they were removed."""
        if person.connections:
            return False
        return self._drop(person)

    async def evict(self, person: Person) -> bool:
        """Drop a person from the roster whatever connections they have (a moderator's
        removal); each process then `forget`s its connections of them. True when they
        were still listed."""
        if person.departure is not None:
            person.departure.cancel()
            person.departure = None
        person.connections.clear()
        return self._drop(person)

    def _drop(self, person: Person) -> bool:
        people = self._rooms.get(person.room, {})
        if people.get(person.id) is not person:
            return False
        del people[person.id]
        names = self._names[person.room]
        for key in self._name_keys(person.username):
            if names.get(key) is person:
                del names[key]
        if not people:
            del self._rooms[person.room], self._names[person.room]
        return True

    async def roster(self, *, room: str) -> list[Person]:
        """The room's people in join order."""
        return list(self._rooms.get(room, {}).values())

    async def connection_counts(self, *, room: str) -> dict[str, int]:
        """Person id -> how many connections keep them in `room`."""
        return {person.id: len(person.connections) for person in self._rooms.get(room, {}).values()}

    async def size(self, *, room: str) -> int:
        """How many people are in `room`."""
        return len(self._rooms.get(room, {}))

    async def find(self, *, room: str, username: str) -> Person | None:
        return self._holder(room, username)

    async def room_counts(self) -> dict[str, int]:
        return {room: len(people) for room, people in self._rooms.items()}


def _make_presence():
    from django.conf import settings

    if not settings.REDIS_URL:
        return InProcessPresence()
    from rooms.redis_presence import RedisPresence

    return RedisPresence()


presence = _make_presence()
