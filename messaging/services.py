"""Posting messages: validate, give them the server's id and time, store, then deliver."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache, partial

from django.conf import settings

from chatsite.errors import ChatError
from messaging.store import Message, MessageIdClock, MessageStore, harperdb_store
from messaging.writer import MessageWriter
from realtime import broadcast, events

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
    message_id, created_ms = _id_clock.next(room)
    message = Message(
        id=message_id,
        room=room,
        username=username,
        message=text,
        created_ms=created_ms,
        client_id=client_id,
    )
    return message_writer().submit(message)
