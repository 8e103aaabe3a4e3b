"""Limits below Socket.IO: what one client can make the server hold or do."""

import asyncio
from functools import partial
from types import SimpleNamespace

import pytest
from socketio.exceptions import ConnectionRefusedError

from realtime.connection_caps import SERVER_FULL, TOO_MANY_FROM_ADDRESS, ConnectionCaps
from realtime.transport_limits import POLICY_VIOLATION, TransportLimits


class RecordingApp:
    """An ASGI app that records the scopes and request bodies it was given."""

    def __init__(self):
        self.bodies: list[bytes] = []
        self.calls = 0

    async def __call__(self, scope, receive, send):
        self.calls += 1
        if scope["type"] == "http":
            message = await receive()
            self.bodies.append(message["body"])
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"ok"})
        else:
            await receive()  # websocket.connect
            await send({"type": "websocket.accept"})
            while (await receive())["type"] != "websocket.disconnect":
                pass


def polling_post(body: bytes, *, declared: int | None = None) -> dict:
    headers = [(b"content-length", str(len(body) if declared is None else declared).encode())]
    return {
        "type": "http",
        "method": "POST",
        "path": "/socket.io/",
        "query_string": b"EIO=4&transport=polling&sid=abc",
        "headers": headers,
        "client": ("10.0.0.1", 1234),
    }


async def call_http(middleware, scope, body: bytes, *, chunks: int = 1) -> tuple[int, list]:
    size = max(1, len(body) // chunks)
    parts = [body[i : i + size] for i in range(0, len(body), size)] or [b""]
    messages = [
        {"type": "http.request", "body": part, "more_body": n < len(parts) - 1}
        for n, part in enumerate(parts)
    ]
    sent = []

    async def receive():
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    await middleware(scope, receive, send)
    return sent[0]["status"], sent


async def test_a_polling_request_within_the_limits_reaches_engineio_unchanged():
    app = RecordingApp()
    body = b"\x1e".join([b'42["send_message",{"message":"hi"}]'] * 3)
    status, _ = await call_http(TransportLimits(app), polling_post(body), body, chunks=3)
    assert status == 200
    assert app.bodies == [body]


async def test_a_polling_request_with_too_many_packets_is_refused_not_dropped(settings):
    settings.CHAT_POLLING_MAX_PACKETS = 16
    app = RecordingApp()
    body = b"\x1e".join([b"6"] * 17)
    status, _ = await call_http(TransportLimits(app), polling_post(body), body)
    assert status == 400
    assert app.calls == 0


async def test_a_polling_request_declaring_too_many_bytes_is_refused_before_it_is_read(settings):
    settings.CHAT_MAX_PAYLOAD_BYTES = 1_000
    app = RecordingApp()
    status, _ = await call_http(TransportLimits(app), polling_post(b"", declared=5_000), b"")
    assert status == 413
    assert app.calls == 0


async def test_a_polling_request_growing_past_the_byte_limit_is_refused(settings):
    settings.CHAT_MAX_PAYLOAD_BYTES = 1_000
    app = RecordingApp()
    body = b"4" + b"x" * 2_000
    scope = polling_post(body, declared=10)  # a lying Content-Length
    status, _ = await call_http(TransportLimits(app), scope, body, chunks=4)
    assert status == 413
    assert app.calls == 0


async def test_a_polling_session_flooding_packets_gets_429(settings):
    settings.CHAT_FRAME_RATE, settings.CHAT_FRAME_BURST = 10, 20
    middleware = TransportLimits(RecordingApp())
    body = b"\x1e".join([b"6"] * 15)
    statuses = [(await call_http(middleware, polling_post(body), body))[0] for _ in range(3)]
    assert statuses == [200, 429, 429]


def websocket_scope(address: str = "10.0.0.1") -> dict:
    return {"type": "websocket", "path": "/socket.io/", "client": (address, 5678)}


class WebSocketClient:
    """Drives one WebSocket through the middleware: frames in, what the server sent out."""

    def __init__(self, middleware, address: str = "10.0.0.1", send=None):
        self.inbox: asyncio.Queue = asyncio.Queue()
        self.sent: list[dict] = []
        self.inbox.put_nowait({"type": "websocket.connect"})
        self.task = asyncio.create_task(
            middleware(websocket_scope(address), self.inbox.get, send or self.record)
        )

    async def record(self, message):
        self.sent.append(message)

    def frame(self, text: str) -> None:
        self.inbox.put_nowait({"type": "websocket.receive", "text": text})

    async def close(self) -> None:
        self.inbox.put_nowait({"type": "websocket.disconnect", "code": 1000})
        await asyncio.wait_for(self.task, timeout=1)


async def test_a_websocket_flooding_frames_is_closed_as_a_policy_violation(settings):
    settings.CHAT_FRAME_RATE, settings.CHAT_FRAME_BURST = 10, 20
    client = WebSocketClient(TransportLimits(RecordingApp()))
    for _ in range(25):
        client.frame("6")
    await asyncio.wait_for(client.task, timeout=1)  # the app saw a disconnect and ended
    assert client.sent[-1] == {
        "type": "websocket.close",
        "code": POLICY_VIOLATION,
        "reason": "frame limit exceeded",
    }


async def test_websockets_past_twice_the_per_address_cap_are_refused(settings):
    settings.CHAT_MAX_CONNECTIONS_PER_IP = 2
    middleware = TransportLimits(RecordingApp())
    open_ones = [WebSocketClient(middleware) for _ in range(4)]
    await asyncio.sleep(0)
    refused = WebSocketClient(middleware)
    await asyncio.wait_for(refused.task, timeout=1)
    assert refused.sent == [{"type": "websocket.close", "code": POLICY_VIOLATION}]
    elsewhere = WebSocketClient(middleware, address="10.0.0.2")
    await asyncio.sleep(0)
    assert elsewhere.sent == [{"type": "websocket.accept"}]
    for client in [*open_ones, elsewhere]:
        await client.close()
    assert middleware.websockets == {}


class SendingApp(RecordingApp):
    """Answers a frame `send N` with a frame of N characters."""

    async def __call__(self, scope, receive, send):
        await receive()
        await send({"type": "websocket.accept"})
        while (message := await receive())["type"] != "websocket.disconnect":
            size = int(message["text"].split()[1])
            await send({"type": "websocket.send", "text": "x" * size})


class FakeProtocol:
    """Autobahn's protocol on a Twisted transport, as far as the send limit uses them."""

    def __init__(self):
        self.transport = SimpleNamespace(producerPaused=False)
        self.dropped = False

    def dropConnection(self, abort=False):  # Autobahn's name
        self.dropped = abort


async def test_a_websocket_client_that_stops_reading_is_dropped_past_the_send_limit(settings):
    settings.CHAT_SEND_QUEUE_MAX_BYTES = 100
    protocol = FakeProtocol()
    delivered = []

    async def handle_reply(protocol, message):
        delivered.append(message)

    send = partial(handle_reply, protocol)
    client = WebSocketClient(TransportLimits(SendingApp()), send=send)
    await asyncio.sleep(0)
    protocol.transport.producerPaused = True  # Twisted: the send buffer is full
    client.frame("send 60")
    client.frame("send 60")
    await asyncio.sleep(0.01)
    assert protocol.dropped
    assert [len(m["text"]) for m in delivered if m["type"] == "websocket.send"] == [60]
    await client.close()


def test_connections_past_the_per_address_cap_are_refused_with_a_reason(settings):
    settings.CHAT_MAX_CONNECTIONS_PER_IP = 2
    caps = ConnectionCaps()
    caps.admit("10.0.0.1")
    caps.admit("10.0.0.1")
    with pytest.raises(ConnectionRefusedError) as refused:
        caps.admit("10.0.0.1")
    assert refused.value.error_args["message"] == TOO_MANY_FROM_ADDRESS
    caps.admit("10.0.0.2")
    caps.release("10.0.0.1")
    caps.admit("10.0.0.1")


def test_connections_past_the_global_cap_are_refused_with_a_reason(settings):
    settings.CHAT_MAX_CONNECTIONS = 3
    caps = ConnectionCaps()
    for number in range(3):
        caps.admit(f"10.0.0.{number}")
    with pytest.raises(ConnectionRefusedError) as refused:
        caps.admit("10.0.0.9")
    assert refused.value.error_args["message"] == SERVER_FULL
