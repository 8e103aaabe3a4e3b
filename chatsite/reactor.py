"""Twisted's asyncio reactor, with writes flushed once per loop iteration.

Twisted buffers every `transport.write` and registers the socket for write readiness
(`addWriter`); the stock asyncio reactor makes that an `add_writer` on the asyncio loop,
so one chat message delivered to 20 connections costs 20 registrations with epoll, 20
wake-ups and 20 removals, each through Twisted's logging context, around the 20 `send`
calls that do the work. This reactor instead collects the writers added while the loop
runs its callbacks and, in one callback at the end, lets each write what it can at once:
a socket whose buffer drains is done without ever being registered; only a socket that
would block is handed to the stock reactor to wait for write readiness, as before.

Written for Twisted 26.10 (pinned to that minor version in pyproject.toml): it overrides
the reactor's public `IReactorFDSet` methods and calls its `_readOrWrite`, as the stock
reactor's own write-readiness callback does; `chatsite/tests/test_reactor.py` breaks if
those move. Installed by `chatsite.serve` before Daphne, which keeps an asyncio reactor
it finds installed.
"""

from __future__ import annotations

import asyncio

from twisted.internet.asyncioreactor import AsyncioSelectorReactor
from twisted.internet.interfaces import IWriteDescriptor


class FlushingAsyncioReactor(AsyncioSelectorReactor):
    def __init__(self, eventloop: asyncio.AbstractEventLoop | None = None):
        super().__init__(eventloop)
        self._to_flush: dict[IWriteDescriptor, None] = {}  # an ordered set
        self._flushing: set[IWriteDescriptor] = set()
        self._flush_scheduled = False

    def addWriter(self, writer: IWriteDescriptor) -> None:
        if writer in self._to_flush or writer in self._writers or writer in self._flushing:
            return
        if writer in self._continuousPolling._writers:
            return
        self._to_flush[writer] = None
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self._asyncioEventloop.call_soon(self._flush)

    def removeWriter(self, writer: IWriteDescriptor) -> None:
        self._flushing.discard(writer)
        if writer in self._to_flush:
            del self._to_flush[writer]
            return
        super().removeWriter(writer)

    def getWriters(self) -> list[IWriteDescriptor]:
        return [*super().getWriters(), *self._to_flush]

    def removeAll(self) -> list:
        waiting = list(self._to_flush)
        self._to_flush.clear()
        removed = super().removeAll()
        return removed + [writer for writer in waiting if writer not in removed]

    def _flush(self) -> None:
        self._flush_scheduled = False
        writers, self._to_flush = self._to_flush, {}
        for writer in writers:
            self._flushing.add(writer)
            try:
                # What the stock reactor runs when the socket is writable: it sends what the
                # socket takes, and calls stopWriting (removeWriter) once nothing is left.
                self._readOrWrite(writer, False)
            except Exception:  # one connection's failure must not hold up the others'
                self._log.failure("flushing {writer}", writer=writer)
            if writer in self._flushing:  # some is left: wait for the socket, as before
                self._flushing.discard(writer)
                super().addWriter(writer)


def install(eventloop: asyncio.AbstractEventLoop) -> FlushingAsyncioReactor:
    from twisted.internet.main import installReactor

    reactor = FlushingAsyncioReactor(eventloop)
    installReactor(reactor)
    return reactor
