"""The newest messages of recently read rooms are kept in memory, and stay true: what is
posted is added, what is deleted or moved is read again, and the memory is bounded."""

import asyncio
import threading

import pytest

from chatsite.errors import ChatError
from messaging import services
from messaging.history_tail import HistoryTail
from messaging.selectors import message_list_recent
from messaging.tests.factories import make_messages
from messaging.tests.test_services import UnreachableStore


class CountingReads:
    """Counts the store's `latest` reads while passing them through."""

    def __init__(self, store, monkeypatch):
        self.count = 0
        real = store.latest

        def latest(**arguments):
            self.count += 1
            return real(**arguments)

        monkeypatch.setattr(store, "latest", latest)


@pytest.fixture
def reads(memory_store, monkeypatch) -> CountingReads:
    return CountingReads(memory_store, monkeypatch)


async def test_a_rooms_history_is_read_from_the_store_once(history_tail, memory_store, reads, room):
    memory_store.insert(make_messages(room, 3))
    first = await message_list_recent(room=room)
    again = await message_list_recent(room=room, limit=2)
    assert again == first[-2:]
    assert reads.count == 1


async def test_a_posted_message_is_in_the_next_history_without_a_read(
    history_tail, memory_store, reads, start_writer, monkeypatch, room
):
    writer = start_writer(memory_store, deliver=services._deliver)
    monkeypatch.setattr(services, "message_writer", lambda: writer)
    await message_list_recent(room=room)
    posted = await services.message_post(room=room, username="ana", text="new", client_id=None)
    assert (await message_list_recent(room=room))[-1] == posted
    assert reads.count == 1


async def test_a_deleted_message_is_gone_from_the_next_history(
    history_tail, memory_store, published, room
):
    doomed, kept = make_messages(room, 2)
    memory_store.insert([doomed, kept])
    await message_list_recent(room=room)
    assert await services.message_delete(room=room, message_id=doomed.id)
    assert await message_list_recent(room=room) == [kept]


async def test_a_moved_history_is_read_again_under_both_names(history_tail, memory_store, room):
    memory_store.insert(make_messages(room, 2))
    await message_list_recent(room=room)
    await message_list_recent(room=f"new-{room}")
    await services.message_history_move(old_room=room, new_room=f"new-{room}")
    assert await message_list_recent(room=room) == []
    assert len(await message_list_recent(room=f"new-{room}")) == 2


def test_a_read_that_raced_a_new_message_is_not_kept(room):
    tail = HistoryTail(size=100, max_bytes=1_000_000)
    stale = make_messages(room, 2)
    token = tail.begin_fill(room)
    [newer] = make_messages(room, 1)
    tail.appended(newer)  # stored while the read was on its way
    tail.fill(room, token, stale)
    assert tail.recent(room, 100) is None


def test_a_message_a_read_already_found_is_not_added_again(room):
    """A read can end between storing a batch and adding its messages (the batch's delivery
    yields to the event loop): what it found is not added a second time."""
    tail = HistoryTail(size=100, max_bytes=1_000_000)
    stored = make_messages(room, 3)
    tail.fill(room, tail.begin_fill(room), stored)
    for message in stored[1:]:
        tail.appended(message)
    [newer] = make_messages(room, 1)
    tail.appended(newer)
    assert tail.recent(room, 100) == [*stored, newer]


def test_only_the_newest_messages_are_kept_and_then_the_tail_is_not_the_whole_room(room):
    tail = HistoryTail(size=3, max_bytes=1_000_000)
    tail.fill(room, tail.begin_fill(room), make_messages(room, 2))
    assert tail.recent(room, 50) is not None  # two messages: the whole room
    newer = make_messages(room, 2)
    for message in newer:
        tail.appended(message)
    assert tail.recent(room, 3)[-2:] == newer
    assert tail.recent(room, 50) is None  # older ones may exist beyond the three kept


def test_past_its_memory_the_least_recently_read_rooms_are_forgotten():
    tail = HistoryTail(size=10, max_bytes=6_000)
    for name in ("a", "b", "c"):
        tail.fill(name, tail.begin_fill(name), make_messages(name, 4))  # ~1,850 bytes each
    tail.recent("a", 1)
    tail.fill("d", tail.begin_fill("d"), make_messages("d", 4))
    assert tail.recent("b", 1) is None
    assert tail.recent("a", 1) is not None
    assert tail.size_bytes <= 6_000


async def test_a_known_rooms_history_is_still_given_while_the_store_is_down(
    history_tail, memory_store, monkeypatch, room
):
    memory_store.insert(make_messages(room, 2))
    known = await message_list_recent(room=room)
    monkeypatch.setattr(memory_store, "latest", UnreachableStore().latest)
    assert await message_list_recent(room=room) == known


def test_of_two_reads_that_raced_a_new_message_neither_is_kept(room):
    tail = HistoryTail(size=100, max_bytes=1_000_000)
    stale = make_messages(room, 2)
    first, second = tail.begin_fill(room), tail.begin_fill(room)
    [newer] = make_messages(room, 1)
    tail.appended(newer)
    tail.fill(room, first, stale)
    tail.fill(room, second, stale)
    assert tail.recent(room, 100) is None


async def test_a_failed_read_leaves_nothing_behind(history_tail, memory_store, monkeypatch, room):
    monkeypatch.setattr(memory_store, "latest", UnreachableStore().latest)
    with pytest.raises(ChatError):
        await message_list_recent(room=room)
    assert history_tail._fills == {}
    assert history_tail.recent(room, 1) is None


def test_rooms_without_messages_count_against_the_memory_too():
    tail = HistoryTail(size=10, max_bytes=5_000)
    for number in range(100):
        tail.fill(f"empty-{number}", tail.begin_fill(f"empty-{number}"), [])
    assert tail.size_bytes <= 5_000
    assert tail.recent("empty-0", 1) is None
    assert tail.recent("empty-99", 1) == []


class HeldReads:
    """Counts the store's `latest` reads as they start, and holds each until `release()`."""

    def __init__(self, store, monkeypatch):
        self.count = 0
        self.gate = threading.Event()
        real = store.latest

        def latest(**arguments):
            self.count += 1
            self.gate.wait(10)
            return real(**arguments)

        monkeypatch.setattr(store, "latest", latest)

    def release(self) -> None:
        self.gate.set()


@pytest.fixture
def held_reads(memory_store, monkeypatch) -> HeldReads:
    held = HeldReads(memory_store, monkeypatch)
    yield held
    held.release()


async def until_reads(held: HeldReads, count: int) -> None:
    for _ in range(500):
        if held.count >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{held.count} reads of the store, not {count}")


async def test_joins_that_find_a_room_unknown_together_read_it_once(
    history_tail, memory_store, held_reads, room
):
    memory_store.insert(make_messages(room, 3))
    joins = [asyncio.create_task(message_list_recent(room=room)) for _ in range(20)]
    await until_reads(held_reads, 1)
    held_reads.release()
    histories = await asyncio.gather(*joins)
    assert held_reads.count == 1
    assert all(history == histories[0] and len(history) == 3 for history in histories)


async def test_a_join_after_a_message_was_stored_does_not_wait_for_an_older_read(
    history_tail, memory_store, held_reads, room
):
    memory_store.insert(make_messages(room, 1))
    first = asyncio.create_task(message_list_recent(room=room))
    await until_reads(held_reads, 1)
    [newer] = make_messages(room, 1)
    memory_store.insert([newer])
    history_tail.appended(newer)
    later = asyncio.create_task(message_list_recent(room=room))
    await until_reads(held_reads, 2)
    held_reads.release()
    await first
    assert (await later)[-1] == newer


async def test_joins_waiting_for_a_failed_read_are_told_it_failed(
    history_tail, memory_store, monkeypatch, room
):
    monkeypatch.setattr(memory_store, "latest", UnreachableStore().latest)
    held = HeldReads(memory_store, monkeypatch)
    joins = [asyncio.create_task(message_list_recent(room=room)) for _ in range(3)]
    await until_reads(held, 1)
    held.release()
    outcomes = await asyncio.gather(*joins, return_exceptions=True)
    assert held.count == 1
    assert all(isinstance(outcome, ChatError) for outcome in outcomes)


async def test_a_join_whose_shared_read_was_cancelled_reads_for_itself(
    history_tail, memory_store, held_reads, room
):
    memory_store.insert(make_messages(room, 2))
    first = asyncio.create_task(message_list_recent(room=room))
    await until_reads(held_reads, 1)
    waiting = asyncio.create_task(message_list_recent(room=room))
    await asyncio.sleep(0)
    first.cancel()
    await until_reads(held_reads, 2)
    held_reads.release()
    assert len(await waiting) == 2
