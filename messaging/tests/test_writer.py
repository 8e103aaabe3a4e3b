"""The group-commit writer: stored first, then delivered, once, in order, or refused."""

import asyncio
import math
import threading

import pytest

from chatsite.errors import ChatError
from messaging.harperdb import HarperDBError, HarperDBUnavailable
from messaging.store import InMemoryMessageStore
from messaging.tests.factories import make_message, make_messages
from messaging.writer import STORE_UNAVAILABLE


class FlakyStore(InMemoryMessageStore):
    """Inserts fail with `error` the first `failures` times (math.inf: it stays down).

    With `lands_anyway`, a failing insert stores the rows before it raises, as when
    HarperDB wrote them but its answer was lost.
    """

    def __init__(self, error: HarperDBError, failures: float, *, lands_anyway: bool = False):
        super().__init__()
        self.error = error
        self.failures = failures
        self.lands_anyway = lands_anyway
        self.attempts = 0

    def insert(self, messages):
        self.attempts += 1
        if self.attempts > self.failures:
            return super().insert(messages)
        if self.lands_anyway:
            super().insert(messages)
        raise self.error


class SlowStore(InMemoryMessageStore):
    """Each insert waits until `release` is set; `writing` tells that one has started."""

    def __init__(self):
        super().__init__()
        self.batch_sizes: list[int] = []
        self.writing = threading.Event()
        self.release = threading.Event()

    def insert(self, messages):
        self.batch_sizes.append(len(messages))
        self.writing.set()
        self.release.wait(timeout=5)
        return super().insert(messages)


async def test_a_message_is_stored_before_anyone_receives_it(start_writer, room):
    store = InMemoryMessageStore()
    stored_when_delivered = []

    async def deliver(message):
        stored_when_delivered.append(message in store.latest(room=room, limit=10))

    writer = start_writer(store, deliver=deliver)
    message = make_message(room)
    assert await writer.submit(message) == message
    assert stored_when_delivered == [True]


async def test_messages_that_arrive_during_a_write_go_together_in_the_next_write(
    start_writer, room
):
    store = SlowStore()
    writer = start_writer(store, run_blocking=asyncio.to_thread)
    first, *others = make_messages(room, 200)
    stored_first = writer.submit(first)
    await asyncio.to_thread(store.writing.wait, 5)
    stored_others = [writer.submit(message) for message in others]
    store.release.set()
    await asyncio.gather(stored_first, *stored_others)
    assert store.batch_sizes == [1, 199]


async def test_many_messages_sent_at_once_take_only_a_few_writes(start_writer, delivered, room):
    store = InMemoryMessageStore()
    writer = start_writer(store, run_blocking=asyncio.to_thread)
    messages = make_messages(room, 200)

    async def send(message):
        return await writer.submit(message)

    await asyncio.gather(*(send(message) for message in messages))
    assert store.latest(room=room, limit=500) == messages
    assert delivered == messages
    assert store.insert_calls < 10


async def test_messages_are_delivered_in_the_order_sent_which_is_id_order(
    start_writer, delivered, room
):
    writer = start_writer(InMemoryMessageStore(), run_blocking=asyncio.to_thread)
    messages = make_messages(room, 60)
    pending = []
    for number, message in enumerate(messages):
        pending.append(writer.submit(message))
        if number % 7 == 0:  # let writes start part-way, so there are several batches
            await asyncio.sleep(0)
    assert await asyncio.gather(*pending) == messages
    assert delivered == messages
    assert [message.id for message in delivered] == sorted(message.id for message in messages)


async def test_the_same_client_id_sent_twice_at_once_is_stored_and_delivered_once(
    start_writer, delivered, room
):
    store = InMemoryMessageStore()
    writer = start_writer(store)
    original = make_message(room, "hi", client_id="c-1")
    retry = make_message(room, "hi", client_id="c-1")
    results = await asyncio.gather(writer.submit(original), writer.submit(retry))
    assert results == [original, original]
    assert delivered == [original]
    assert store.latest(room=room, limit=10) == [original]


async def test_the_same_client_id_sent_again_after_it_was_stored_gets_the_original(
    start_writer, delivered, room
):
    store = InMemoryMessageStore()
    writer = start_writer(store)
    original = make_message(room, "hi", client_id="c-1")
    await writer.submit(original)
    assert await writer.submit(make_message(room, "hi", client_id="c-1")) == original
    assert delivered == [original]
    assert store.latest(room=room, limit=10) == [original]


async def test_a_client_id_stored_before_a_restart_is_not_stored_or_delivered_again(
    start_writer, delivered, room
):
    store = InMemoryMessageStore()
    original = make_message(room, "hi", client_id="c-1")
    await start_writer(store).submit(original)
    delivered.clear()
    after_restart = start_writer(store)
    assert await after_restart.submit(make_message(room, "hi", client_id="c-1")) == original
    assert delivered == []
    assert store.latest(room=room, limit=10) == [original]


async def test_the_same_client_id_from_another_person_is_their_own_message(
    start_writer, delivered, room
):
    writer = start_writer(InMemoryMessageStore())
    anas = make_message(room, "hi", username="ana", client_id="c-1")
    bobs = make_message(room, "hi", username="bob", client_id="c-1")
    assert await asyncio.gather(writer.submit(anas), writer.submit(bobs)) == [anas, bobs]
    assert delivered == [anas, bobs]


@pytest.mark.parametrize(
    "error",
    [HarperDBUnavailable("connection refused"), HarperDBError("internal", status=500)],
    ids=["unreachable", "server_error"],
)
async def test_a_store_that_fails_for_a_moment_is_retried_and_everything_arrives_once_in_order(
    start_writer, delivered, room, error
):
    store = FlakyStore(error, failures=2)
    writer = start_writer(store, run_blocking=asyncio.to_thread, retry_seconds=5)
    messages = make_messages(room, 6)
    pending = [writer.submit(message) for message in messages[:3]]
    await asyncio.sleep(0.01)  # more arrive while the first write is retried
    pending += [writer.submit(message) for message in messages[3:]]
    assert await asyncio.gather(*pending) == messages
    assert delivered == messages
    assert store.latest(room=room, limit=10) == messages


async def test_a_store_down_past_the_retry_window_refuses_and_delivers_nothing(
    start_writer, delivered, room
):
    store = FlakyStore(HarperDBUnavailable("connection refused"), failures=math.inf)
    writer = start_writer(store, retry_seconds=0.2)
    with pytest.raises(ChatError) as raised:
        await writer.submit(make_message(room, client_id="c-1"))
    assert raised.value.code == "unavailable"
    assert raised.value.message == STORE_UNAVAILABLE
    assert delivered == []
    assert store.latest(room=room, limit=10) == []


async def test_after_an_outage_the_client_can_send_the_same_client_id_again(
    start_writer, delivered, room
):
    store = FlakyStore(HarperDBUnavailable("connection refused"), failures=math.inf)
    writer = start_writer(store, retry_seconds=0.2)
    with pytest.raises(ChatError):
        await writer.submit(make_message(room, client_id="c-1"))
    store.failures = 0
    retry = make_message(room, client_id="c-1")
    assert await writer.submit(retry) == retry
    assert delivered == [retry]
    assert store.latest(room=room, limit=10) == [retry]


async def test_a_full_queue_refuses_new_messages_at_once(start_writer, room):
    writer = start_writer(InMemoryMessageStore(), queue_max=2)
    queued = [writer.submit(message) for message in make_messages(room, 2)]
    with pytest.raises(ChatError) as raised:
        writer.submit(make_message(room))
    assert raised.value.code == "unavailable"
    assert len(await asyncio.gather(*queued)) == 2


async def test_a_write_harperdb_refuses_as_wrong_fails_at_once_without_retrying(
    start_writer, delivered, room
):
    store = FlakyStore(HarperDBError("invalid record", status=400), failures=1)
    writer = start_writer(store, retry_seconds=30)
    with pytest.raises(ChatError) as raised:
        await asyncio.wait_for(writer.submit(make_message(room)), timeout=5)
    assert raised.value.code == "unavailable"
    assert store.attempts == 1
    assert delivered == []


async def test_the_writer_keeps_going_after_a_refused_write(start_writer, delivered, room):
    store = FlakyStore(HarperDBError("invalid record", status=400), failures=1)
    writer = start_writer(store)
    with pytest.raises(ChatError):
        await writer.submit(make_message(room))
    message = make_message(room)
    assert await writer.submit(message) == message
    assert delivered == [message]


async def test_a_write_that_landed_but_whose_answer_was_lost_is_still_delivered_once(
    start_writer, delivered, room
):
    store = FlakyStore(HarperDBUnavailable("read timed out"), failures=1, lands_anyway=True)
    writer = start_writer(store, retry_seconds=5)
    message = make_message(room, client_id="c-1")
    assert await writer.submit(message) == message
    assert delivered == [message]
