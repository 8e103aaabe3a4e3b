"""Processes of one cluster on the test's Redis, for the shared presence's tests."""

import pytest
import redis.asyncio

from chatsite.cluster import RedisCluster


@pytest.fixture
async def make_cluster(redis_url, redis_prefix):
    """Makes a process's place in the test's cluster (its Redis and key prefix); each one
    made is stopped, and the prefix's keys deleted, when the test ends."""
    made: list[RedisCluster] = []

    def make(*, ttl_seconds: float = 30.0) -> RedisCluster:
        cluster = RedisCluster(url=redis_url, prefix=redis_prefix, ttl_seconds=ttl_seconds)
        made.append(cluster)
        return cluster

    yield make
    for cluster in made:
        await cluster.stop()
    client = redis.asyncio.Redis.from_url(redis_url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{redis_prefix}:*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()
