"""The HarperDB gateway against a real HarperDB."""

import time
import uuid

import pytest

from messaging.harperdb import HarperDBClient, HarperDBError, HarperDBUnavailable, get_client
from messaging.local_harperdb import free_port
from messaging.store import Message, MessageIdClock, harperdb_store

pytestmark = pytest.mark.usefixtures("harperdb_settings")


def make_messages(room: str, count: int, clock: MessageIdClock | None = None) -> list[Message]:
    clock = clock or MessageIdClock()
    messages = []
    for number in range(count):
        message_id, created_ms = clock.next(room)
        messages.append(
            Message(
                id=message_id,
                room=room,
                username="ana",
                message=f"m{number}",
                created_ms=created_ms,
            )
        )
    return messages


def test_bootstrap_twice_is_fine():
    store = harperdb_store()
    store.bootstrap()
    store.bootstrap()
    described = get_client().describe_table(database=store.database, table=store.table)
    indexed = {a["attribute"] for a in described["attributes"] if a.get("indexed")}
    assert {"id", "client_key"} <= indexed
    assert "message" not in indexed


def test_batch_insert_then_read_back_the_same_messages():
    room = f"room-{uuid.uuid4()}"
    messages = make_messages(room, 5)
    result = harperdb_store().insert(messages)
    assert sorted(result.inserted) == sorted(m.id for m in messages)
    assert harperdb_store().latest(room=room, limit=10) == messages


def test_inserting_an_existing_id_is_skipped_not_overwritten():
    room = f"room-{uuid.uuid4()}"
    [original] = make_messages(room, 1)
    harperdb_store().insert([original])
    forged = Message(**{**original.__dict__, "message": "changed"})
    result = harperdb_store().insert([forged])
    assert result.skipped == [original.id]
    assert harperdb_store().latest(room=room, limit=1) == [original]


def test_latest_returns_the_newest_n_oldest_first():
    room = f"room-{uuid.uuid4()}"
    messages = make_messages(room, 30)
    harperdb_store().insert(messages)
    assert harperdb_store().latest(room=room, limit=10) == messages[-10:]


def test_before_pages_back_without_gaps_or_repeats():
    room = f"room-{uuid.uuid4()}"
    messages = make_messages(room, 25)
    harperdb_store().insert(messages)
    seen, before = [], messages[-1].id
    while page := harperdb_store().before(room=room, before_id=before, limit=7):
        seen = page + seen
        before = page[0].id
    assert seen == messages[:-1]


@pytest.mark.parametrize(
    "room",
    ["it's", 'say "hi"', "*", "%", "x' OR '1'='1", "日本語 チャット", "back\\slash", "a|b", "😀"],
)
def test_awkward_room_names_return_only_their_own_rows(room):
    store = harperdb_store()
    neighbour = f"neighbour-{uuid.uuid4()}"
    clock = MessageIdClock()
    ours = make_messages(room + str(uuid.uuid4()), 3, clock)
    theirs = make_messages(neighbour, 3, clock)
    store.insert(ours + theirs)
    assert store.latest(room=ours[0].room, limit=100) == ours


def test_client_keys_find_the_stored_message():
    room = f"room-{uuid.uuid4()}"
    clock = MessageIdClock()
    message_id, created_ms = clock.next(room)
    message = Message(
        id=message_id,
        room=room,
        username="Ana",
        message="hi",
        created_ms=created_ms,
        client_id="c-1",
    )
    harperdb_store().insert([message])
    key = message.to_record()["client_key"]
    assert harperdb_store().find_by_client_keys([key, "missing"]) == {key: message}


def test_delete_removes_the_message():
    room = f"room-{uuid.uuid4()}"
    messages = make_messages(room, 2)
    harperdb_store().insert(messages)
    assert harperdb_store().delete(messages[0].id)
    assert harperdb_store().latest(room=room, limit=10) == messages[1:]


def test_harperdb_errors_carry_harperdbs_message():
    with pytest.raises(HarperDBError) as raised:
        get_client().describe_table(database="no_such_database", table="messages")
    assert "does not exist" in raised.value.message


def test_a_harperdb_that_is_down_fails_fast_with_our_exception():
    client = HarperDBClient(
        url=f"http://127.0.0.1:{free_port()}", username="u", password="p", timeout=1.0
    )
    started = time.monotonic()
    with pytest.raises(HarperDBUnavailable):
        client.ping()
    assert time.monotonic() - started < 5


def test_a_harperdb_that_never_answers_times_out_with_our_exception():
    import socket

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        client = HarperDBClient(
            url=f"http://127.0.0.1:{port}", username="u", password="p", timeout=0.5
        )
        with pytest.raises(HarperDBUnavailable):
            client.ping()
