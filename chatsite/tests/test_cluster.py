"""This process among the others on Redis (chatsite/cluster.py), on a real Redis."""

import asyncio
import socket

import pytest

from chatsite.cluster import ClusterUnavailable, RedisCluster


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_an_unreachable_redis_refuses_each_start_and_never_leaves_one_waiting():
    nowhere = RedisCluster(url=f"redis://127.0.0.1:{unused_port()}/0", prefix="x", ttl_seconds=3)
    for _attempt in range(2):
        with pytest.raises(ClusterUnavailable):
            await asyncio.wait_for(nowhere.start(), timeout=5)


async def test_every_process_hears_what_one_broadcasts_in_order(redis_url, redis_prefix):
    processes = [RedisCluster(url=redis_url, prefix=redis_prefix, ttl_seconds=3) for _ in "ab"]
    heard: dict[str, list[int]] = {"a": [], "b": []}
    done = asyncio.Event()
    for name, process in zip("ab", processes, strict=True):

        async def hear(payload, name=name):
            heard[name].append(payload["n"])
            if all(len(numbers) == 50 for numbers in heard.values()):
                done.set()

        process.on_event("test", hear)
        await process.start()
    try:
        for number in range(50):
            await processes[number % 2].broadcast("test", {"n": number})
        await asyncio.wait_for(done.wait(), timeout=5)
        assert heard["a"] == heard["b"] == list(range(50))
    finally:
        for process in processes:
            await process.stop()


async def test_a_process_that_stops_its_heartbeat_is_lost_once(redis_url, redis_prefix):
    survivors = [RedisCluster(url=redis_url, prefix=redis_prefix, ttl_seconds=3) for _ in "ab"]
    dead = RedisCluster(url=redis_url, prefix=redis_prefix, ttl_seconds=3)
    lost: list[str] = []

    async def on_lost(process: str) -> None:
        lost.append(process)

    for process in [*survivors, dead]:
        process.on_process_lost(on_lost)
        await process.start()
    try:
        await dead.stop()
        await asyncio.gather(*(process._look_for_lost() for process in survivors))
        assert lost == [dead.process_id]
    finally:
        for process in survivors:
            await process.stop()


async def test_a_process_whose_heartbeat_expired_is_told_it_was_taken_for_dead(
    redis_url, redis_prefix
):
    process = RedisCluster(url=redis_url, prefix=redis_prefix, ttl_seconds=3)
    told: list[bool] = []

    async def taken_for_dead() -> None:
        told.append(True)

    process.on_taken_for_dead(taken_for_dead)
    await process.start()
    try:
        await process._beat_and_look()
        assert told == []  # alive all along
        await process.redis().delete(process.heartbeat_key(process.process_id))  # expired
        await process._beat_and_look()
        assert told == [True]
    finally:
        await process.stop()
