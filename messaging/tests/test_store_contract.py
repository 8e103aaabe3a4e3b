"""The message store contract, run against the in-memory store and a real HarperDB."""

import uuid

import pytest

from messaging.store import (
    InMemoryMessageStore,
    Message,
    MessageIdClock,
    harperdb_store,
)
from messaging.tests.factories import make_message, make_messages

AWKWARD_ROOM_NAMES = [
    "it's",
    'say "hi"',
    "*",
    "%",
    "x' OR '1'='1",
    "日本語 チャット",
    "back\\slash",
    "a|b",
    "😀",
]


@pytest.fixture(params=["in_memory", "harperdb"])
def store(request):
    if request.param == "harperdb":
        request.getfixturevalue("harperdb_settings")
        return harperdb_store()
    return InMemoryMessageStore()


def test_inserted_messages_come_back_oldest_first(store, room):
    messages = make_messages(room, 5)
    result = store.insert(list(reversed(messages)))
    assert sorted(result.inserted) == sorted(message.id for message in messages)
    assert store.latest(room=room, limit=10) == messages


def test_a_message_comes_back_exactly_as_it_was_stored(store, room):
    text = "  <b>bold</b> & 'quotes' \"too\" \\ 日本語 😀\n  "
    message = make_message(room, text, username="Zoë", client_id="c-1")
    store.insert([message])
    [stored] = store.latest(room=room, limit=1)
    assert stored == message
    assert stored.to_payload() == message.to_payload()


def test_latest_returns_only_the_newest_messages(store, room):
    messages = make_messages(room, 30)
    store.insert(messages)
    assert store.latest(room=room, limit=10) == messages[-10:]


def test_a_room_without_messages_has_an_empty_history(store, room):
    assert store.latest(room=room, limit=100) == []


def test_paging_back_walks_the_whole_history_without_gaps_or_repeats(store, room):
    messages = make_messages(room, 25)
    store.insert(messages)
    seen, before = [], messages[-1].id
    while page := store.before(room=room, before_id=before, limit=7):
        assert len(page) <= 7
        seen = page + seen
        before = page[0].id
    assert seen == messages[:-1]


def test_before_returns_the_messages_just_older_than_the_given_one_not_itself(store, room):
    messages = make_messages(room, 10)
    store.insert(messages)
    assert store.before(room=room, before_id=messages[6].id, limit=3) == messages[3:6]
    assert store.before(room=room, before_id=messages[2].id, limit=10) == messages[:2]
    assert store.before(room=room, before_id=messages[0].id, limit=10) == []


@pytest.mark.parametrize("awkward_name", AWKWARD_ROOM_NAMES)
def test_rooms_never_see_each_others_messages(store, awkward_name):
    ours_room = f"{awkward_name} {uuid.uuid4()}"
    theirs_room = f"{uuid.uuid4()} {awkward_name}"
    ours, theirs = make_messages(ours_room, 3), make_messages(theirs_room, 3)
    store.insert(ours + theirs)
    assert store.latest(room=ours_room, limit=100) == ours
    assert store.latest(room=theirs_room, limit=100) == theirs
    assert store.before(room=ours_room, before_id=ours[-1].id, limit=100) == ours[:-1]
    assert store.created_times(room=ours_room) == [m.created_ms for m in ours]


def test_inserting_an_existing_id_is_skipped_not_overwritten(store, room):
    original = make_message(room, "original")
    store.insert([original])
    forged = Message(**{**original.__dict__, "message": "changed"})
    result = store.insert([forged])
    assert result.skipped == [original.id]
    assert result.inserted == []
    assert store.latest(room=room, limit=10) == [original]


def test_a_client_key_finds_the_message_it_was_sent_with(store, room):
    message = make_message(room, client_id="c-1")
    store.insert([message, make_message(room)])
    key = message.idempotency_key
    assert store.find_by_client_keys([key]) == {key: message}


def test_several_client_keys_find_their_messages_in_one_call(store, room):
    messages = [make_message(room, client_id=f"c-{n}") for n in range(3)]
    store.insert([*messages, make_message(room)])
    keys = [message.idempotency_key for message in messages]
    found = store.find_by_client_keys([*keys, "no-such-key"])
    assert found == {message.idempotency_key: message for message in messages}


def test_a_client_id_of_another_person_finds_nothing(store, room):
    store.insert([make_message(room, username="ana", client_id="c-1")])
    someone_else = make_message(room, username="bob", client_id="c-1")
    assert store.find_by_client_keys([someone_else.idempotency_key]) == {}


def test_no_client_keys_find_nothing(store):
    assert store.find_by_client_keys([]) == {}


def test_created_times_are_the_rooms_messages_from_that_moment_on(store, room, server_clock):
    clock = MessageIdClock()
    older = make_messages(room, 2, clock=clock)
    server_clock.ms += 5_000
    newer = make_messages(room, 3, clock=clock)
    store.insert(older + newer + make_messages(f"other-{room}", 4, clock=clock))
    every = [m.created_ms for m in older + newer]
    assert store.created_times(room=room, since_ms=older[0].created_ms) == every
    assert store.created_times(room=room, since_ms=newer[0].created_ms) == every[2:]
    assert store.created_times(room=room, since_ms=newer[0].created_ms + 1) == []


def test_a_deleted_message_is_gone_from_history(store, room):
    messages = make_messages(room, 3)
    store.insert(messages)
    assert store.delete(messages[1].id) is True
    assert store.latest(room=room, limit=10) == [messages[0], messages[2]]
    assert store.before(room=room, before_id=messages[2].id, limit=10) == [messages[0]]


def test_paging_back_from_a_deleted_message_still_finds_the_older_ones(store, room):
    messages = make_messages(room, 6)
    store.insert(messages)
    store.delete(messages[4].id)
    assert store.before(room=room, before_id=messages[4].id, limit=3) == messages[1:4]


def test_deleting_a_message_that_is_not_there_reports_false(store, room):
    assert store.delete(make_message(room).id) is False


def test_find_gives_the_message_with_that_id_or_none(store, room):
    messages = make_messages(room, 2, client_id="c-1")
    store.insert(messages)
    assert store.find(messages[1].id) == messages[1]
    assert store.find(make_message(room).id) is None


def test_an_edited_message_comes_back_with_its_new_text_and_edit_time_only(store, room):
    messages = make_messages(room, 3, client_id="c-1")
    store.insert(messages)
    edited = messages[1].edited("better words \u00e9 😀", edited_ms=messages[1].created_ms + 5)
    assert store.update(edited) is True
    assert store.latest(room=room, limit=10) == [messages[0], edited, messages[2]]
    assert store.before(room=room, before_id=messages[2].id, limit=10) == [messages[0], edited]
    assert store.find(edited.id).to_payload() == {
        **messages[1].to_payload(),
        "message": "better words \u00e9 😀",
        "edited_ms": messages[1].created_ms + 5,
    }


def test_updating_a_message_that_is_not_there_reports_false_and_creates_nothing(store, room):
    ghost = make_message(room).edited("boo", edited_ms=1)
    assert store.update(ghost) is False
    assert store.latest(room=room, limit=10) == []


def test_created_times_by_room_gives_each_room_its_own_times_oldest_first(store, room):
    talked_in = [f"{room}-{n}" for n in range(3)]
    messages = {name: make_messages(name, count) for count, name in enumerate(talked_in)}
    store.insert([message for batch in messages.values() for message in reversed(batch)])
    times = store.created_times_by_room(rooms=[*talked_in, f"{room}|quiet"])
    assert times == {
        **{name: [m.created_ms for m in batch] for name, batch in messages.items()},
        f"{room}|quiet": [],
    }


def test_created_times_by_room_of_no_rooms_is_empty(store):
    assert store.created_times_by_room(rooms=[]) == {}
