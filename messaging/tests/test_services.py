"""Posting messages: text limits, and the server's ids and times."""

import pytest
from django.conf import settings

from chatsite.errors import ChatError
from messaging import services
from messaging.services import MESSAGE_EMPTY, MESSAGE_TOO_LONG, message_post, message_validate_text
from messaging.store import InMemoryMessageStore, MessageIdClock, message_id_in_room


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
