"""Engine.IO, bounded: a cap on what waits to be sent to one connection, and on how many
packets one polling request may carry.

Written for python-socketio 5.18 / python-engineio 4.15 (pinned to those minor versions in
pyproject.toml); `realtime/tests/test_engine.py` breaks if the hooks used here move.
- `engineio.AsyncServer.create_queue` (documented) makes each connection's outgoing queue;
  ours refuses to grow past `max_bytes`: the connection is closed instead, and what waited
  is dropped. A client that stops reading then reconnects and catches up from history.
- `socketio.AsyncServer._engineio_server_class` is the hook python-socketio's own servers
  implement to pick their Engine.IO server.
- A client manager (`client_manager=`, documented) decides how an emit reaches a room's
  connections; `DirectEmitManager` skips the task the stock one starts per recipient.
- A websocket's writer waits for its queue without a timer (`TimerlessPollSocket`): Engine.IO
  creates each connection's `AsyncSocket` itself, with no hook to choose its class, and
  stores it in the server's `sockets` map, which is ours (`SocketMap`); the map gives the
  socket the subclass as it is stored. After `engineio.AsyncServer.shutdown` the server has
  a plain dict again, and new sockets keep Engine.IO's own `poll`.
- `engineio.payload.Payload.max_decode_packets` is the setting the library's maintainer
  points to for the number of packets in one polling request; past it, Engine.IO drops
  the whole request silently, so the transport limits refuse such a request before it
  gets there (`realtime/transport_limits.py`).
"""

from __future__ import annotations

import asyncio
from collections import deque

import engineio
import engineio.exceptions
import socketio
from engineio import packet as eio_packet
from engineio.async_socket import AsyncSocket
from engineio.payload import Payload
from socketio import packet as sio_packet

CLOSE = eio_packet.Packet(eio_packet.CLOSE)
# Built once: `str | bytes` written in a call builds a new union on every call (once per
# packet here), and isinstance checks a tuple three times faster.
TEXT_OR_BYTES = (str, bytes)
BYTES = (bytes, bytearray)


def packet_size(pkt: eio_packet.Packet | None) -> int:
    """What a queued packet costs, near enough: the length of its data."""
    data = getattr(pkt, "data", None)
    return len(data) if isinstance(data, TEXT_OR_BYTES) else 16


class OutboundQueue:
    """An Engine.IO connection's outgoing queue, bounded by the size of what waits in it.

    It keeps the part of `asyncio.Queue`'s interface that Engine.IO uses, with one change
    that matters for speed: `get()` hands back a future (already resolved when a packet is
    waiting) instead of a coroutine, so a polling request's `wait_for(queue.get(), timeout)`
    starts no task, and a websocket's writer waits on the future alone
    (`TimerlessPollSocket`).

    Past `max_bytes` it overflows once: everything waiting is dropped, a CLOSE packet and
    the end-of-queue marker (None) are queued, and from then on only that marker is taken.
    """

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self.queued_bytes = 0
        self.overflowed = False
        self._items: deque = deque()
        self._getters: deque[asyncio.Future] = deque()
        self._unfinished = 0
        self._all_done: asyncio.Future | None = None

    def empty(self) -> bool:
        return not self._items

    def put_nowait(self, item) -> None:
        if self.overflowed:
            if item is None:  # Engine.IO puts the marker back after reading it
                self._append(None)
            return
        size = packet_size(item)
        if self.queued_bytes + size > self.max_bytes:
            self._overflow()
            return
        self._append(item)

    async def put(self, item) -> None:
        self.put_nowait(item)

    def get(self) -> asyncio.Future:
        """A future of the next packet."""
        waiter = asyncio.get_running_loop().create_future()
        if self._items:
            waiter.set_result(self._take())
        else:
            self._getters.append(waiter)
        return waiter

    def get_nowait(self):
        if not self._items:
            raise asyncio.QueueEmpty
        return self._take()

    def task_done(self) -> None:
        self._unfinished -= 1
        if self._unfinished <= 0 and self._all_done is not None and not self._all_done.done():
            self._all_done.set_result(None)

    async def join(self) -> None:
        if self._unfinished <= 0:
            return
        if self._all_done is None or self._all_done.done():
            self._all_done = asyncio.get_running_loop().create_future()
        await asyncio.shield(self._all_done)

    def _append(self, item) -> None:
        self._unfinished += 1
        while self._getters:
            waiter = self._getters.popleft()
            if not waiter.done():  # a reader that timed out has gone
                waiter.set_result(item)
                return
        self._items.append(item)
        self.queued_bytes += packet_size(item)

    def _take(self):
        item = self._items.popleft()
        self.queued_bytes -= packet_size(item)
        return item

    def _overflow(self) -> None:
        self.overflowed = True
        self._unfinished -= len(self._items)  # dropped: join() must not wait for them
        self._items.clear()
        self.queued_bytes = 0
        self._append(CLOSE)
        self._append(None)


class TimerlessPollSocket(AsyncSocket):
    """Engine.IO's socket, whose websocket writer waits for its next packet without a timer.

    Engine.IO's `poll` waits with `asyncio.wait_for(queue.get(), ping_interval +
    ping_timeout)`: a timer started and cancelled, a waiter future and a callback for every
    wake-up of the writer, that is for nearly every delivery. Over a websocket the timeout
    decides nothing: the reading side has the same timeout, and when its loop ends it puts
    the end-of-queue marker (None) that stops the writer (as the queue's own overflow
    does). So a websocket waits for the queue's future alone. A polling request still
    waits with the timeout (its end is the answer to the client), through Engine.IO's own
    `poll`. Written for python-engineio 4.15: `test_engine.py` breaks when `poll` changes."""

    async def poll(self):
        if not self.upgraded or self.upgrading:
            return await super().poll()
        try:
            first = await self.queue.get()
        except asyncio.CancelledError:
            raise engineio.exceptions.QueueEmpty() from None  # as Engine.IO's poll does
        self.queue.task_done()
        if first is None:
            return []
        packets = [first]
        while not self.queue.empty():
            pkt = self.queue.get_nowait()
            self.queue.task_done()
            if pkt is None:
                self.queue.put_nowait(None)
                break
            packets.append(pkt)
        return packets


class SocketMap(dict):
    """Engine.IO's `sockets` (sid -> socket): a socket stored here gets the timerless poll."""

    def __setitem__(self, sid, socket) -> None:
        if type(socket) is AsyncSocket:
            socket.__class__ = TimerlessPollSocket
        super().__setitem__(sid, socket)


class DirectEmitManager(socketio.AsyncManager):
    """python-socketio's in-process client manager, whose room emit puts the packet, encoded
    once, straight on each recipient's Engine.IO queue, instead of starting a task per
    recipient to do it. Emits that want acknowledgements take the library's own path."""

    def __init__(self) -> None:
        super().__init__()
        self._ending: set[str] = set()  # sessions being closed after their queue overflowed

    async def emit(self, event, data, namespace, room=None, skip_sid=None, callback=None, **kw):
        if callback is not None:
            return await super().emit(
                event, data, namespace, room=room, skip_sid=skip_sid, callback=callback, **kw
            )
        room = kw.pop("to", None) or room
        if namespace not in self.rooms:
            return None
        arguments = list(data) if isinstance(data, tuple) else [] if data is None else [data]
        skip = skip_sid if isinstance(skip_sid, list) else [skip_sid]
        encoded = self.server.packet_class(
            sio_packet.EVENT, namespace=namespace, data=[event, *arguments]
        ).encode()
        packets = [
            eio_packet.Packet(eio_packet.MESSAGE, part)
            for part in (encoded if isinstance(encoded, list) else [encoded])
        ]
        sockets = self.server.eio.sockets
        for sid, eio_sid in self.get_participants(namespace, room):
            socket = sockets.get(eio_sid)
            if sid in skip or socket is None or socket.closed:
                continue
            for pkt in packets:
                socket.queue.put_nowait(pkt)
            if socket.queue.overflowed and not (socket.closing or socket.closed):
                # Its client is told to close; the session ends now rather than at the next
                # ping timeout (a polling client that was told would otherwise linger).
                self._end(socket)
        return None

    def _end(self, socket) -> None:
        if socket.sid not in self._ending:
            self._ending.add(socket.sid)
            asyncio.get_running_loop().create_task(self._close(socket))

    async def _close(self, socket) -> None:
        try:
            await socket.close(
                wait=False, abort=True, reason=self.server.eio.reason.SERVER_DISCONNECT
            )
        finally:
            self._ending.discard(socket.sid)


class JsonOnlyPacket(sio_packet.Packet):
    """python-socketio's packet, for a server that sends JSON only (never bytes).

    The stock packet walks every outgoing payload, item by item, looking for bytes to send
    as binary attachments; for a room's whole roster that walk was the largest single cost
    of a join storm. Only a payload that is bytes itself is binary here; bytes nested deeper
    fail to encode (orjson and json refuse them) instead of going out silently wrong.
    Given to python-socketio as its documented `serializer` (a Packet subclass)."""

    @classmethod
    def data_is_binary(cls, data) -> bool:
        return isinstance(data, BYTES)


class BoundedEngineServer(engineio.AsyncServer):
    def __init__(self, *, send_queue_max_bytes: int, polling_max_packets: int, **options):
        super().__init__(**options)
        self.sockets = SocketMap()
        self.send_queue_max_bytes = send_queue_max_bytes
        Payload.max_decode_packets = polling_max_packets

    def create_queue(self, *args, **kwargs) -> asyncio.Queue:
        if args or kwargs:  # not a connection's outgoing queue
            return super().create_queue(*args, **kwargs)
        return OutboundQueue(self.send_queue_max_bytes)


class BoundedSocketServer(socketio.AsyncServer):
    """python-socketio's AsyncServer over the bounded Engine.IO server."""

    def _engineio_server_class(self):
        return BoundedEngineServer
