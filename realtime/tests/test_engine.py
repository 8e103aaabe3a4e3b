"""Engine.IO, bounded: each connection's outgoing queue has a cap, and the library hooks
this relies on are where python-socketio 5.18 / python-engineio 4.15 have them."""

import asyncio
import hashlib
import inspect
from importlib.metadata import version

import engineio
import engineio.exceptions
import pytest
import socketio
from engineio import packet as eio_packet
from engineio.async_socket import AsyncSocket
from engineio.payload import Payload
from socketio import packet as sio_packet

from realtime.engine import (
    BoundedEngineServer,
    BoundedSocketServer,
    DirectEmitManager,
    JsonOnlyPacket,
    OutboundQueue,
    TimerlessPollSocket,
)


@pytest.fixture(autouse=True)
def _keep_the_payload_limit():
    """Building a server sets Engine.IO's process-wide packet limit; put it back."""
    before = Payload.max_decode_packets
    yield
    Payload.max_decode_packets = before


def message(text: str) -> eio_packet.Packet:
    return eio_packet.Packet(eio_packet.MESSAGE, text)


def drain(queue: asyncio.Queue) -> list:
    items = []
    while not queue.empty():
        items.append(queue.get_nowait())
        queue.task_done()
    return items


async def test_packets_under_the_cap_wait_in_order():
    queue = OutboundQueue(max_bytes=100)
    for text in ("a" * 40, "b" * 40):
        await queue.put(message(text))
    assert [pkt.data for pkt in drain(queue)] == ["a" * 40, "b" * 40]
    assert queue.queued_bytes == 0


async def test_past_the_cap_what_waited_is_dropped_and_the_connection_told_to_close():
    queue = OutboundQueue(max_bytes=100)
    await queue.put(message("a" * 60))
    await queue.put(message("b" * 60))
    items = drain(queue)
    assert [getattr(item, "packet_type", None) for item in items] == [eio_packet.CLOSE, None]
    assert queue.overflowed


async def test_after_an_overflow_only_the_end_marker_is_taken_and_join_returns():
    queue = OutboundQueue(max_bytes=10)
    await queue.put(message("x" * 11))
    drain(queue)
    await queue.put(message("more"))
    assert queue.empty()
    queue.put_nowait(None)  # Engine.IO puts the marker back after reading it
    assert drain(queue) == [None]
    await asyncio.wait_for(queue.join(), timeout=1)


def test_each_engineio_connection_gets_a_bounded_queue():
    server = BoundedSocketServer(
        async_mode="asgi", send_queue_max_bytes=1234, polling_max_packets=64
    )
    assert isinstance(server.eio, BoundedEngineServer)
    socket = AsyncSocket(server.eio, "sid-1")
    assert isinstance(socket.queue, OutboundQueue)
    assert socket.queue.max_bytes == 1234


def test_a_polling_request_may_carry_up_to_the_configured_number_of_packets():
    BoundedSocketServer(async_mode="asgi", send_queue_max_bytes=1_000, polling_max_packets=64)
    assert Payload.max_decode_packets == 64
    assert len(Payload(encoded_payload="\x1e".join(["6"] * 64)).packets) == 64
    with pytest.raises(ValueError, match="Too many packets"):
        Payload(encoded_payload="\x1e".join(["6"] * 65))


def test_the_library_hooks_used_are_still_there():
    """If an upgrade moves one of these, realtime/engine.py must be rewritten for it."""
    assert version("python-engineio").startswith("4.")
    assert version("python-socketio").startswith("5.")
    assert callable(socketio.AsyncServer._engineio_server_class)
    assert callable(engineio.AsyncServer.create_queue)
    assert isinstance(Payload.max_decode_packets, int)


# Engine.IO's AsyncSocket.poll as TimerlessPollSocket was written against (4.15).
POLL_AS_TESTED = "826f58a9f3606db208e5d1266f075ad655b6eeda47b0a5616748624899ca5954"


def test_the_engineio_code_the_timerless_poll_stands_in_for_is_as_tested():
    """TimerlessPollSocket repeats AsyncSocket.poll without its timer, counts on the reading
    side ending a websocket's writer with None, and on new sockets being stored in
    `sockets`: if any of these changed, the subclass must be checked against the new code."""
    poll = inspect.getsource(AsyncSocket.poll)
    assert hashlib.sha256(poll.encode()).hexdigest() == POLL_AS_TESTED
    assert "await self.queue.put(None)" in inspect.getsource(AsyncSocket._websocket_handler)
    assert "self.sockets[sid] = s" in inspect.getsource(engineio.AsyncServer._handle_connect)


def socket_of(server: BoundedEngineServer, *, websocket: bool) -> AsyncSocket:
    server.ping_interval, server.ping_timeout = 0.01, 0.01
    server.sockets["sid-1"] = AsyncSocket(server, "sid-1")
    socket = server.sockets["sid-1"]
    socket.upgraded = websocket
    return socket


def bounded_engine() -> BoundedEngineServer:
    return BoundedSocketServer(
        async_mode="asgi", send_queue_max_bytes=10_000, polling_max_packets=16
    ).eio


async def test_a_websockets_writer_waits_for_its_next_packet_past_any_timeout():
    socket = socket_of(bounded_engine(), websocket=True)
    assert isinstance(socket, TimerlessPollSocket)
    waiting = asyncio.ensure_future(socket.poll())
    await asyncio.sleep(0.1)  # five times Engine.IO's timeout here
    assert not waiting.done()
    socket.queue.put_nowait(message("late"))
    socket.queue.put_nowait(message("with it"))
    assert [pkt.data for pkt in await asyncio.wait_for(waiting, 1)] == ["late", "with it"]


async def test_a_websockets_writer_takes_what_waits_up_to_the_end_marker():
    socket = socket_of(bounded_engine(), websocket=True)
    for item in (message("a"), message("b"), None):
        socket.queue.put_nowait(item)
    assert [pkt.data for pkt in await socket.poll()] == ["a", "b"]
    assert await socket.poll() == []  # the marker: the writer ends
    await asyncio.wait_for(socket.queue.join(), timeout=1)


async def test_a_polling_request_still_ends_when_nothing_comes_in_time():
    socket = socket_of(bounded_engine(), websocket=False)
    with pytest.raises(engineio.exceptions.QueueEmpty):
        await asyncio.wait_for(socket.poll(), timeout=1)


async def test_a_reader_waiting_for_a_packet_gets_it_as_soon_as_it_is_queued():
    queue = OutboundQueue(max_bytes=100)
    waiting = queue.get()
    assert not waiting.done()
    queue.put_nowait(message("hello"))
    assert (await waiting).data == "hello"
    assert queue.empty()


async def test_a_reader_that_gave_up_does_not_swallow_the_next_packet():
    queue = OutboundQueue(max_bytes=100)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(queue.get(), timeout=0.01)
    queue.put_nowait(message("kept"))
    assert (await asyncio.wait_for(queue.get(), timeout=1)).data == "kept"


async def connected(server, eio_sid: str) -> tuple[str, AsyncSocket]:
    socket = AsyncSocket(server.eio, eio_sid)
    server.eio.sockets[eio_sid] = socket
    sid = await server.manager.connect(eio_sid, "/")
    return sid, socket


async def test_a_room_emit_puts_one_encoded_packet_on_each_members_queue_but_the_skipped():
    server = BoundedSocketServer(
        async_mode="asgi",
        client_manager=DirectEmitManager(),
        send_queue_max_bytes=10_000,
        polling_max_packets=16,
    )
    server.manager.initialize()
    (ana, ana_socket), (bob, bob_socket), (_cem, cem_socket) = [
        await connected(server, f"eio-{name}") for name in ("ana", "bob", "cem")
    ]
    for sid in (ana, bob):
        await server.enter_room(sid, "room:x")
    await server.emit("news", {"text": "hi"}, room="room:x", skip_sid=bob)
    assert [pkt.data for pkt in drain(ana_socket.queue)] == ['2["news",{"text":"hi"}]']
    assert drain(bob_socket.queue) == []
    assert drain(cem_socket.queue) == []


def test_a_json_only_packet_encodes_nested_payloads_as_the_library_does():
    roster = [{"id": f"p{n}", "username": f"user {n}", "room": "React"} for n in range(3)]
    ours = JsonOnlyPacket(sio_packet.EVENT, data=["chatroom_users", roster], namespace="/")
    stock = sio_packet.Packet(sio_packet.EVENT, data=["chatroom_users", roster], namespace="/")
    assert ours.encode() == stock.encode()


def test_a_json_only_packet_is_binary_only_when_its_payload_is_bytes():
    assert JsonOnlyPacket.data_is_binary(b"\x00\x01")
    assert not JsonOnlyPacket.data_is_binary({"nested": [{"deep": "text"}]})


async def test_a_connection_whose_queue_overflows_on_a_room_emit_is_ended(monkeypatch):
    server = BoundedSocketServer(
        async_mode="asgi",
        client_manager=DirectEmitManager(),
        send_queue_max_bytes=100,
        polling_max_packets=16,
    )
    server.manager.initialize()
    ended = asyncio.Event()

    async def disconnected(sid, reason):
        ended.set()

    server.on("disconnect", disconnected)
    sid, socket = await connected(server, "eio-slow")
    socket.connected = True
    await server.enter_room(sid, "room:x")
    for _ in range(3):
        await server.emit("news", "x" * 60, room="room:x")
    await asyncio.wait_for(ended.wait(), timeout=1)
    assert socket.closed
