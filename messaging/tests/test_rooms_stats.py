"""Message figures of many rooms at once, in a bounded number of HarperDB requests."""

import pytest

from messaging import backend
from messaging.harperdb import get_client
from messaging.selectors import ROOMS_PER_READ, RoomMessageStats, message_rooms_stats
from messaging.store import InMemoryMessageStore, harperdb_store
from messaging.tests.factories import make_messages


@pytest.fixture(params=["in_memory", "harperdb"])
def store(request):
    if request.param == "harperdb":
        request.getfixturevalue("harperdb_settings")
        return harperdb_store()
    return InMemoryMessageStore()


def test_created_times_by_room_gives_each_room_its_own_times_oldest_first(store, room):
    rooms = [f"{room}-{n}" for n in range(3)] + [f"{room}|x", "it's"]
    messages = {name: make_messages(name, count) for count, name in enumerate(rooms[:3])}
    store.insert([message for batch in messages.values() for message in reversed(batch)])
    times = store.created_times_by_room(rooms=rooms[:4])
    assert times == {
        **{name: [m.created_ms for m in batch] for name, batch in messages.items()},
        f"{room}|x": [],
    }


def test_created_times_by_room_of_no_rooms_is_empty(store):
    assert store.created_times_by_room(rooms=[]) == {}


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
