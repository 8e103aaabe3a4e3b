"""Reading history: index-aligned range reads, run off the event loop."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from django.conf import settings

from chatsite.errors import ChatError, ErrorCode
from chatsite.futures import mark_exception_seen
from messaging import backend
from messaging.history_tail import HistoryTail
from messaging.store import Message, message_id_in_room

BEFORE_NOT_IN_ROOM = "`before` must be the id of a message of your room."
HISTORY_UNAVAILABLE = "Chat history cannot be read right now; please try again shortly."
HOUR_MS = 3_600_000


async def message_store_ping(*, seconds: float) -> None:
    """Raise (HarperDBError) unless the message store answers within `seconds`."""
    await backend.in_harperdb_pool(backend.message_store().ping, timeout=seconds)


async def message_list_recent(*, room: str, limit: int | None = None) -> list[Message]:
    """The room's latest messages, oldest first."""
    limit = limit or settings.CHAT_HISTORY_LIMIT
    tail = backend.history_tail()
    if tail is None:
        return await _read_latest(room=room, limit=limit)
    if (known := tail.recent(room, limit)) is not None:
        return known
    if limit <= tail.size and (shared := tail.read_to_share(room)) is not None:
        try:
            return (await asyncio.shield(shared))[-limit:]
        except asyncio.CancelledError:
            if not shared.cancelled():
                raise  # this join was cancelled, not the read: otherwise read for this one
    return (await _fill_tail(tail, room=room, read=max(limit, tail.size)))[-limit:]


async def _read_latest(*, room: str, limit: int) -> list[Message]:
    store = backend.message_store()
    return await backend.store_call(
        store.latest, room=room, limit=limit, unavailable=HISTORY_UNAVAILABLE
    )


async def _fill_tail(tail: HistoryTail, *, room: str, read: int) -> list[Message]:
    """Read the room's newest `read` messages into its tail, for whoever waits on it too."""
    shared = asyncio.get_running_loop().create_future()
    shared.add_done_callback(mark_exception_seen)
    token = tail.begin_fill(room, shared=shared if read == tail.size else None)
    messages = None
    try:
        messages = await _read_latest(room=room, limit=read)
    except asyncio.CancelledError:
        shared.cancel()
        raise
    except BaseException as error:
        shared.set_exception(error)
        raise
    finally:
        tail.fill(room, token, messages)
    shared.set_result(messages)
    return messages


async def message_find(*, room: str, message_id: str) -> Message | None:
    """The message `message_id` of `room`, or None."""
    if not message_id_in_room(message_id, room):
        return None
    store = backend.message_store()
    return await backend.store_call(store.find, message_id, unavailable=HISTORY_UNAVAILABLE)


async def message_list_before(
    *, room: str, before_id: str, limit: int
) -> tuple[list[Message], bool]:
    """Up to `limit` messages strictly older than `before_id`, oldest first, and whether
    there are more before those."""
    if not message_id_in_room(before_id, room):
        raise ChatError(ErrorCode.INVALID_PAYLOAD, BEFORE_NOT_IN_ROOM)
    store = backend.message_store()
    page = await backend.store_call(
        store.before,
        room=room,
        before_id=before_id,
        limit=limit + 1,
        unavailable=HISTORY_UNAVAILABLE,
    )
    return page[-limit:], len(page) > limit


@dataclass(frozen=True)
class RoomMessageStats:
    total: int
    last_hour: int
    last_message_ms: int | None

    @classmethod
    def of(cls, times: list[int], *, now_ms: int) -> RoomMessageStats:
        """The stats of a room whose messages were posted at `times`, oldest first."""
        return cls(
            total=len(times),
            last_hour=sum(1 for created_ms in times if created_ms >= now_ms - HOUR_MS),
            last_message_ms=times[-1] if times else None,
        )


async def message_room_stats(*, room: str, now_ms: int) -> RoomMessageStats:
    """Counts for the admin's live view, from one read of the room's message ids."""
    store = backend.message_store()
    times = await backend.store_call(
        store.created_times, room=room, unavailable=HISTORY_UNAVAILABLE
    )
    return RoomMessageStats.of(times, now_ms=now_ms)


ROOMS_PER_READ = 100  # id ranges in one HarperDB request: keeps each request small


async def message_rooms_stats(*, rooms: list[str], now_ms: int) -> dict[str, RoomMessageStats]:
    """`message_room_stats` of many rooms: one read of ids per ROOMS_PER_READ rooms."""
    store = backend.message_store()
    stats: dict[str, RoomMessageStats] = {}
    for start in range(0, len(rooms), ROOMS_PER_READ):
        times = await backend.store_call(
            store.created_times_by_room,
            rooms=rooms[start : start + ROOMS_PER_READ],
            unavailable=HISTORY_UNAVAILABLE,
        )
        stats.update({room: RoomMessageStats.of(t, now_ms=now_ms) for room, t in times.items()})
    return stats
