"""Where the message store is, and how it is called: off the event loop, HarperDB's errors
turned into our own.

HarperDB calls block (requests); they run in this pool, never on the event loop nor in
asgiref's single shared thread, which the ORM needs.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache, partial

from django.conf import settings

from chatsite.cluster import cluster
from chatsite.errors import ChatError, ErrorCode
from messaging.harperdb import HarperDBError
from messaging.history_tail import HistoryTail
from messaging.room_order import RedisRoomOrder
from messaging.store import MessageStore, harperdb_store

_harperdb_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="harperdb")


@lru_cache(maxsize=1)
def message_store() -> MessageStore:
    return harperdb_store()


@lru_cache(maxsize=1)
def history_tail() -> HistoryTail | None:
    """The in-memory tails of rooms' histories; None when several processes share the rooms
    (REDIS_URL) or CHAT_HISTORY_CACHE_BYTES is 0."""
    if settings.REDIS_URL or settings.CHAT_HISTORY_CACHE_BYTES <= 0:
        return None
    return HistoryTail(
        size=settings.CHAT_HISTORY_LIMIT, max_bytes=settings.CHAT_HISTORY_CACHE_BYTES
    )


@lru_cache(maxsize=1)
def room_order() -> RedisRoomOrder | None:
    """Where rooms' message order comes from when several processes share them; None for
    one process, whose writer's arrival order is the order."""
    shared = cluster()
    return RedisRoomOrder(shared) if shared.shared else None


# Made at start-up, not when this process first stores a message: it must release the places
# of a process that died even if this one has stored nothing yet, or the rooms it shared with
# that process would wait for them for ever.
room_order()


async def in_harperdb_pool(function, /, *args, **kwargs):
    """Run a blocking store call in the HarperDB pool; its errors pass through as they are."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_harperdb_pool, partial(function, *args, **kwargs))


async def store_call(function, /, *args, unavailable: str, **kwargs):
    """Run a blocking store call in the pool; a HarperDB failure becomes `unavailable`, with
    the text `unavailable` for people."""
    try:
        return await in_harperdb_pool(function, *args, **kwargs)
    except HarperDBError as error:
        raise ChatError(ErrorCode.UNAVAILABLE, unavailable) from error
