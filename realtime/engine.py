"""Engine.IO, bounded: a cap on what waits to be sent to one connection, and on how many
packets one polling request may carry.

Written for python-socketio 5.18 / python-engineio 4.15 (pinned below 6 and 5 in
pyproject.toml); `realtime/tests/test_engine.py` breaks if the hooks used here move.
- `engineio.AsyncServer.create_queue` (documented) makes each connection's outgoing queue;
  ours refuses to grow past `max_bytes`: the connection is closed instead, and what waited
  is dropped. A client that stops reading then reconnects and catches up from history.
- `socketio.AsyncServer._engineio_server_class` is the hook python-socketio's own servers
  implement to pick their Engine.IO server.
- `engineio.payload.Payload.max_decode_packets` is the setting the library's maintainer
  points to for the number of packets in one polling request; past it, Engine.IO drops
  the whole request silently, so the transport limits refuse such a request before it
  gets there (`realtime/transport_limits.py`).
"""

from __future__ import annotations

import asyncio

import engineio
import socketio
from engineio import packet as eio_packet
from engineio.payload import Payload

CLOSE = eio_packet.Packet(eio_packet.CLOSE)


def packet_size(pkt: eio_packet.Packet | None) -> int:
    """What a queued packet costs, near enough: the length of its data."""
    data = getattr(pkt, "data", None)
    return len(data) if isinstance(data, str | bytes) else 16


class OutboundQueue(asyncio.Queue):
    """An Engine.IO connection's outgoing queue, bounded by the size of what waits in it.

    Past `max_bytes` it overflows once: everything waiting is dropped, a CLOSE packet and
    the end-of-queue marker (None) are queued, and from then on only that marker is taken.
    """

    def __init__(self, max_bytes: int):
        super().__init__()
        self.max_bytes = max_bytes
        self.queued_bytes = 0
        self.overflowed = False

    def put_nowait(self, item) -> None:
        if self.overflowed:
            if item is None:  # Engine.IO puts the marker back after reading it
                super().put_nowait(None)
            return
        size = packet_size(item)
        if self.queued_bytes + size > self.max_bytes:
            self._overflow()
            return
        self.queued_bytes += size
        super().put_nowait(item)

    def _get(self):
        item = super()._get()
        self.queued_bytes -= packet_size(item)
        return item

    def _overflow(self) -> None:
        self.overflowed = True
        while not self.empty():
            self.get_nowait()
            self.task_done()
        self.queued_bytes = 0
        super().put_nowait(CLOSE)
        super().put_nowait(None)


class BoundedEngineServer(engineio.AsyncServer):
    def __init__(self, *, send_queue_max_bytes: int, polling_max_packets: int, **options):
        super().__init__(**options)
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
