"""Posting messages: validate, give them the server's id and time, store, then deliver."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache, partial

from django.conf import settings

from chatsite.errors import ChatError
from messaging.store import (
    Message,
    MessageIdClock,
    MessageStore,
    harperdb_store,
    message_id_in_room,
)
from messaging.writer import MessageWriter
from chatsite import events
from realtime import broadcast
from rooms.live_feed import live_message_deleted, live_message_posted

MESSAGE_EMPTY = "A message needs some text."
MESSAGE_TOO_LONG = "A message can be at most {limit} characters long."

# HarperDB calls block (requests); they run here, never on the event loop nor in asgiref's
# single shared thread, which the ORM needs.
_harperdb_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="harperdb")
_id_clock = MessageIdClock()


async def in_harperdb_pool(function, /, *args, **kwargs):
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_harperdb_pool, partial(function, *args, **kwargs))


@lru_cache(maxsize=1)
def message_store() -> MessageStore:
    return harperdb_store()


async def _deliver(message: Message) -> None:
    await broadcast.to_room(message.room, events.RECEIVE_MESSAGE, message.to_payload())
    await live_message_posted(message)


_writers: dict[asyncio.AbstractEventLoop, MessageWriter] = {}


def message_writer() -> MessageWriter:
    """The writer of the running event loop (one per server process)."""
    loop = asyncio.get_running_loop()
    if loop not in _writers:
        _writers[loop] = MessageWriter(
            store=message_store(),
            deliver=_deliver,
            run_blocking=in_harperdb_pool,
            retry_seconds=settings.CHAT_STORE_RETRY_SECONDS,
            queue_max=settings.CHAT_STORE_QUEUE_MAX,
        )
    return _writers[loop]


def message_validate_text(text: str) -> None:
    if not text.strip():
        raise ChatError("message_empty", MESSAGE_EMPTY)
    limit = settings.CHAT_MESSAGE_MAX_LENGTH
    if len(text) > limit:
        raise ChatError("message_too_long", MESSAGE_TOO_LONG.format(limit=limit))


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
    """A moderator removes a message: gone from history, and dropped from every open page."""
    if not message_id_in_room(message_id, room):
        return False
    if not await in_harperdb_pool(message_store().delete, message_id):
        return False
    await broadcast.to_room(room, events.MESSAGE_DELETED, {"id": message_id, "room": room})
    await live_message_deleted(room, message_id)
    return True


HISTORY_MOVE_BATCH = 500


async def message_history_move(*, old_room: str, new_room: str) -> int:
    """Move a renamed room's history to its new name, keeping ids' order and times.

    Each batch is copied before the originals are deleted, so a failure part way loses
    nothing, and running it again finishes the job (copies already there are skipped).
    """
    store = message_store()
    moved = 0
    while batch := await in_harperdb_pool(store.latest, room=old_room, limit=HISTORY_MOVE_BATCH):
        await in_harperdb_pool(store.insert, [message.moved_to(new_room) for message in batch])
        await in_harperdb_pool(store.delete_many, [message.id for message in batch])
        moved += len(batch)
    return moved
