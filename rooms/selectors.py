"""Reading rooms and who is in them."""

from __future__ import annotations

from dataclasses import dataclass

from rooms.models import Room
from rooms.presence import presence


def roster_list(*, room: str) -> list[dict[str, str]]:
    """The room's people in join order, as the wire's `chatroom_users` entries."""
    return [person.as_roster_entry() for person in presence.roster(room=room)]


@dataclass(frozen=True)
class RoomListing:
    room: Room
    people: int


def room_list_open() -> list[RoomListing]:
    """Open rooms, oldest first, with how many people are in each right now."""
    counts = presence.room_counts()
    return [
        RoomListing(room=room, people=counts.get(room.name, 0))
        for room in Room.objects.filter(is_closed=False)
    ]
