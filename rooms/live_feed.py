"""The admin's live picture: presence and message changes, sent through the channel layer.

Services publish here after their work is done; the live rooms consumer relays the events
to staff browsers. With REDIS_URL set the channel layer is channels-redis, so every server
process's changes reach every staff browser.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from channels.layers import get_channel_layer

from rooms.presence import presence

if TYPE_CHECKING:
    from messaging.store import Message

LIVE_ROOMS_GROUP = "live-rooms"


def room_people(room: str) -> list[dict[str, Any]]:
    """Who is in `room` now: username, since when (ms), how many connections."""
    return [
        {
            "username": person.username,
            "since": int(person.since * 1000),
            "connections": len(person.connections),
        }
        for person in presence.roster(room=room)
    ]


async def _publish(event: dict[str, Any]) -> None:
    await get_channel_layer().group_send(LIVE_ROOMS_GROUP, {"type": "live.event", "event": event})


async def live_presence_changed(room: str) -> None:
    await _publish({"kind": "presence", "room": room, "people": room_people(room)})


async def live_message_posted(message: Message) -> None:
    await _publish({"kind": "message", "room": message.room, "created_ms": message.created_ms})


async def live_message_deleted(room: str, message_id: str) -> None:
    await _publish({"kind": "message_deleted", "room": room, "id": message_id})


async def live_room_changed(room: str, *, is_open: bool) -> None:
    await _publish({"kind": "room", "room": room, "open": is_open})
