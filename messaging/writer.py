"""Group commit: messages are stored in batches, then delivered, in the order they arrived.

One writer task drains the queue: everything that arrived while the previous write was in
flight goes into the next batch insert, so at low load a message waits for one HarperDB
write and under load the number of writes grows far slower than the number of messages.
A batch that HarperDB refuses is retried with backoff until each message's own deadline;
nothing is delivered before it is stored, so delivery order is storage order is id order.
With several processes (`order`, `messaging.room_order`), each new message gets its id from
its room's place in Redis before it is stored, and is published in place order once stored.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from chatsite import metrics
from chatsite.errors import ChatError, ErrorCode
from messaging.harperdb import HarperDBError
from messaging.room_order import OrderUnavailable, RedisRoomOrder
from messaging.store import Message, MessageStore

logger = logging.getLogger(__name__)

STORE_UNAVAILABLE = "The message could not be stored right now; nothing was delivered. Retry it."
RECENT_KEYS_KEPT = 20_000
BATCH_MAX = 500


@dataclass
class Pending:
    message: Message
    done: asyncio.Future
    deadline: float
    placed: bool = False  # its id is a place in its room's order (`RedisRoomOrder.assign`)


BlockingRunner = Callable[..., Awaitable]


class MessageWriter:
    def __init__(
        self,
        *,
        store: MessageStore,
        deliver: Callable[[Message], Awaitable[None]] | None,
        run_blocking: BlockingRunner,
        retry_seconds: float,
        queue_max: int,
        order: RedisRoomOrder | None = None,
        after_batch: Callable[[list[Message]], Awaitable[None]] | None = None,
    ):
        self.store = store
        self.order = order
        self.after_batch = after_batch
        self.deliver = deliver
        self.run_blocking = run_blocking
        self.retry_seconds = retry_seconds
        self.queue_max = queue_max
        self.batches_stored = 0
        self._queue: deque[Pending] = deque()
        self._in_flight: dict[str, asyncio.Future] = {}
        self._recent: OrderedDict[str, Message] = OrderedDict()
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task | None = None
        metrics.WRITER_QUEUE.set_function(lambda: len(self._queue))  # one writer per process

    def submit(self, message: Message) -> asyncio.Future:
        """Queue a message; the future resolves to the stored message once it was delivered.

        A message whose `client_id` was seen before resolves to the original instead.
        """
        key = message.idempotency_key
        if key is not None:
            if key in self._recent:
                return _resolved(self._recent[key])
            if key in self._in_flight:
                return asyncio.shield(self._in_flight[key])
        if len(self._queue) >= self.queue_max:
            raise ChatError(ErrorCode.UNAVAILABLE, STORE_UNAVAILABLE)
        done = asyncio.get_running_loop().create_future()
        self._queue.append(Pending(message, done, time.monotonic() + self.retry_seconds))
        if key is not None:
            self._in_flight[key] = done
        self._ensure_running()
        self._wakeup.set()
        return done

    def _ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._queue:
                batch = [self._queue.popleft() for _ in range(min(BATCH_MAX, len(self._queue)))]
                try:
                    await self._store_and_deliver(batch)
                except Exception:  # the writer must outlive any one bad batch
                    logger.exception("storing a batch of %d messages failed", len(batch))
                    await self._fail(batch)

    async def _store_and_deliver(self, batch: list[Pending]) -> None:
        backoff = 0.05
        while True:
            batch = await self._drop_expired(batch)
            if not batch:
                return
            try:
                with metrics.STORE_SECONDS.time():
                    originals = await self._store(batch)
                break
            except (HarperDBError, OrderUnavailable) as error:
                if isinstance(error, HarperDBError) and not error.transient:
                    raise
                logger.warning("storing failed, retrying: %s", error)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 1.0)
        new, placed_twice = [], []
        for pending in batch:
            original = originals.get(pending.message.idempotency_key)
            # An earlier attempt of this very batch may have landed although its answer was lost.
            if original is None or original.id == pending.message.id:
                new.append(pending.message)
            elif pending.placed:
                placed_twice.append(pending.message)  # stored before, by another process
        if self.order is not None:
            await self.order.release(new, placed_twice)
        if self.deliver is not None:
            for message in new:
                await self._deliver(message)
        if self.after_batch is not None and new:
            try:
                await self.after_batch(new)
            except Exception:
                logger.exception("after storing a batch of %d messages", len(new))
        for pending in batch:
            self._finish(pending, originals.get(pending.message.idempotency_key, pending.message))
        metrics.MESSAGES_DELIVERED.inc(len(new))

    async def _deliver(self, message: Message) -> None:
        """Deliver a stored message; a failure here must not undo the store or stop the batch."""
        try:
            await self.deliver(message)
        except Exception:
            logger.exception("delivering message %s failed", message.id)

    async def _store(self, batch: list[Pending]) -> dict[str | None, Message]:
        """Insert the batch, leaving out messages whose client_id is already stored: in one
        trip to the HarperDB pool, unless Redis must give the new ones their places between
        the lookup and the insert."""
        messages = [p.message for p in batch]
        if self.order is None:
            originals = await self.run_blocking(self._insert_new, messages)
        else:
            originals = await self.run_blocking(self._originals, messages)
            await self._place([p for p in batch if p.message.idempotency_key not in originals])
            await self.run_blocking(self._insert_new, [p.message for p in batch], originals)
        self.batches_stored += 1
        return originals

    def _originals(self, messages: list[Message]) -> dict[str | None, Message]:
        """The stored messages that have the client_id of one of these (blocking)."""
        keys = [message.idempotency_key for message in messages if message.idempotency_key]
        return self.store.find_by_client_keys(keys) if keys else {}

    def _insert_new(
        self, messages: list[Message], originals: dict[str | None, Message] | None = None
    ) -> dict[str | None, Message]:
        """Insert those of `messages` whose client_id is not stored yet (blocking); returns
        the stored originals of the others."""
        if originals is None:
            originals = self._originals(messages)
        fresh = [message for message in messages if message.idempotency_key not in originals]
        if fresh:
            inserted = self.store.insert(fresh)
            metrics.MESSAGES_STORED.inc(len(inserted.inserted))
        return originals

    async def _place(self, unplaced: list[Pending]) -> None:
        """Give these messages their rooms' next places (ids), once: a retry keeps them."""
        if not unplaced:
            return
        placed = await self.order.assign([p.message for p in unplaced])
        for pending, message in zip(unplaced, placed, strict=True):
            pending.message, pending.placed = message, True

    async def _drop_expired(self, batch: list[Pending]) -> list[Pending]:
        now = time.monotonic()
        expired = [p for p in batch if p.deadline <= now]
        await self._fail(expired)
        return [p for p in batch if p.deadline > now]

    async def _fail(self, batch: list[Pending]) -> None:
        placed = [p.message for p in batch if p.placed]
        if placed:
            await self.order.release([], placed)  # their places must not hold the room up
        for pending in batch:
            self._in_flight.pop(pending.message.idempotency_key, None)
            if not pending.done.done():
                pending.done.set_exception(ChatError(ErrorCode.UNAVAILABLE, STORE_UNAVAILABLE))

    def _finish(self, pending: Pending, stored: Message) -> None:
        key = pending.message.idempotency_key
        self._in_flight.pop(key, None)
        if key is not None:
            self._recent[key] = stored
            while len(self._recent) > RECENT_KEYS_KEPT:
                self._recent.popitem(last=False)
        if not pending.done.done():
            pending.done.set_result(stored)


def _resolved(message: Message) -> asyncio.Future:
    done = asyncio.get_running_loop().create_future()
    done.set_result(message)
    return done
