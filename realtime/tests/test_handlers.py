"""How a refusal reaches the connection: Part C's error, and for a connection a refusal leaves
in no room, the same told by ChatBot for clients that know only the original events."""

import pytest

from chatsite import events
from chatsite.errors import ChatError, ErrorCode
from realtime import handlers
from rooms import services

pytestmark = [
    pytest.mark.django_db(transaction=True),  # joining reaches the ORM from another thread
    pytest.mark.usefixtures("fresh_presence", "published", "memory_store"),
]

TAKEN = ChatError(ErrorCode.USERNAME_TAKEN, "That username is already used in this room.")


@pytest.fixture
def emitted(monkeypatch) -> list[tuple[str, dict, str]]:
    """What the handlers emit, as (event, data, to)."""
    sent = []

    async def emit(event, data, *, to):
        sent.append((event, data, to))

    monkeypatch.setattr(handlers.sio, "emit", emit)
    return sent


async def test_a_refused_join_of_a_connection_in_no_room_is_also_told_by_chatbot(emitted):
    ack = await handlers._refuse("c-ana", events.JOIN_ROOM, TAKEN)
    assert ack == {"ok": False, "error": TAKEN.as_dict()}
    [(error_event, error, to), (notice_event, notice, notice_to)] = emitted
    assert (error_event, error, to) == (
        events.CHAT_ERROR,
        {"event": events.JOIN_ROOM, **TAKEN.as_dict()},
        "c-ana",
    )
    assert (notice_event, notice_to) == (events.RECEIVE_MESSAGE, "c-ana")
    assert notice["username"] == events.CHATBOT
    assert notice["message"] == f"You could not join the room: {TAKEN.message}"
    assert notice["code"] == "username_taken"


async def test_an_event_refused_for_want_of_a_room_is_also_told_by_chatbot(emitted):
    error = ChatError(ErrorCode.NOT_IN_ROOM, "Join a room first.")
    await handlers._refuse("c-ana", events.SEND_MESSAGE, error)
    assert [event for event, _, _ in emitted] == [events.CHAT_ERROR, events.RECEIVE_MESSAGE]
    assert emitted[1][1]["message"] == (
        "That was not sent, because you are not in a room. Join a room first."
    )


async def test_a_refused_join_of_a_connection_still_in_its_room_is_only_an_error(emitted):
    await services.room_join(
        connection="c-ana", person_key="session:ana", username="Ana", room_name="React"
    )
    await handlers._refuse("c-ana", events.JOIN_ROOM, TAKEN)
    assert [event for event, _, _ in emitted] == [events.CHAT_ERROR]


async def test_other_refusals_outside_a_room_are_only_an_error(emitted):
    error = ChatError(ErrorCode.INVALID_PAYLOAD, "`message` must be a string.")
    await handlers._refuse("c-ana", events.SEND_MESSAGE, error)
    assert [event for event, _, _ in emitted] == [events.CHAT_ERROR]
