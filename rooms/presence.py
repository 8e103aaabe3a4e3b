"""Who is in which room right now, per person (several connections of one person are one entry).

This is the in-process implementation: one server process holds the whole truth. Its small
interface (`join`, `ensure_available`, `member`, `detach`, `remove`, `roster`, `size`,
`find`, `room_counts`) is all the rest of the code uses, so a shared implementation for
several processes can replace it without touching callers. Every operation but `roster` and
`room_counts` takes the same time however many people a room holds.
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


class InProcessPresence:
    def __init__(self) -> None:
        self._rooms: dict[str, dict[str, Person]] = {}  # room -> id -> person, in join order
        # room -> a key of each person's name (see `_name_keys`) -> that person
        self._names: dict[str, dict[tuple[str, str], Person]] = {}
        self._members: dict[str, Person] = {}  # connection -> the person it belongs to

    @staticmethod
    def _name_keys(username: str) -> tuple[tuple[str, str], tuple[str, str]]:
        """Two names are one (`rooms.names.same_name`) when either of these keys is equal."""
        return ("case", name_key(username)), ("look", look_key(username))

    def _holder(self, room: str, username: str) -> Person | None:
        names = self._names.get(room, {})
        for key in self._name_keys(username):
            if key in names:
                return names[key]
        return None

    def join(self, *, room: str, username: str, person_key: str, connection: str) -> JoinOutcome:
        """Attach a connection to its person in `room`; refuse a username another person holds.

        A person whose last connection went away moments ago (still in the grace period)
        is the same person again, not a newcomer; for people without a Django session,
        the one who reclaims the username in that window is taken to be them.
        """
        self.ensure_available(room=room, username=username, person_key=person_key)
        holder = self._holder(room, username)
        if holder is not None:
            holder.person_key = person_key
            if holder.departure is not None:
                holder.departure.cancel()
                holder.departure = None
            holder.connections.add(connection)
            self._members[connection] = holder
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
        self._members[connection] = person
        return JoinOutcome(person=person, is_new=True)

    def ensure_available(self, *, room: str, username: str, person_key: str) -> None:
        """Raise `username_taken` unless this person may use `username` in `room`."""
        holder = self._holder(room, username)
        if holder is None or holder.person_key == person_key:
            return
        returning_without_session = (
            not holder.connections
            and is_sessionless(holder.person_key)
            and is_sessionless(person_key)
        )
        if not returning_without_session:
            raise ChatError(ErrorCode.USERNAME_TAKEN, USERNAME_TAKEN)

    def member(self, *, connection: str) -> Person | None:
        """The person a connection is in a room as, or None when it is in no room."""
        return self._members.get(connection)

    def detach(self, *, connection: str) -> Person | None:
        """Take a connection out of its room; returns its person when that was their last one."""
        person = self._members.pop(connection, None)
        if person is None:
            return None
        person.connections.discard(connection)
        return None if person.connections else person

    def remove(self, person: Person) -> bool:
        """Drop a person from the roster unless they came back; True when they were removed."""
        people = self._rooms.get(person.room, {})
        if people.get(person.id) is not person or person.connections:
            return False
        del people[person.id]
        names = self._names[person.room]
        for key in self._name_keys(person.username):
            if names.get(key) is person:
                del names[key]
        if not people:
            del self._rooms[person.room], self._names[person.room]
        return True

    def roster(self, *, room: str) -> list[Person]:
        """The room's people in join order."""
        return list(self._rooms.get(room, {}).values())

    def size(self, *, room: str) -> int:
        """How many people are in `room`."""
        return len(self._rooms.get(room, {}))

    def find(self, *, room: str, username: str) -> Person | None:
        return self._holder(room, username)

    def room_counts(self) -> dict[str, int]:
        return {room: len(people) for room, people in self._rooms.items()}


presence = InProcessPresence()
