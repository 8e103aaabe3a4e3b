"""Posting, deleting and moving messages: text limits, the server's ids and times, and
HarperDB failures reported as our own `unavailable`."""

import pytest
from django.conf import settings

from chatsite import events
from chatsite.errors import ChatError, ErrorCode
from messaging import backend, services
from messaging.harperdb import HarperDBUnavailable
from messaging.selectors import message_list_recent
from messaging.services import MESSAGE_EMPTY, MESSAGE_TOO_LONG, message_post, message_validate_text
from messaging.store import InMemoryMessageStore, MessageIdClock, message_id_in_room, room_key
from messaging.tests.factories import make_messages


@pytest.fixture
def posted_to(start_writer, monkeypatch):
    """message_post writes through an in-memory store, which this fixture returns."""
    store = InMemoryMessageStore()
    writer = start_writer(store)
    monkeypatch.setattr(services, "message_writer", lambda: writer)
    monkeypatch.setattr(services, "_id_clock", MessageIdClock())  # fresh: sees server_clock
    return store


@pytest.mark.parametrize("text", ["", " ", "\n\t  ", "\u3000"])
def test_a_message_without_any_text_is_refused(text):
    with pytest.raises(ChatError) as raised:
        message_validate_text(text)
    assert raised.value.code == "message_empty"
    assert raised.value.message == MESSAGE_EMPTY


def test_a_message_over_the_length_limit_is_refused():
    limit = settings.CHAT_MESSAGE_MAX_LENGTH
    with pytest.raises(ChatError) as raised:
        message_validate_text("x" * (limit + 1))
    assert raised.value.code == "message_too_long"
    assert raised.value.message == MESSAGE_TOO_LONG.format(limit=limit)


def test_a_message_of_exactly_the_length_limit_is_fine():
    message_validate_text("x" * settings.CHAT_MESSAGE_MAX_LENGTH)


def test_a_smaller_configured_limit_is_the_one_applied(settings):
    settings.CHAT_MESSAGE_MAX_LENGTH = 5
    message_validate_text("12345")
    with pytest.raises(ChatError) as raised:
        message_validate_text("123456")
    assert raised.value.code == "message_too_long"


async def test_a_posted_message_is_kept_exactly_as_sent(posted_to, room):
    text = "  <script>alert('hi')</script> \\ 😀 \n"
    message = await message_post(room=room, username="ana", text=text, client_id=None)
    assert message.message == text
    assert posted_to.latest(room=room, limit=1) == [message]


async def test_a_posted_message_gets_its_id_and_time_from_the_server(posted_to, room, server_clock):
    message = await message_post(room=room, username="ana", text="hi", client_id="c-1")
    assert message_id_in_room(message.id, room)
    assert message.created_ms == server_clock.ms
    assert message.to_payload() == {
        "id": message.id,
        "room": room,
        "username": "ana",
        "message": "hi",
        "__createdtime__": server_clock.ms,
        "client_id": "c-1",
    }


async def test_an_empty_message_is_refused_before_anything_is_stored(posted_to, delivered, room):
    with pytest.raises(ChatError):
        message_post(room=room, username="ana", text="  ", client_id=None)
    assert posted_to.latest(room=room, limit=10) == []
    assert delivered == []


def test_ids_of_a_room_strictly_increase_even_within_one_millisecond(server_clock):
    clock = MessageIdClock()
    issued = [clock.next("lobby") for _ in range(1_000)]
    ids = [message_id for message_id, _ in issued]
    assert ids == sorted(set(ids))
    assert {created_ms for _, created_ms in issued} == {server_clock.ms}


def test_message_times_follow_the_servers_clock(server_clock):
    clock = MessageIdClock()
    _, first_ms = clock.next("lobby")
    server_clock.ms += 1_234
    _, later_ms = clock.next("lobby")
    assert later_ms - first_ms == 1_234


def test_ids_keep_increasing_when_the_servers_clock_steps_back(server_clock):
    clock = MessageIdClock()
    first_id, first_ms = clock.next("lobby")
    server_clock.ms -= 5_000
    later_id, later_ms = clock.next("lobby")
    assert later_id > first_id
    assert later_ms >= first_ms


@pytest.mark.parametrize("other", ["Lobby", "lobby ", "lobby|", "x' OR '1'='1", "日本語"])
def test_an_id_belongs_to_its_own_room_only(other):
    message_id, _ = MessageIdClock().next("lobby")
    assert message_id_in_room(message_id, "lobby")
    assert not message_id_in_room(message_id, other)
    other_id, _ = MessageIdClock().next(other)
    assert message_id.split("|")[0] != other_id.split("|")[0]


@pytest.mark.parametrize("junk", ["", "lobby", "|", "not-an-id|0000000000000|000000|abcd"])
def test_text_that_is_not_an_id_of_the_room_is_not_in_it(junk):
    assert not message_id_in_room(junk, "lobby")


class UnreachableStore(InMemoryMessageStore):
    """An in-memory store whose every call fails as an unreachable HarperDB would."""

    def _fail(self, *args, **kwargs):
        raise HarperDBUnavailable("HarperDB at http://127.0.0.1:1/ is unavailable")

    latest = before = delete = delete_many = created_times = _fail


async def test_a_deleted_message_leaves_history_and_every_open_page(memory_store, published, room):
    doomed, kept = make_messages(room, 2)
    memory_store.insert([doomed, kept])
    await published.subscribe("c-ana", room)
    assert await services.message_delete(room=room, message_id=doomed.id) is True
    assert memory_store.latest(room=room, limit=5) == [kept]
    assert published.received("c-ana", events.MESSAGE_DELETED) == [{"id": doomed.id, "room": room}]


async def test_deleting_a_message_of_another_room_or_one_already_gone_is_false(
    memory_store, published, room
):
    [elsewhere] = make_messages(f"other-{room}", 1)
    memory_store.insert([elsewhere])
    assert await services.message_delete(room=room, message_id=elsewhere.id) is False
    [gone] = make_messages(room, 1)
    assert await services.message_delete(room=room, message_id=gone.id) is False
    assert memory_store.latest(room=f"other-{room}", limit=5) == [elsewhere]
    assert published.sent == []


@pytest.mark.parametrize(
    "act",
    [
        lambda room: services.message_delete(room=room, message_id=f"{room_key(room)}|0|0|x"),
        lambda room: services.message_history_move(old_room=room, new_room=f"new-{room}"),
        lambda room: message_list_recent(room=room),
    ],
    ids=["delete", "history move", "history read"],
)
async def test_an_unreachable_harperdb_is_reported_as_unavailable_not_as_its_own_error(
    monkeypatch, published, room, act
):
    monkeypatch.setattr(backend, "message_store", UnreachableStore)
    with pytest.raises(ChatError) as raised:
        await act(room)
    assert raised.value.code == ErrorCode.UNAVAILABLE
    assert published.sent == []


async def test_a_rooms_history_moves_to_its_new_name_in_order_with_its_times(
    memory_store, room, monkeypatch
):
    monkeypatch.setattr(services, "HISTORY_MOVE_BATCH", 3)  # several batches
    old = make_messages(room, 7)
    memory_store.insert(old + make_messages(f"other-{room}", 2))
    assert await services.message_history_move(old_room=room, new_room=f"new-{room}") == 7
    moved = memory_store.latest(room=f"new-{room}", limit=10)
    assert [(m.message, m.created_ms) for m in moved] == [(m.message, m.created_ms) for m in old]
    assert memory_store.latest(room=room, limit=10) == []
    assert len(memory_store.latest(room=f"other-{room}", limit=10)) == 2


async def test_the_staff_hear_of_a_stored_batch_in_one_event_per_batch(
    memory_store, published, staff_feed
):
    await staff_feed()  # whatever came before
    posts = [
        message_post(room=room, username="ana", text=text, client_id=None)
        for room, text in [("React", "one"), ("Vue", "two"), ("React", "three")]
    ]  # queued before the writer runs: one batch
    stored = [await post for post in posts]
    [event] = await staff_feed()
    assert event == {
        "kind": "messages",
        "rooms": [
            {"room": "React", "count": 2, "created_ms": stored[2].created_ms},
            {"room": "Vue", "count": 1, "created_ms": stored[1].created_ms},
        ],
    }
