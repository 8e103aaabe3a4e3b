"""Message figures of many rooms at once, in a bounded number of HarperDB requests."""

from messaging import backend
from messaging.harperdb import get_client
from messaging.selectors import ROOMS_PER_READ, RoomMessageStats, message_rooms_stats
from messaging.store import harperdb_store
from messaging.tests.factories import make_messages


async def test_the_stats_of_many_rooms_take_one_request_per_rooms_per_read(
    harperdb_settings, monkeypatch, room
):
    store = harperdb_store()
    monkeypatch.setattr(backend, "message_store", lambda: store)
    rooms = [f"{room}-{n}" for n in range(ROOMS_PER_READ + 1)]
    batch = make_messages(rooms[-1], 2)
    store.insert(batch)
    sent = get_client().requests_sent
    stats = await message_rooms_stats(rooms=rooms, now_ms=batch[-1].created_ms)
    assert get_client().requests_sent - sent == 2
    assert stats[rooms[0]] == RoomMessageStats(total=0, last_hour=0, last_message_ms=None)
    assert stats[rooms[-1]] == RoomMessageStats(
        total=2, last_hour=2, last_message_ms=batch[-1].created_ms
    )
