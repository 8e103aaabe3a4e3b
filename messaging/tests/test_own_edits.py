"""Authors edit and delete their own messages, in their room, for CHAT_EDIT_SECONDS; the room
sees it live and history keeps it. In-memory store and transport."""

import pytest

from chatsite import events
from chatsite.errors import ChatError, ErrorCode
from messaging import backend, services
from messaging.harperdb import HarperDBUnavailable
from messaging.selectors import message_list_recent
from messaging.store import InMemoryMessageStore, MessageIdClock
from messaging.tests.factories import make_message

WINDOW_MS = 300_000


@pytest.fixture
def now(server_clock, monkeypatch, settings):
    """The server's clock for posting and editing alike; CHAT_EDIT_SECONDS is 300."""
    settings.CHAT_EDIT_SECONDS = WINDOW_MS // 1000
    monkeypatch.setattr(services, "time", server_clock)
    return server_clock


@pytest.fixture
def anas(memory_store, published, room, now):
    """A message Ana posted in `room` just now; c-ana and c-bob are in the room."""
    message = make_message(room, "frist", username="Ana", clock=MessageIdClock())
    memory_store.insert([message])
    for connection in ("c-ana", "c-bob"):
        published.rooms[room].append(connection)
    return message


async def refused(action, code: ErrorCode) -> ChatError:
    with pytest.raises(ChatError) as raised:
        await action
    assert raised.value.code == code
    return raised.value


async def test_an_author_edits_their_message_and_everyone_in_the_room_sees_it(
    anas, memory_store, published, room, now
):
    now.ms += 20_000
    edited = await services.message_edit(
        room=room, username="Ana", message_id=anas.id, text="first"
    )
    assert (edited.message, edited.edited_ms) == ("first", now.ms)
    change = {"id": anas.id, "room": room, "message": "first", "edited_ms": now.ms}
    for member in ("c-ana", "c-bob"):
        assert published.received(member, events.MESSAGE_EDITED) == [change]
    [in_history] = await message_list_recent(room=room)
    assert in_history.to_payload() == {**anas.to_payload(), "message": "first", "edited_ms": now.ms}


async def test_an_author_may_edit_until_the_window_closes_and_not_a_millisecond_after(
    anas, room, now
):
    now.ms += WINDOW_MS
    await services.message_edit(room=room, username="Ana", message_id=anas.id, text="in time")
    now.ms += 1
    error = await refused(
        services.message_edit(room=room, username="Ana", message_id=anas.id, text="late"),
        ErrorCode.EDIT_TOO_LATE,
    )
    assert error.message == services.EDIT_TOO_LATE.format(window="5 minutes")


@pytest.mark.parametrize("text", ["", "  \n", "x" * 10_001])
async def test_an_edit_to_an_empty_or_too_long_text_changes_nothing(
    anas, memory_store, published, room, text
):
    with pytest.raises(ChatError) as raised:
        await services.message_edit(room=room, username="Ana", message_id=anas.id, text=text)
    assert raised.value.code in (ErrorCode.MESSAGE_EMPTY, ErrorCode.MESSAGE_TOO_LONG)
    assert memory_store.find(anas.id) == anas
    assert published.sent == []


@pytest.mark.parametrize("act", ["edit", "delete"])
async def test_nobody_edits_or_deletes_someone_elses_message(
    anas, memory_store, published, room, act
):
    change = (
        services.message_edit(room=room, username="Bob", message_id=anas.id, text="mine now")
        if act == "edit"
        else services.message_delete_own(room=room, username="Bob", message_id=anas.id)
    )
    await refused(change, ErrorCode.NOT_YOUR_MESSAGE)
    assert memory_store.find(anas.id) == anas
    assert published.sent == []


async def test_a_message_of_another_room_or_one_gone_is_not_found(
    anas, memory_store, published, room
):
    elsewhere = make_message(f"other-{room}", username="Ana", clock=MessageIdClock())
    memory_store.insert([elsewhere])
    await refused(
        services.message_edit(room=room, username="Ana", message_id=elsewhere.id, text="x"),
        ErrorCode.MESSAGE_NOT_FOUND,
    )
    memory_store.delete(anas.id)
    await refused(
        services.message_delete_own(room=room, username="Ana", message_id=anas.id),
        ErrorCode.MESSAGE_NOT_FOUND,
    )
    assert memory_store.find(elsewhere.id) == elsewhere
    assert published.sent == []


async def test_an_author_deletes_their_message_from_history_and_every_open_page(
    anas, memory_store, published, room
):
    await services.message_delete_own(room=room, username="Ana", message_id=anas.id)
    assert await message_list_recent(room=room) == []
    for member in ("c-ana", "c-bob"):
        assert published.received(member, events.MESSAGE_DELETED) == [{"id": anas.id, "room": room}]


async def test_a_message_older_than_the_window_cannot_be_deleted(anas, memory_store, room, now):
    now.ms += WINDOW_MS + 1
    await refused(
        services.message_delete_own(room=room, username="Ana", message_id=anas.id),
        ErrorCode.EDIT_TOO_LATE,
    )
    assert memory_store.find(anas.id) == anas


class UnreachableStore(InMemoryMessageStore):
    def find(self, message_id):
        raise HarperDBUnavailable("HarperDB at http://127.0.0.1:1/ is unavailable")


async def test_an_edit_while_harperdb_is_unreachable_is_unavailable(
    anas, monkeypatch, published, room
):
    monkeypatch.setattr(backend, "message_store", UnreachableStore)
    error = await refused(
        services.message_edit(room=room, username="Ana", message_id=anas.id, text="x"),
        ErrorCode.UNAVAILABLE,
    )
    assert error.message == services.EDIT_UNAVAILABLE
    assert published.sent == []


@pytest.mark.parametrize("act", ["edit", "delete"])
async def test_a_change_reaches_the_history_kept_in_memory(anas, history_tail, room, act):
    assert await message_list_recent(room=room) == [anas]  # now kept in memory
    if act == "edit":
        await services.message_edit(room=room, username="Ana", message_id=anas.id, text="first")
    else:
        await services.message_delete_own(room=room, username="Ana", message_id=anas.id)
    expected = [("first", anas.id)] if act == "edit" else []
    assert [(m.message, m.id) for m in await message_list_recent(room=room)] == expected
