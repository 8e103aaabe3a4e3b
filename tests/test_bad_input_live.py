"""Bad input gets a clear error to its sender only; the server keeps serving everybody else."""

import asyncio

import pytest
import socketio

from chatsite import events
from tests.chat_client import unique_room
from tests.live_server import start_chat_server
from tests.payloads import deep

MALFORMED = [
    (events.JOIN_ROOM, ()),
    (events.JOIN_ROOM, (None,)),
    (events.JOIN_ROOM, ("React",)),
    (events.JOIN_ROOM, ({"username": 5, "room": "React"},)),
    (events.JOIN_ROOM, ({"username": "Ana", "room": None},)),
    (events.JOIN_ROOM, ({"username": "Ana", "room": ["React"]},)),
    (events.JOIN_ROOM, ({"username": "Ana"}, {"room": "React"})),
    (events.SEND_MESSAGE, ({},)),
    (events.SEND_MESSAGE, ({"message": None},)),
    (events.SEND_MESSAGE, ({"message": 42},)),
    (events.SEND_MESSAGE, ({"message": {"nested": True}},)),
    (events.SEND_MESSAGE, (deep(200),)),
    (events.SEND_MESSAGE, ({"message": "hi", "client_id": ""},)),
    (events.SEND_MESSAGE, ({"message": "hi", "client_id": "c" * 65},)),
    (events.SEND_MESSAGE, ({"message": "hi", "client_id": 7},)),
    (events.SEND_MESSAGE, (b"\x00\x01binary",)),
    (events.SEND_MESSAGE, ([1, 2, 3],)),
    (events.LEAVE_ROOM, ("everyone",)),
    (events.LOAD_HISTORY, ({"before": 1},)),
    (events.LOAD_HISTORY, ({"before": "x", "limit": 0},)),
    (events.LOAD_HISTORY, ({"before": "x", "limit": True},)),
    (events.LOAD_HISTORY, ({"before": "x", "limit": 101},)),
    (events.TYPING, ({"typing": "yes"},)),
    (events.TYPING, (None,)),
    ("drop_table", ({"room": "React"},)),
    ("connect", ({"HTTP_COOKIE": "sessionid=stolen"},)),
    ("disconnect", ("client disconnect",)),
]


async def test_each_malformed_payload_gets_chat_error_and_the_room_keeps_chatting(people):
    ana, bob, attacker = await people(unique_room(), "Ana", "Bob", "Mallory")
    for event, args in MALFORMED:
        attacker.forget()
        ack = await attacker.call(event, *args)
        assert ack["ok"] is False, (event, args)
        assert ack["error"]["code"] == "invalid_payload", (event, args)
        error = await attacker.wait_for(events.CHAT_ERROR)
        assert error["code"] == "invalid_payload"
        assert error["message"]
    assert (await ana.send("still here"))["ok"]
    await bob.wait_for(events.RECEIVE_MESSAGE, lambda m: m["message"] == "still here")
    assert bob.events_named(events.CHAT_ERROR) == []
    # The forged "disconnect" event did not take the attacker out of the room.
    assert (await attacker.send("me too"))["ok"]
    assert not any("Mallory has" in text and "joined" not in text for text in bob.notices())


async def test_a_payload_over_the_size_limit_closes_only_that_connection(connect, people):
    ana, bob = await people(unique_room(), "Ana", "Bob")
    flooder = await connect()
    with pytest.raises((socketio.exceptions.TimeoutError, socketio.exceptions.BadNamespaceError)):
        await flooder.call(events.SEND_MESSAGE, {"message": "x" * 1_100_000}, timeout=3)
    await flooder.wait_disconnected()
    assert not flooder.sio.connected
    assert ana.sio.connected
    assert bob.sio.connected
    assert (await ana.send("unharmed"))["ok"]
    await bob.wait_for(events.RECEIVE_MESSAGE, lambda m: m["message"] == "unharmed")


async def test_a_connection_from_a_foreign_origin_is_refused(connect, chat_server):
    with pytest.raises(socketio.exceptions.ConnectionError):
        await connect(headers={"Origin": "http://evil.example"})
    own = await connect(headers={"Origin": chat_server.url})
    assert own.sio.connected


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory, harperdb_settings):
    """A server with the default rate limit, no room creation and one extra allowed origin."""
    server = start_chat_server(
        tmp_path_factory.mktemp("strict-server"),
        harperdb_settings,
        CHAT_RATE_LIMIT="5",
        CHAT_RATE_BURST="10",
        CHAT_ALLOW_ROOM_CREATION="false",
        CHAT_ALLOWED_ORIGINS="https://partner.example",
    )
    yield server
    server.stop()


async def test_unknown_rooms_are_refused_when_room_creation_is_off(connect, strict_server):
    client = await connect(strict_server.url)
    ack = await client.call(events.JOIN_ROOM, {"username": "Ana", "room": unique_room()})
    assert ack["error"]["code"] == "room_not_found"
    assert (await client.join("Ana", "React"))["room"] == "React"


async def test_an_origin_listed_in_chat_allowed_origins_may_connect(connect, strict_server):
    partner = await connect(strict_server.url, headers={"Origin": "https://partner.example"})
    assert partner.sio.connected


async def test_a_flood_is_rate_limited_and_the_neighbours_still_get_through(people, strict_server):
    flooder, ana, bob = await people("Node", "Flooder", "Ana", "Bob", url=strict_server.url)
    acks = await asyncio.gather(*(flooder.send(f"spam {n}") for n in range(40)))
    refused = [ack for ack in acks if not ack["ok"]]
    assert refused
    assert all(ack["error"]["code"] == "rate_limited" for ack in refused)
    assert len(refused) >= 25
    assert flooder.events_named(events.CHAT_ERROR)[0]["code"] == "rate_limited"
    ack = await ana.send("neighbour message")
    assert ack["ok"]
    await bob.wait_for(events.RECEIVE_MESSAGE, lambda m: m["message"] == "neighbour message")


async def test_a_flood_of_unknown_events_is_rate_limited_too(connect, strict_server):
    flooder = await connect(strict_server.url)
    acks = await asyncio.gather(*(flooder.call("no_such_event", {"n": n}) for n in range(30)))
    codes = {ack["error"]["code"] for ack in acks}
    assert codes == {"invalid_payload", "rate_limited"}
