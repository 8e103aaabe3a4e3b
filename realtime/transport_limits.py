"""Limits below Socket.IO, for what one client can make the server hold or do: an ASGI
middleware in front of the Socket.IO app.

- WebSocket connections per client address and in all (a hard cap at twice the Socket.IO
  connection caps, for clients that open sockets and never connect; the Socket.IO caps in
  `realtime.connection_caps` refuse earlier, with a reason);
- frames and bytes a WebSocket client may send per second: a flooder is closed (4008);
- packets and bytes in one polling request: too many packets is a 400 (Engine.IO would
  drop the whole request silently), too many bytes a 413 before the body is read; and the
  packets and bytes of one polling session per second, against the same buckets as a
  WebSocket's frames (a 429 past them);
- what waits in the server's send buffer for a WebSocket client that does not read: past
  CHAT_SEND_QUEUE_MAX_BYTES the connection is dropped (Daphne only; see `_ReadPace`).
"""

from __future__ import annotations

import logging
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from chatsite.rate import TokenBucket

logger = logging.getLogger(__name__)

# 4008, not 1008: Autobahn (under Daphne) lets an application close only with 1000 or
# 3000-4999; 4000-4999 are for private use.
POLICY_VIOLATION = 4008
FLOOD_CLOSED = "frame limit exceeded"


def client_address(scope: dict[str, Any]) -> str:
    client = scope.get("client")
    return client[0] if client else "unknown"


@dataclass
class _Inbound:
    """What one connection has sent: frames and bytes against their buckets."""

    frames: TokenBucket = field(
        default_factory=lambda: TokenBucket(settings.CHAT_FRAME_RATE, settings.CHAT_FRAME_BURST)
    )
    bytes: TokenBucket = field(
        default_factory=lambda: TokenBucket(
            settings.CHAT_INBOUND_BYTES_PER_SECOND, 10 * settings.CHAT_INBOUND_BYTES_PER_SECOND
        )
    )

    def allow(self, frames: int, size: int) -> bool:
        return self.frames.allow(frames) and self.bytes.allow(size)


class _ReadPace:
    """Whether a WebSocket client keeps up with what it is sent.

    Under Daphne (4.2) the application's `send` is `functools.partial(server.handle_reply,
    protocol)`, the protocol being Autobahn's on a Twisted TCP transport. Twisted sets the
    transport's `producerPaused` while its send buffer is over `bufferSize` (64 KiB: the
    client is not reading). What is sent while it stays paused is counted, and past the
    limit the connection is dropped (Autobahn's `dropConnection`), which frees the buffer
    at once. Without such a transport there is nothing to watch, and nothing is done.
    """

    def __init__(self, send, limit: int):
        protocol = getattr(send, "args", (None,))[0]
        self.protocol = protocol if hasattr(protocol, "dropConnection") else None
        self.transport = getattr(self.protocol, "transport", None)
        self.limit = limit
        self.sent_while_paused = 0

    def over_limit(self, size: int) -> bool:
        """Count `size` more bytes to send; True when the client must be dropped."""
        if not getattr(self.transport, "producerPaused", False):
            self.sent_while_paused = 0
            return False
        self.sent_while_paused += size
        return self.sent_while_paused > self.limit

    def drop(self) -> None:
        if self.protocol is not None:
            self.protocol.dropConnection(abort=True)


class TransportLimits:
    def __init__(self, app, *, path: str = "/socket.io/"):
        self.app = app
        self.path = path
        self.websockets: Counter[str] = Counter()
        # Polling sessions' inbound buckets, by Engine.IO session id; bounded like the
        # sessions themselves (the oldest idle one goes first).
        self.polling: OrderedDict[str, _Inbound] = OrderedDict()

    async def __call__(self, scope, receive, send):
        if not scope.get("path", "").startswith(self.path):
            return await self.app(scope, receive, send)
        if scope["type"] == "websocket":
            return await self._websocket(scope, receive, send)
        if scope["type"] == "http" and scope.get("method") == "POST":
            return await self._polling_post(scope, receive, send)
        return await self.app(scope, receive, send)

    # --- WebSocket --------------------------------------------------------------------

    def _websocket_allowed(self, address: str) -> bool:
        per_address = 2 * settings.CHAT_MAX_CONNECTIONS_PER_IP
        total = 2 * settings.CHAT_MAX_CONNECTIONS
        return self.websockets[address] < per_address and self.websockets.total() < total

    async def _websocket(self, scope, receive, send):
        address = client_address(scope)
        if not self._websocket_allowed(address):
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": POLICY_VIOLATION})
            return None
        self.websockets[address] += 1
        inbound = _Inbound()
        pace = _ReadPace(send, settings.CHAT_SEND_QUEUE_MAX_BYTES)
        flooded = False

        async def limited_receive():
            nonlocal flooded
            message = await receive()
            if message["type"] == "websocket.receive" and not flooded:
                size = len(message.get("text") or message.get("bytes") or "")
                if not inbound.allow(1, size):
                    flooded = True
                    logger.warning("closing %s: %s", address, FLOOD_CLOSED)
                    # A close frame, not a dropped connection: the client is told why.
                    await send(
                        {
                            "type": "websocket.close",
                            "code": POLICY_VIOLATION,
                            "reason": FLOOD_CLOSED,
                        }
                    )
                    return {"type": "websocket.disconnect", "code": POLICY_VIOLATION}
            return message

        async def paced_send(message):
            if message["type"] == "websocket.send":
                size = len(message.get("text") or message.get("bytes") or "")
                if pace.over_limit(size):
                    logger.warning("dropping %s: it does not read what it is sent", address)
                    pace.drop()
                    return
            await send(message)

        try:
            return await self.app(scope, limited_receive, paced_send)
        finally:
            self.websockets[address] -= 1
            if self.websockets[address] <= 0:
                del self.websockets[address]

    # --- Polling ------------------------------------------------------------------------

    async def _polling_post(self, scope, receive, send):
        declared = _content_length(scope)
        if declared is not None and declared > settings.CHAT_MAX_PAYLOAD_BYTES:
            return await _refuse(send, 413, "Payload too large")
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return None  # the client went away
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > settings.CHAT_MAX_PAYLOAD_BYTES:
                return await _refuse(send, 413, "Payload too large")
        packets = body.count(b"\x1e") + 1
        if packets > settings.CHAT_POLLING_MAX_PACKETS:
            return await _refuse(send, 400, "Too many packets in one request")
        if not self._polling_inbound(scope).allow(packets, len(body)):
            return await _refuse(send, 429, FLOOD_CLOSED)
        replayed = False

        async def replay():
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        return await self.app(scope, replay, send)

    def _polling_inbound(self, scope) -> _Inbound:
        session = _query_value(scope, b"sid") or client_address(scope)
        inbound = self.polling.pop(session, None) or _Inbound()
        self.polling[session] = inbound
        while len(self.polling) > 2 * settings.CHAT_MAX_CONNECTIONS:
            self.polling.popitem(last=False)
        return inbound


def _query_value(scope, name: bytes) -> str | None:
    for pair in scope.get("query_string", b"").split(b"&"):
        key, _, value = pair.partition(b"=")
        if key == name:
            return value.decode("ascii", "replace")
    return None


def _content_length(scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(send, status: int, text: str) -> None:
    body = text.encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
