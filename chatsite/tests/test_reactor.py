"""The flushing reactor (chatsite/reactor.py) over real TCP connections on loopback."""

from __future__ import annotations

import asyncio

import pytest
import twisted
from twisted.internet import protocol
from twisted.internet.asyncioreactor import AsyncioSelectorReactor

from chatsite.reactor import FlushingAsyncioReactor


def test_written_for_the_twisted_it_is_pinned_to():
    assert twisted.__version__.startswith("26.10.")
    # What the flushing reactor relies on besides the IReactorFDSet methods it overrides.
    for name in ("_readOrWrite", "_writers", "_continuousPolling", "_asyncioEventloop"):
        assert hasattr(AsyncioSelectorReactor(asyncio.new_event_loop()), name), name


class Collecting(protocol.Protocol):
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.received = bytearray()
        self.closed = loop.create_future()

    def dataReceived(self, data: bytes) -> None:
        self.received += data

    def connectionLost(self, reason=None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)


class Link:
    """A server and a client connection through one reactor, and the epoll registrations
    for writing that the reactor asked its loop for."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self.registrations = 0
        add_writer = loop.add_writer

        def counting_add_writer(*args):
            self.registrations += 1
            return add_writer(*args)

        loop.add_writer = counting_add_writer
        self.reactor = FlushingAsyncioReactor(loop)
        self.server: Collecting | None = None
        self.client = Collecting(loop)

    async def open(self) -> None:
        accepted = self.loop.create_future()

        class Factory(protocol.Factory):
            def buildProtocol(factory, address):
                self.server = Collecting(self.loop)
                accepted.set_result(None)
                return self.server

        port = self.reactor.listenTCP(0, Factory(), interface="127.0.0.1")
        connected = self.loop.create_future()
        client = self.client

        class ClientFactory(protocol.ClientFactory):
            def buildProtocol(factory, address):
                connected.set_result(None)
                return client

        self.reactor.connectTCP("127.0.0.1", port.getHost().port, ClientFactory())
        await asyncio.wait_for(asyncio.gather(accepted, connected), 5)
        await asyncio.sleep(0.05)  # the connect's own write registration is done with
        self.registrations = 0

    async def received(self, size: int) -> bytes:
        for _ in range(500):
            if len(self.client.received) >= size:
                break
            await asyncio.sleep(0.01)
        return bytes(self.client.received)


@pytest.fixture
def link():
    loop = asyncio.new_event_loop()
    made = Link(loop)
    loop.run_until_complete(made.open())
    yield made
    made.reactor.removeAll()
    loop.close()


def test_small_writes_go_out_together_without_waiting_for_the_socket(link):
    async def scenario():
        for part in (b"one ", b"two ", b"three"):
            link.server.transport.write(part)
        assert link.server.transport in link.reactor.getWriters()  # until the loop flushes
        return await link.received(13)

    assert link.loop.run_until_complete(scenario()) == b"one two three"
    assert link.registrations == 0
    assert link.reactor.getWriters() == []


def test_what_the_socket_cannot_take_at_once_waits_for_it_and_arrives_whole(link):
    payload = bytes(range(256)) * 64 * 1024  # 16 MiB: far beyond loopback's socket buffers

    async def scenario():
        link.server.transport.write(payload)
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        return await link.received(len(payload))

    assert link.loop.run_until_complete(scenario()) == payload
    assert link.registrations >= 1  # it did wait for the socket
    assert link.reactor.getWriters() == []  # and stopped once drained


def test_closing_after_a_write_sends_it_first(link):
    async def scenario():
        link.server.transport.write(b"goodbye")
        link.server.transport.loseConnection()
        await asyncio.wait_for(link.client.closed, 5)
        return bytes(link.client.received)

    assert link.loop.run_until_complete(scenario()) == b"goodbye"


def test_a_writer_waiting_for_its_flush_is_among_those_removed_at_shutdown(link):
    link.server.transport.write(b"never flushed")
    removed = link.reactor.removeAll()
    assert link.server.transport in removed
    assert link.reactor.getWriters() == []


def test_a_writer_that_fails_while_flushing_does_not_hold_up_the_others(link, monkeypatch):
    stock = link.reactor._readOrWrite
    failures = []

    def failing_once_for_the_client(selectable, read):
        if selectable is link.client.transport and not failures:
            failures.append(selectable)
            raise RuntimeError("a bug in one connection's write")
        return stock(selectable, read)

    monkeypatch.setattr(link.reactor, "_readOrWrite", failing_once_for_the_client)

    async def scenario():
        link.client.transport.write(b"retried")  # flushed first, and fails
        link.server.transport.write(b"hello")
        hello = await link.received(5)
        for _ in range(500):  # the client's is left to the stock reactor, which retries it
            if len(link.server.received) >= 7:
                break
            await asyncio.sleep(0.01)
        return hello, bytes(link.server.received)

    assert link.loop.run_until_complete(scenario()) == (b"hello", b"retried")
    assert failures == [link.client.transport]
