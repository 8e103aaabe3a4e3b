"""This server process among the others that share rooms through Redis (REDIS_URL).

Two things every process needs from the others, both on Redis:
- one events channel (Redis pub/sub): what one process publishes, every process receives,
  itself included, in the order Redis took the publications; each then acts for its own
  connections. Scripts publish on it too (`channel`, `envelope`), which is how a room's
  messages go out in their stored order (`messaging.room_order`).
- liveness: each process renews a heartbeat key that expires after CHAT_PRESENCE_TTL_SECONDS.
  Every process checks the others' every `tick`; the one that first claims a dead process's
  place in the process set (SREM answers 1 to one caller only) runs the `on_process_lost`
  hooks, which clear what the dead process held (its people, its unreleased messages).

Without REDIS_URL there is one process: `LocalCluster` hands events straight to its handlers.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import redis.asyncio
from django.conf import settings

logger = logging.getLogger(__name__)

POOL_CONNECTIONS = 32  # to Redis, per process; the events channel holds one of them
POOL_WAIT_SECONDS = 10.0

CLUSTER_UNAVAILABLE = "The chat cannot reach its other servers right now; please retry soon."


class ClusterUnavailable(Exception):
    """Redis did not answer when this process joined the others."""


EventHandler = Callable[[dict[str, Any]], Awaitable[None]]
LostHandler = Callable[[str], Awaitable[None]]
TakenForDeadHandler = Callable[[], Awaitable[None]]


def envelope(topic: str, payload: dict[str, Any]) -> bytes:
    """An event as it travels on the channel."""
    return orjson.dumps([topic, payload])


class LocalCluster:
    """One process: events go straight to this process's handlers."""

    process_id = "local"
    shared = False

    def __init__(self) -> None:
        self._handlers: dict[str, EventHandler] = {}

    def on_event(self, topic: str, handler: EventHandler) -> None:
        self._handlers[topic] = handler

    def on_process_lost(self, handler: LostHandler) -> None:
        """No other process to lose."""

    def on_taken_for_dead(self, handler: TakenForDeadHandler) -> None:
        """Nobody to take this process for dead."""

    async def start(self) -> None:
        return None

    async def broadcast(self, topic: str, payload: dict[str, Any]) -> None:
        await self._handlers[topic](payload)


class RedisCluster:
    shared = True

    def __init__(self, *, url: str, prefix: str, ttl_seconds: float):
        self.url = url
        self.prefix = prefix
        self.ttl_ms = max(1, int(ttl_seconds * 1000))
        self.tick = min(1.0, ttl_seconds / 3)
        self.channel = f"{prefix}:events"
        self.process_id = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self._handlers: dict[str, EventHandler] = {}
        self._lost_handlers: list[LostHandler] = []
        self._taken_for_dead_handlers: list[TakenForDeadHandler] = []
        self._clients: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._started: asyncio.Future | None = None
        self._tasks: list[asyncio.Task] = []

    def key(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    @property
    def processes_key(self) -> str:
        return self.key("processes")

    def heartbeat_key(self, process_id: str) -> str:
        return self.key("process", process_id)

    def redis(self) -> redis.asyncio.Redis:
        """This event loop's client (a loop's connections cannot serve another loop)."""
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            # Callers wait for a free connection rather than fail when many changes come at
            # once (hundreds of people leaving together); the wait is bounded.
            pool = redis.asyncio.BlockingConnectionPool.from_url(
                self.url,
                max_connections=POOL_CONNECTIONS,
                timeout=POOL_WAIT_SECONDS,
                socket_connect_timeout=2,
            )
            client = redis.asyncio.Redis.from_pool(pool)
            self._clients[loop] = client
        return client

    def on_event(self, topic: str, handler: EventHandler) -> None:
        self._handlers[topic] = handler

    def on_process_lost(self, handler: LostHandler) -> None:
        self._lost_handlers.append(handler)

    def on_taken_for_dead(self, handler: TakenForDeadHandler) -> None:
        """`handler` runs when this process finds its heartbeat expired (it was frozen or cut
        off from Redis for CHAT_PRESENCE_TTL_SECONDS): the others have stopped counting its
        connections, and may have removed its people."""
        self._taken_for_dead_handlers.append(handler)

    async def start(self) -> None:
        """Subscribe and begin the heartbeat, once per process; returns once subscribed, so
        that nothing published after it is missed."""
        if self._started is None:
            self._started = asyncio.get_running_loop().create_future()
            try:
                await self._beat()
            except redis.RedisError as error:
                self._started = None  # the next caller tries again
                raise ClusterUnavailable(CLUSTER_UNAVAILABLE) from error
            self._tasks = [
                asyncio.create_task(self._listen(), name="cluster-events"),
                asyncio.create_task(self._keep_alive(), name="cluster-heartbeat"),
            ]
        await asyncio.shield(self._started)

    async def broadcast(self, topic: str, payload: dict[str, Any]) -> None:
        """Publish to every process that `start`ed (one without connections need not)."""
        await self.redis().publish(self.channel, envelope(topic, payload))

    async def _listen(self) -> None:
        while True:
            pubsub = self.redis().pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                if not self._started.done():
                    self._started.set_result(None)
                async for message in pubsub.listen():
                    if message is not None and message["type"] == "message":
                        await self._dispatch(message["data"])
            except (redis.ConnectionError, redis.TimeoutError) as error:
                logger.warning("events channel lost (%s); subscribing again", error)
                await asyncio.sleep(self.tick)
            finally:
                await pubsub.aclose()

    async def _dispatch(self, data: bytes) -> None:
        try:
            topic, payload = orjson.loads(data)
            await self._handlers[topic](payload)
        except Exception:  # one bad event must not stop the channel
            logger.exception("handling a cluster event failed")

    async def _beat(self) -> bool:
        """Renew the heartbeat; True when it had expired (or was never there)."""
        pipe = self.redis().pipeline(transaction=False)
        pipe.set(self.heartbeat_key(self.process_id), "1", px=self.ttl_ms, get=True)
        pipe.sadd(self.processes_key, self.process_id)
        previous, _added = await pipe.execute()
        return previous is None

    async def _keep_alive(self) -> None:
        while True:
            await asyncio.sleep(self.tick)
            try:
                await self._beat_and_look()
            except redis.RedisError as error:
                logger.warning("heartbeat failed: %s", error)

    async def _beat_and_look(self) -> None:
        if await self._beat():
            logger.error("this process's heartbeat had expired: the others took it for dead")
            for handler in self._taken_for_dead_handlers:
                try:
                    await handler()
                except Exception:
                    logger.exception("after being taken for dead")
        await self._look_for_lost()

    async def _look_for_lost(self) -> None:
        client = self.redis()
        others = [
            process.decode()
            for process in await client.smembers(self.processes_key)
            if process.decode() != self.process_id
        ]
        if not others:
            return
        pipe = client.pipeline(transaction=False)
        for process in others:
            pipe.exists(self.heartbeat_key(process))
        alive = await pipe.execute()
        for process, is_alive in zip(others, alive, strict=True):
            if not is_alive and await client.srem(self.processes_key, process):
                logger.warning("process %s stopped its heartbeat: clearing what it held", process)
                for handler in self._lost_handlers:
                    try:
                        await handler(process)
                    except Exception:
                        logger.exception("clearing after process %s failed", process)

    async def stop(self) -> None:
        """Leave the cluster at once (a polite shutdown; a killed process times out): the
        others clear what it held at their next look. `start` may follow."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks, self._started = [], None
        client = self.redis()
        await client.delete(self.heartbeat_key(self.process_id))
        await client.aclose()
        self._clients.pop(asyncio.get_running_loop(), None)


def _make_cluster() -> LocalCluster | RedisCluster:
    if not settings.REDIS_URL:
        return LocalCluster()
    return RedisCluster(
        url=settings.REDIS_URL,
        prefix=settings.CHAT_REDIS_PREFIX,
        ttl_seconds=settings.CHAT_PRESENCE_TTL_SECONDS,
    )


_cluster: LocalCluster | RedisCluster | None = None


def cluster() -> LocalCluster | RedisCluster:
    """This process's place in the cluster (made on first use, from the settings)."""
    global _cluster
    if _cluster is None:
        _cluster = _make_cluster()
    return _cluster
