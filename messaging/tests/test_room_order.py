"""A room's order across processes (messaging/room_order.py), on a real Redis: two
`RedisRoomOrder`s with clusters of one prefix stand for two server processes."""

from __future__ import annotations

import asyncio

import orjson
import pytest
import redis.asyncio

from chatsite.cluster import RedisCluster
from messaging.room_order import RedisRoomOrder
from messaging.store import Message, MessageIdClock

ROOM = "React"
clock = MessageIdClock()


def message(text: str, room: str = ROOM) -> Message:
    return Message.compose(room=room, username="ana", text=text, client_id=None, clock=clock)


@pytest.fixture
async def processes(redis_url, redis_prefix):
    """Two processes' orders, and a listener on their events channel."""
    clusters = [RedisCluster(url=redis_url, prefix=redis_prefix, ttl_seconds=3) for _ in "ab"]
    orders = [RedisRoomOrder(cluster) for cluster in clusters]
    listener = redis.asyncio.Redis.from_url(redis_url).pubsub()
    await listener.subscribe(clusters[0].channel)
    yield orders, listener
    await listener.aclose()
    await listener.connection_pool.disconnect()
    for cluster in clusters:
        await cluster.stop()


async def published(listener, count: int) -> list[str]:
    """The texts of the next `count` messages published on the channel."""
    texts: list[str] = []
    async with asyncio.timeout(5):
        while len(texts) < count:
            event = await listener.get_message(ignore_subscribe_messages=True, timeout=1)
            if event is not None:
                topic, payload = orjson.loads(event["data"])
                assert topic == "room"
                texts.append(payload["data"]["message"])
    return texts


async def test_places_of_two_processes_interleave_in_one_increasing_order(processes):
    (a, b), _ = processes
    first = await a.assign([message("a1"), message("a2")])
    second = await b.assign([message("b1")])
    third = await a.assign([message("a3")])
    ids = [m.id for m in first + second + third]
    assert ids == sorted(ids)
    assert len(set(ids)) == 4
    times = [m.created_ms for m in first + second + third]
    assert times == sorted(times)


async def test_a_message_waits_for_its_predecessors_from_another_process(processes):
    (a, b), listener = processes
    [early] = await a.assign([message("early")])
    [late] = await b.assign([message("late")])
    await b.release([late], [])  # stored first, but placed second
    await a.release([early], [])
    assert await published(listener, 2) == ["early", "late"]


async def test_a_dropped_place_does_not_hold_the_room_up(processes):
    (a, b), listener = processes
    [lost] = await a.assign([message("never stored")])
    [kept] = await b.assign([message("kept")])
    await b.release([kept], [])
    await a.release([], [lost])
    await b.release([], [])  # nothing more: only what is released goes out
    [marker] = await b.assign([message("marker")])
    await b.release([marker], [])
    assert await published(listener, 2) == ["kept", "marker"]


async def test_rooms_do_not_wait_for_each_other(processes):
    (a, b), listener = processes
    [waiting] = await a.assign([message("waits", room="React")])
    [other] = await b.assign([message("goes", room="Vue")])
    await b.release([other], [])
    assert await published(listener, 1) == ["goes"]
    await a.release([waiting], [])
    assert await published(listener, 1) == ["waits"]


async def test_places_a_dead_process_held_are_released_by_the_one_that_reaps_it(processes):
    (a, b), listener = processes
    await a.assign([message("its process died")])
    [after] = await b.assign([message("after")])
    await b.release([after], [])
    await b._release_lost(a.cluster.process_id)
    assert await published(listener, 1) == ["after"]


def test_a_server_process_is_ready_to_clear_a_lost_process_before_storing_anything(
    redis_url, redis_prefix
):
    """Loading the app (as Daphne does) is enough for this process to release a dead
    process's places and remove its people: it may never have stored a message itself."""
    import os
    import subprocess
    import sys

    code = (
        "import django; django.setup(); import chatsite.asgi; "
        "from chatsite.cluster import cluster; "
        "print(sorted(h.__qualname__ for h in cluster()._lost_handlers))"
    )
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "chatsite.settings",
        "DJANGO_SECRET_KEY": "tests-only",
        "REDIS_URL": redis_url,
        "CHAT_REDIS_PREFIX": redis_prefix,
    }
    completed = subprocess.run(
        [sys.executable, "-c", code], env=environment, capture_output=True, text=True, check=True
    )
    handlers = completed.stdout.strip().splitlines()[-1]
    assert handlers == "['RedisPresence._reap_and_announce', 'RedisRoomOrder._release_lost']"
