"""Limits below the chat events, through Daphne: connection caps, frame floods, polling
batches and clients that stop reading. Each shows the mechanism; bench/ measures capacity."""

import asyncio
import json

import aiohttp
import pytest
import socketio

from chatsite import events
from realtime.connection_caps import TOO_MANY_FROM_ADDRESS
from realtime.transport_limits import POLICY_VIOLATION
from tests.chat_client import unique_room
from tests.live_server import start_chat_server
from tests.raw_websocket import RawWebSocket

ENGINEIO_OPEN, SOCKETIO_CONNECT = "0", "40"


@pytest.fixture(scope="module")
def capped_server(tmp_path_factory, harperdb_settings):
    server = start_chat_server(
        tmp_path_factory.mktemp("capped-server"), harperdb_settings, CHAT_MAX_CONNECTIONS_PER_IP="3"
    )
    yield server
    server.stop()


@pytest.fixture(scope="module")
def limited_server(tmp_path_factory, harperdb_settings):
    server = start_chat_server(
        tmp_path_factory.mktemp("limited-server"),
        harperdb_settings,
        CHAT_FRAME_RATE="1000",
        CHAT_FRAME_BURST="2000",
        CHAT_SEND_QUEUE_MAX_BYTES="200000",
        CHAT_POLLING_MAX_PACKETS="64",
    )
    yield server
    server.stop()


async def refused_reason(url: str) -> str | None:
    """Connect a stock client; the reason it was refused with, or None once connected."""
    client = socketio.AsyncClient(reconnection=False)
    reasons = []
    client.on("connect_error", lambda data: reasons.append(data))
    try:
        await client.connect(url, wait_timeout=5)
    except socketio.exceptions.ConnectionError:
        return reasons[0]["message"] if reasons else "refused without a reason"
    await client.disconnect()
    return None


async def test_past_the_per_address_cap_a_connection_is_refused_with_a_reason(
    connect, capped_server
):
    room = unique_room()
    first, *_others = [await connect(capped_server.url) for _ in range(3)]
    assert await refused_reason(capped_server.url) == TOO_MANY_FROM_ADDRESS
    await first.join("Ana", room)
    assert (await first.send("still served"))["ok"]
    await _others[0].disconnect()
    for _attempt in range(50):  # the server counts the disconnect once it has seen it
        if await refused_reason(capped_server.url) is None:
            return
        await asyncio.sleep(0.1)
    pytest.fail("a freed place was never given to a new connection")


async def raw_socketio(session: aiohttp.ClientSession, url: str):
    """A WebSocket speaking Engine.IO/Socket.IO by hand, connected to the namespace."""
    ws = await session.ws_connect(
        f"{url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket"
    )
    assert (await ws.receive_str()).startswith(ENGINEIO_OPEN)
    await ws.send_str(SOCKETIO_CONNECT)
    assert (await ws.receive_str()).startswith(SOCKETIO_CONNECT)
    return ws


async def test_a_websocket_flooding_frames_is_closed_and_its_neighbour_still_chats(
    connect, limited_server
):
    room = unique_room()
    neighbour = await connect(limited_server.url)
    await neighbour.join("Ana", room)
    async with aiohttp.ClientSession() as session:
        flooder = await raw_socketio(session, limited_server.url)
        for _ in range(10_000):
            if flooder.closed:
                break
            await flooder.send_str("6")  # Engine.IO noop: below every chat event limit
        closing = await asyncio.wait_for(flooder.receive(), 10)
        while closing.type == aiohttp.WSMsgType.TEXT:  # what was on its way before the close
            closing = await asyncio.wait_for(flooder.receive(), 10)
        assert (closing.type, closing.data) == (aiohttp.WSMsgType.CLOSE, POLICY_VIOLATION)
    assert (await neighbour.send("after the flood"))["ok"]


async def test_a_polling_batch_is_handled_whole_below_the_limit_and_refused_above_it(
    limited_server,
):
    base = f"{limited_server.url}/socket.io/?EIO=4&transport=polling"
    async with aiohttp.ClientSession() as http:
        opened = await (await http.get(base)).text()
        sid = json.loads(opened[1:])["sid"]
        session_url = f"{base}&sid={sid}"
        assert (await http.post(session_url, data=SOCKETIO_CONNECT)).status == 200
        assert (await (await http.get(session_url)).text()).startswith(SOCKETIO_CONNECT)
        batch = "\x1e".join(f'42{n}["typing",{{"typing":true}}]' for n in range(40))
        assert (await http.post(session_url, data=batch)).status == 200
        acks = 0
        for _poll in range(40):
            payload = await (await http.get(session_url)).text()
            acks += sum(1 for packet in payload.split("\x1e") if packet.startswith("43"))
            if acks >= 40:
                break
        assert acks == 40  # each refused with not_in_room, none dropped
        too_many = "\x1e".join(["6"] * 65)
        assert (await http.post(session_url, data=too_many)).status == 400


def stalled_member(server_url: str, room: str) -> RawWebSocket:
    """A socket that joins `room` as Slow, then never reads again."""
    host, port = server_url.removeprefix("http://").split(":")
    slow = RawWebSocket(host, int(port), "/socket.io/?EIO=4&transport=websocket")
    assert slow.receive_text().startswith(ENGINEIO_OPEN)
    slow.send_text(SOCKETIO_CONNECT)
    assert slow.receive_text().startswith(SOCKETIO_CONNECT)
    slow.send_text(f"420{json.dumps([events.JOIN_ROOM, {'username': 'Slow', 'room': room}])}")
    return slow


async def test_a_client_that_stops_reading_is_dropped_and_leaves_the_room(connect, limited_server):
    room = unique_room()
    sender = await connect(limited_server.url)
    await sender.join("Ana", room)
    slow = await asyncio.to_thread(stalled_member, limited_server.url, room)
    try:
        await sender.wait_for(events.RECEIVE_MESSAGE, lambda m: m["message"].startswith("Slow"))
        gone = events.disconnected_text("Slow")
        for number in range(2_000):
            if gone in sender.notices():
                break
            await sender.send(f"{number:05d} " + "x" * 9_000)
        assert gone in sender.notices()
    finally:
        slow.close()
