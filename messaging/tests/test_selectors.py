"""What the admin's live view counts for a room."""

from messaging import selectors
from messaging.selectors import RoomMessageStats, message_room_stats
from messaging.store import InMemoryMessageStore, MessageIdClock
from messaging.tests.factories import make_messages

HOUR_MS = 3_600_000


def test_room_stats_count_all_messages_those_of_the_last_hour_and_the_last_time(
    monkeypatch, room, server_clock
):
    store = InMemoryMessageStore()
    monkeypatch.setattr(selectors, "message_store", lambda: store)
    clock = MessageIdClock()
    old = make_messages(room, 2, clock=clock)
    server_clock.ms += 2 * HOUR_MS
    recent = make_messages(room, 3, clock=clock)
    store.insert(old + recent + make_messages(f"other-{room}", 4, clock=clock))

    stats = message_room_stats(room=room, now_ms=server_clock.ms)

    assert stats == RoomMessageStats(total=5, last_hour=3, last_message_ms=recent[-1].created_ms)


def test_an_empty_room_has_no_last_message(monkeypatch, room):
    monkeypatch.setattr(selectors, "message_store", InMemoryMessageStore)
    assert message_room_stats(room=room, now_ms=0) == RoomMessageStats(0, 0, None)
