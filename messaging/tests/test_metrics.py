"""What messaging counts for /metrics: messages stored and delivered, store latency, the
writer's queue, HarperDB's errors; and the message store's ping for /healthz."""

import asyncio
import socket
import threading
import time

import pytest
from prometheus_client import REGISTRY

from messaging.harperdb import HarperDBClient, HarperDBError, HarperDBUnavailable
from messaging.local_harperdb import free_port
from messaging.store import InMemoryMessageStore, harperdb_store
from messaging.tests.factories import make_messages


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


class HeldStore(InMemoryMessageStore):
    """Its first insert waits until `release` is set; `writing` tells that it started."""

    def __init__(self):
        super().__init__()
        self.writing = threading.Event()
        self.release = threading.Event()

    def insert(self, messages):
        self.writing.set()
        self.release.wait(timeout=5)
        return super().insert(messages)


async def in_a_thread(function, /, *args, **kwargs):
    return await asyncio.to_thread(function, *args, **kwargs)


async def test_a_batch_counts_its_messages_stored_and_delivered_and_one_store_time(
    start_writer, room
):
    before = {
        name: sample(name)
        for name in (
            "devrooms_messages_stored_total",
            "devrooms_messages_delivered_total",
            "devrooms_store_seconds_count",
        )
    }
    writer = start_writer(InMemoryMessageStore())
    await asyncio.gather(*(writer.submit(message) for message in make_messages(room, 3)))
    assert sample("devrooms_messages_stored_total") - before["devrooms_messages_stored_total"] == 3
    delivered = sample("devrooms_messages_delivered_total")
    assert delivered - before["devrooms_messages_delivered_total"] == 3
    assert sample("devrooms_store_seconds_count") - before["devrooms_store_seconds_count"] == 1


async def test_the_writers_queue_depth_is_what_waits_behind_the_write_in_flight(start_writer, room):
    store = HeldStore()
    writer = start_writer(store, run_blocking=in_a_thread)
    first, *waiting = make_messages(room, 4)
    stored = [writer.submit(first)]
    await asyncio.to_thread(store.writing.wait, 5)
    stored += [writer.submit(message) for message in waiting]
    assert sample("devrooms_writer_queue") == 3
    store.release.set()
    await asyncio.gather(*stored)
    assert sample("devrooms_writer_queue") == 0


def test_an_unreachable_harperdb_counts_as_unavailable():
    client = HarperDBClient(url=f"http://127.0.0.1:{free_port()}", username="u", password="p")
    before = sample("devrooms_harperdb_errors_total", kind="unavailable")
    with pytest.raises(HarperDBUnavailable):
        client.ping()
    assert sample("devrooms_harperdb_errors_total", kind="unavailable") == before + 1


def test_a_refused_request_counts_as_refused(harperdb_settings):
    client = HarperDBClient(
        url=harperdb_settings["HARPERDB_URL"], username="devrooms", password="wrong"
    )
    before = sample("devrooms_harperdb_errors_total", kind="refused")
    with pytest.raises(HarperDBError) as refused:
        client.ping()
    assert refused.value.status == 401
    assert sample("devrooms_harperdb_errors_total", kind="refused") == before + 1


def test_the_message_store_answers_a_ping(harperdb_settings):
    harperdb_store().ping(timeout=1.0)


def test_a_ping_gives_up_after_its_own_timeout_not_the_clients():
    with socket.socket() as silent:  # accepts connections (its backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        client = HarperDBClient(
            url=f"http://127.0.0.1:{silent.getsockname()[1]}", username="u", password="p"
        )
        started = time.monotonic()
        with pytest.raises(HarperDBUnavailable):
            client.ping(timeout=0.3)
        assert time.monotonic() - started < 1.0
