"""Where the message store is, and how it is called: off the event loop, HarperDB's errors
turned into our own.

HarperDB calls block (requests); they run in this pool, never on the event loop nor in
asgiref's single shared thread, which the ORM needs.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache, partial

from chatsite.errors import ChatError, ErrorCode
from messaging.harperdb import HarperDBError
from messaging.store import MessageStore, harperdb_store

_harperdb_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="harperdb")


@lru_cache(maxsize=1)
def message_store() -> MessageStore:
    return harperdb_store()


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
