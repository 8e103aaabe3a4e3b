"""Helpers for futures that several waiters share."""

from __future__ import annotations

import asyncio


def mark_exception_seen(future: asyncio.Future) -> None:
    """A done callback for a shared future: its error counts as retrieved, so that a failure
    nobody happened to wait for is not logged as "Future exception was never retrieved"."""
    if not future.cancelled():
        future.exception()
