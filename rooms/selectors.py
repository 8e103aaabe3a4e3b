"""Reading rooms, who is in them, and a member's view of their room's history."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from asgiref.sync import async_to_sync
from django.db.models import F, Q
from django.utils import timezone

from chatsite.errors import ChatError, ErrorCode
from messaging.selectors import message_list_before
from messaging.store import Message
from rooms.models import Room, RoomBan
from rooms.names import look_key, name_key
from rooms.presence import Person, presence

NOT_IN_ROOM = "Join a room first."


async def roster_list(*, room: str) -> list[dict[str, str]]:
    """The room's people in join order, as the wire's `chatroom_users` entries."""
    return [person.as_roster_entry() for person in await presence.roster(room=room)]


async def room_people(*, room: str) -> list[dict[str, Any]]:
    """Who is in `room` now, for staff: username, since when (ms), how many connections."""
    connections = await presence.connection_counts(room=room)
    return [
        {
            "username": person.username,
            "since": int(person.since * 1000),
            "connections": connections.get(person.id, 0),
        }
        for person in await presence.roster(room=room)
    ]


def room_member(*, connection: str) -> Person:
    """The person `connection` is in a room as; `not_in_room` when it is in none."""
    person = presence.member(connection=connection)
    if person is None:
        raise ChatError(ErrorCode.NOT_IN_ROOM, NOT_IN_ROOM)
    return person


def room_current(*, connection: str) -> str | None:
    """The room `connection` is in, or None."""
    person = presence.member(connection=connection)
    return None if person is None else person.room


@dataclass(frozen=True)
class RoomListing:
    room: Room
    people: int


def room_list_open() -> list[RoomListing]:
    """Open rooms, oldest first, with how many people are in each right now."""
    counts = async_to_sync(presence.room_counts)()
    return [
        RoomListing(room=room, people=counts.get(room.name, 0))
        for room in Room.objects.filter(is_closed=False)
    ]


def room_find(*, name: str) -> Room | None:
    """The room called `name` in any letter case, open or closed."""
    return Room.objects.filter(name_key=name_key(name)).first()


def room_ban_in_force(*, room: Room, username: str, person_key: str) -> RoomBan | None:
    """The ban that keeps this person, or this name in any spelling, out of `room` now;
    the one that lasts longest when there are several."""
    holds = Q(username_key=name_key(username)) | Q(username_look_key=look_key(username))
    if person_key:
        holds |= Q(person_key=person_key)
    in_force = Q(until__isnull=True) | Q(until__gt=timezone.now())
    bans = RoomBan.objects.filter(holds, in_force, room=room)
    return bans.order_by(F("until").desc(nulls_first=True)).first()


async def room_history_before(
    *, connection: str, before_id: str, limit: int
) -> tuple[list[Message], bool]:
    """A page of the connection's room's history strictly older than `before_id`."""
    person = room_member(connection=connection)
    return await message_list_before(room=person.room, before_id=before_id, limit=limit)
