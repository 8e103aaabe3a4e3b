"""The staff's live picture of the site, sent through the Channels layer.

Services publish here after their work is done; the live rooms consumer relays the events
to staff browsers. With REDIS_URL set the channel layer is channels-redis, so every server
process's changes reach every staff browser.
"""

from __future__ import annotations

from typing import Any

from channels.layers import get_channel_layer

LIVE_ROOMS_GROUP = "live-rooms"


async def _publish(event: dict[str, Any]) -> None:
    await get_channel_layer().group_send(LIVE_ROOMS_GROUP, {"type": "live.event", "event": event})


async def staff_feed_presence(*, room: str, people: list[dict[str, Any]]) -> None:
    await _publish({"kind": "presence", "room": room, "people": people})


async def staff_feed_messages_posted(posted: list[tuple[str, int]]) -> None:
    """Messages were stored and delivered: (room, created_ms) each, oldest first. One event
    for all of them (a stored batch), with how many each room got and when its last was."""
    rooms: dict[str, dict[str, Any]] = {}
    for room, created_ms in posted:
        entry = rooms.setdefault(room, {"room": room, "count": 0})
        entry["count"] += 1
        entry["created_ms"] = created_ms
    if rooms:
        await _publish({"kind": "messages", "rooms": list(rooms.values())})


async def staff_feed_message_deleted(*, room: str, message_id: str, created_ms: int) -> None:
    """`created_ms`: when the deleted message was posted (it may leave "the last hour")."""
    await _publish(
        {"kind": "message_deleted", "room": room, "id": message_id, "created_ms": created_ms}
    )


async def staff_feed_room(*, room: str, is_open: bool) -> None:
    await _publish({"kind": "room", "room": room, "open": is_open})
