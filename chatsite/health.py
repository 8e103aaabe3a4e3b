"""Whether this process can serve: its database, Redis (when REDIS_URL is set) and the
message store, each asked once, all at the same time, each given CHECK_TIMEOUT_SECONDS.

The message store's check comes from the layer that owns it (plugged in by `chatsite.urls`);
this module reaches only Django's database and Redis itself.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import redis.asyncio
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection

logger = logging.getLogger(__name__)

CHECK_TIMEOUT_SECONDS = 1.0
OK, FAILED, TIMEOUT = "ok", "failed", "timeout"

Check = Callable[[], Awaitable[None]]


def _database_ping() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


async def database_ping() -> None:
    """Raise unless Django's database answers (on the ORM's own thread and connection)."""
    await sync_to_async(_database_ping)()


async def redis_ping() -> None:
    """Raise unless Redis at REDIS_URL answers PING."""
    client = redis.asyncio.Redis.from_url(
        settings.REDIS_URL,
        socket_timeout=CHECK_TIMEOUT_SECONDS,
        socket_connect_timeout=CHECK_TIMEOUT_SECONDS,
    )
    try:
        await client.ping()
    finally:
        await client.aclose()


async def _outcome(name: str, check: Check) -> str:
    try:
        await asyncio.wait_for(check(), CHECK_TIMEOUT_SECONDS)
    except TimeoutError:
        logger.warning("health check %s: no answer within %s s", name, CHECK_TIMEOUT_SECONDS)
        return TIMEOUT
    except Exception as error:  # whatever the failure, the answer is "failed"
        logger.warning("health check %s failed: %s", name, error)
        return FAILED
    return OK


async def health_checks_run(*, message_store: Check) -> dict[str, str]:
    """Each check's outcome (`ok`, `failed` or `timeout`), this process's first."""
    checks: dict[str, Check] = {"database": database_ping, "harperdb": message_store}
    if settings.REDIS_URL:
        checks["redis"] = redis_ping
    outcomes = await asyncio.gather(*(_outcome(name, check) for name, check in checks.items()))
    return {"process": OK, **dict(zip(checks, outcomes, strict=True))}
