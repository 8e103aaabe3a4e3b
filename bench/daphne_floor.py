"""The benchmark's floor peer: bench/peer.mjs's protocol subset spoken by a bare ASGI app,
with no Socket.IO or Engine.IO library and no database, served as DevRooms is served
(`chatsite.serve`: Daphne on uvloop, the flushing reactor). A message is encoded once and
handed to each recipient's ASGI `send` in turn, no queue or task per recipient: what Daphne,
autobahn and Twisted cost per delivery on their own. `bench/fanout.py --peer floor` measures
it beside DevRooms.

It speaks only what bench/fanout_load.mjs uses: Engine.IO 4 over a websocket (no polling
beyond the handshake that tells the benchmark it is up), pings every 25 s, the Socket.IO
connect to "/", and these events (as bench/peer.mjs):

    join_room {username, room}  -> joins the room (leaving the previous one), sends the joiner
                                   last_100_messages ("[]"), acks {ok: true, room}
    send_message {message, client_id}
                                -> receive_message {...payload, room, username, id,
                                   __createdtime__} to the whole room, sender included;
                                   acks {ok: true, id}

    python -m chatsite.serve -b 127.0.0.1 -p 8100 bench.daphne_floor:application

(in DevRooms's environment: `chatsite.serve` loads the project before Daphne starts).
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import time
from collections import defaultdict

import orjson

PING_SECONDS = 25
OPEN = {
    "upgrades": [],
    "pingInterval": PING_SECONDS * 1000,
    "pingTimeout": 20000,
    "maxPayload": 1_000_000,
}

rooms: dict[str, set] = defaultdict(set)  # room -> the ASGI send of each member
message_ids = itertools.count(1)


def encoded(value) -> str:
    return orjson.dumps(value).decode()  # as DevRooms encodes (realtime/json_codec.py)


def event(name: str, data) -> str:
    """An Engine.IO message (4) carrying a Socket.IO event (2)."""
    return "42" + encoded([name, data])


def ack(ack_id: str, data) -> str:
    """An Engine.IO message (4) carrying a Socket.IO ack (3) of the event numbered `ack_id`."""
    return f"43{ack_id}" + encoded([data])


class Connection:
    def __init__(self, send):
        self.send = send
        self.room: str | None = None
        self.username = ""

    async def text(self, text: str) -> None:
        await self.send({"type": "websocket.send", "text": text})

    async def received(self, packet: str) -> None:
        if packet == "3":  # pong
            return
        if packet.startswith("40"):
            await self.text("40" + encoded({"sid": secrets.token_urlsafe(12)}))
        elif packet.startswith("42"):
            body = packet[2:]
            start = body.index("[")
            ack_id, (name, *arguments) = body[:start], orjson.loads(body[start:])
            payload = arguments[0] if arguments and isinstance(arguments[0], dict) else {}
            if name == "join_room":
                await self.join(payload, ack_id)
            elif name == "send_message":
                await self.post(payload, ack_id)

    async def join(self, payload: dict, ack_id: str) -> None:
        self.leave()
        self.username = str(payload.get("username", ""))
        self.room = str(payload.get("room", ""))
        rooms[self.room].add(self.send)
        await self.text(event("last_100_messages", "[]"))
        await self.text(ack(ack_id, {"ok": True, "room": self.room}))

    async def post(self, payload: dict, ack_id: str) -> None:
        if self.room is None:
            return
        message_id = str(next(message_ids))
        message = {**payload, "room": self.room, "username": self.username, "id": message_id}
        message["__createdtime__"] = int(time.time() * 1000)
        packet = {"type": "websocket.send", "text": event("receive_message", message)}
        for send in list(rooms[self.room]):
            await send(packet)
        await self.text(ack(ack_id, {"ok": True, "id": message_id}))

    def leave(self) -> None:
        if self.room is not None:
            rooms[self.room].discard(self.send)
            if not rooms[self.room]:
                del rooms[self.room]


async def pings(send) -> None:
    while True:
        await asyncio.sleep(PING_SECONDS)
        await send({"type": "websocket.send", "text": "2"})


async def websocket(receive, send) -> None:
    connection = Connection(send)
    pinger = None
    try:
        while True:
            message = await receive()
            if message["type"] == "websocket.connect":
                await send({"type": "websocket.accept"})
                opened = {"sid": secrets.token_urlsafe(12), **OPEN}
                await connection.text("0" + encoded(opened))
                pinger = asyncio.ensure_future(pings(send))
            elif message["type"] == "websocket.receive" and message.get("text"):
                await connection.received(message["text"])
            elif message["type"] == "websocket.disconnect":
                return
    finally:
        connection.leave()
        if pinger is not None:
            pinger.cancel()


async def handshake(send) -> None:
    """The polling handshake only: the benchmark asks it to see the server is up."""
    body = ("0" + encoded({"sid": secrets.token_urlsafe(12), **OPEN})).encode()
    headers = [(b"content-type", b"text/plain; charset=UTF-8")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def application(scope, receive, send) -> None:
    if scope["type"] == "websocket":
        await websocket(receive, send)
    elif scope["type"] == "http":
        await handshake(send)
