"""What the admin's live view counts for a room."""

from messaging.selectors import RoomMessageStats, message_room_stats
from messaging.store import MessageIdClock
from messaging.tests.factories import make_messages

HOUR_MS = 3_600_000


async def test_room_stats_count_all_messages_those_of_the_last_hour_and_the_last_time(
    memory_store, room, server_clock
):
    clock = MessageIdClock()
    old = make_messages(room, 2, clock=clock)
    server_clock.ms += 2 * HOUR_MS
    recent = make_messages(room, 3, clock=clock)
    memory_store.insert(old + recent + make_messages(f"other-{room}", 4, clock=clock))

    stats = await message_room_stats(room=room, now_ms=server_clock.ms)

    assert stats == RoomMessageStats(total=5, last_hour=3, last_message_ms=recent[-1].created_ms)


async def test_an_empty_room_has_no_last_message(memory_store, room):
    assert await message_room_stats(room=room, now_ms=0) == RoomMessageStats(0, 0, None)
