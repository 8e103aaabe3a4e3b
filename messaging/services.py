"""Posting messages: validate, give them the server's id and time, store, then deliver.
Authors edit and delete their own for a while; moderators delete any."""

from __future__ import annotations

import asyncio
import time

from django.conf import settings

from chatsite import events
from chatsite.errors import ChatError, ErrorCode
from chatsite.publish import publisher
from chatsite.staff_feed import staff_feed_message_deleted, staff_feed_messages_posted
from chatsite.text import is_blank
from messaging import backend
from messaging.store import Message, MessageIdClock, message_id_in_room, message_id_time
from messaging.writer import MessageWriter

MESSAGE_EMPTY = "A message needs some text."
MESSAGE_TOO_LONG = "A message can be at most {limit} characters long."
DELETE_UNAVAILABLE = "The message could not be deleted right now; please try again."
MOVE_UNAVAILABLE = "The room's history could not be moved right now; saving again finishes it."
MESSAGE_NOT_FOUND = "Your room has no such message."
NOT_YOUR_MESSAGE = "You can only edit or delete your own messages."
EDIT_TOO_LATE = "A message can only be edited or deleted within {window} of sending it."
EDIT_UNAVAILABLE = "The message could not be changed right now; please try again."

_id_clock = MessageIdClock()


def _history_changed(*rooms: str) -> None:
    """History changed other than by a new message: the in-memory tails are read again."""
    if (tail := backend.history_tail()) is not None:
        for room in rooms:
            tail.forget(room)


async def _deliver(message: Message) -> None:
    if (tail := backend.history_tail()) is not None:
        tail.appended(message)
    await publisher().to_room(message.room, events.RECEIVE_MESSAGE, message.to_payload())


async def _tell_staff(batch: list[Message]) -> None:
    await staff_feed_messages_posted([(message.room, message.created_ms) for message in batch])


_writers: dict[asyncio.AbstractEventLoop, MessageWriter] = {}


def message_writer() -> MessageWriter:
    """The writer of the running event loop (one per server process)."""
    loop = asyncio.get_running_loop()
    if loop not in _writers:
        order = backend.room_order()  # with several processes, it publishes the messages
        _writers[loop] = MessageWriter(
            store=backend.message_store(),
            order=order,
            deliver=_deliver if order is None else None,
            after_batch=_tell_staff,
            run_blocking=backend.in_harperdb_pool,
            retry_seconds=settings.CHAT_STORE_RETRY_SECONDS,
            queue_max=settings.CHAT_STORE_QUEUE_MAX,
        )
    return _writers[loop]


def message_validate_text(text: str) -> None:
    if is_blank(text):
        raise ChatError(ErrorCode.MESSAGE_EMPTY, MESSAGE_EMPTY)
    limit = settings.CHAT_MESSAGE_MAX_LENGTH
    if len(text) > limit:
        raise ChatError(ErrorCode.MESSAGE_TOO_LONG, MESSAGE_TOO_LONG.format(limit=limit))


def message_post(*, room: str, username: str, text: str, client_id: str | None) -> asyncio.Future:
    """Queue a message for storing and delivery; the future resolves to the stored message.

    Synchronous on purpose: the id (and so the room's order) is fixed before the caller
    yields to the event loop, in the order the messages arrived.
    """
    message_validate_text(text)
    message = Message.compose(
        room=room, username=username, text=text, client_id=client_id, clock=_id_clock
    )
    return message_writer().submit(message)


async def message_delete(*, room: str, message_id: str) -> bool:
    """A moderator removes a message: gone from history, and dropped from every open page.

    False when the room has no such message."""
    if not message_id_in_room(message_id, room):
        return False
    store = backend.message_store()
    if not await backend.store_call(store.delete, message_id, unavailable=DELETE_UNAVAILABLE):
        return False
    _history_changed(room)
    await publisher().to_room(room, events.MESSAGE_DELETED, {"id": message_id, "room": room})
    await staff_feed_message_deleted(
        room=room, message_id=message_id, created_ms=message_id_time(message_id)
    )
    return True


def _edit_window_text(seconds: int) -> str:
    """`5 minutes`, `90 seconds`: CHAT_EDIT_SECONDS for people."""
    if seconds % 60 == 0 and seconds >= 60:
        minutes = seconds // 60
        return f"{minutes} minute{'s' if minutes > 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"


async def _own_recent_message(*, room: str, username: str, message_id: str) -> Message:
    """The message `message_id` of `room`, when `username` wrote it less than
    CHAT_EDIT_SECONDS ago; otherwise the reason why not."""
    found = None
    if message_id_in_room(message_id, room):
        store = backend.message_store()
        found = await backend.store_call(store.find, message_id, unavailable=EDIT_UNAVAILABLE)
    if found is None:
        raise ChatError(ErrorCode.MESSAGE_NOT_FOUND, MESSAGE_NOT_FOUND)
    if found.username != username:
        raise ChatError(ErrorCode.NOT_YOUR_MESSAGE, NOT_YOUR_MESSAGE)
    window = settings.CHAT_EDIT_SECONDS
    if int(time.time() * 1000) - found.created_ms > window * 1000:
        raise ChatError(
            ErrorCode.EDIT_TOO_LATE, EDIT_TOO_LATE.format(window=_edit_window_text(window))
        )
    return found


async def message_edit(*, room: str, username: str, message_id: str, text: str) -> Message:
    """The author gives their recent message new text: stored, then `message_edited` to
    everyone in the room. Returns the edited message."""
    message_validate_text(text)
    message = await _own_recent_message(room=room, username=username, message_id=message_id)
    edited = message.edited(text, edited_ms=int(time.time() * 1000))
    store = backend.message_store()
    if not await backend.store_call(store.update, edited, unavailable=EDIT_UNAVAILABLE):
        raise ChatError(ErrorCode.MESSAGE_NOT_FOUND, MESSAGE_NOT_FOUND)  # deleted meanwhile
    _history_changed(room)
    await publisher().to_room(
        room,
        events.MESSAGE_EDITED,
        {"id": edited.id, "room": room, "message": text, "edited_ms": edited.edited_ms},
    )
    return edited


async def message_delete_own(*, room: str, username: str, message_id: str) -> None:
    """The author deletes their recent message: as a moderator's deletion, it leaves history
    and every open page."""
    await _own_recent_message(room=room, username=username, message_id=message_id)
    if not await message_delete(room=room, message_id=message_id):
        raise ChatError(ErrorCode.MESSAGE_NOT_FOUND, MESSAGE_NOT_FOUND)


HISTORY_MOVE_BATCH = 500


async def message_history_move(*, old_room: str, new_room: str) -> int:
    """Move a renamed room's history to its new name, keeping ids' order and times.

    Each batch is copied before the originals are deleted, so a failure part way loses
    nothing, and running it again finishes the job (copies already there are skipped).
    Returns how many messages moved.
    """
    store = backend.message_store()

    async def call(function, *args, **kwargs):
        return await backend.store_call(function, *args, unavailable=MOVE_UNAVAILABLE, **kwargs)

    moved = 0
    try:
        while batch := await call(store.latest, room=old_room, limit=HISTORY_MOVE_BATCH):
            await call(store.insert, [message.moved_to(new_room) for message in batch])
            await call(store.delete_many, [message.id for message in batch])
            moved += len(batch)
    finally:
        _history_changed(old_room, new_room)
    return moved
