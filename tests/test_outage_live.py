"""Fault injection: HarperDB stops while people chat (a HarperDB of this module's own)."""

import asyncio

import pytest

from chatsite import events
from messaging.local_harperdb import LocalHarperDB
from messaging.store import HarperDBMessageStore
from tests.chat_client import unique_room
from tests.live_server import start_chat_server

RETRY_SECONDS = 8
DATABASE = "devrooms_outage"


@pytest.fixture(scope="module")
def own_harperdb(tmp_path_factory):
    harperdb = LocalHarperDB.on_free_ports(
        tmp_path_factory.mktemp("outage-harperdb"), username="devrooms", password="outage-password"
    )
    harperdb.start()
    yield harperdb
    harperdb.stop()


@pytest.fixture(scope="module")
def store(own_harperdb):
    store = HarperDBMessageStore(own_harperdb.client(), database=DATABASE, table="messages")
    store.bootstrap()
    return store


@pytest.fixture(scope="module")
def outage_server(tmp_path_factory, own_harperdb, store):
    server = start_chat_server(
        tmp_path_factory.mktemp("outage-server"),
        {
            "HARPERDB_URL": own_harperdb.url,
            "HARPERDB_USERNAME": own_harperdb.username,
            "HARPERDB_PASSWORD": own_harperdb.password,
            "HARPERDB_DATABASE": DATABASE,
        },
        CHAT_STORE_RETRY_SECONDS=str(RETRY_SECONDS),
        HARPERDB_TIMEOUT_SECONDS="1",
        # Every history read goes to HarperDB, as when several processes share the rooms:
        # a room this process already knows would be answered from memory during an outage.
        CHAT_HISTORY_CACHE_BYTES="0",
    )
    yield server
    server.stop()


async def _room_of_two(people, server):
    room = unique_room("outage")
    sender, listener = await people(room, "Sender", "Listener", url=server.url)
    return room, sender, listener


async def test_when_harperdb_returns_within_the_window_every_message_is_stored_once_in_order(
    people, outage_server, own_harperdb, store
):
    room, sender, listener = await _room_of_two(people, outage_server)
    sends = []

    async def send_some(count: int, label: str) -> None:
        for number in range(count):
            payload = {"message": f"{label} {number}", "client_id": f"{label}-{number}"}
            sends.append(asyncio.create_task(sender.call(events.SEND_MESSAGE, payload, timeout=30)))
            await asyncio.sleep(0.05)  # spread the sends, so some go out while HarperDB is down

    await send_some(10, "before")
    await asyncio.to_thread(own_harperdb.stop)
    await send_some(10, "during")
    await asyncio.to_thread(own_harperdb.start)
    await send_some(10, "after")
    acks = await asyncio.gather(*sends)

    acked = [ack["id"] for ack in acks if ack["ok"]]
    refused = [ack for ack in acks if not ack["ok"]]
    stored = [message.id for message in store.latest(room=room, limit=100)]
    await listener.wait_for(events.RECEIVE_MESSAGE, lambda m: m.get("id") == stored[-1])
    live = [message["id"] for message in listener.messages()]
    print(
        f"\noutage within window: sent={len(acks)} acked={len(acked)} refused={len(refused)} "
        f"stored={len(stored)} duplicates={len(stored) - len(set(stored))}"
    )
    assert refused == []
    assert stored == acked == live
    assert [m.message for m in store.latest(room=room, limit=100)] == [
        f"{label} {n}" for label in ("before", "during", "after") for n in range(10)
    ]


async def test_when_harperdb_stays_down_past_the_window_senders_get_unavailable_only(
    people, outage_server, own_harperdb, store
):
    room, sender, listener = await _room_of_two(people, outage_server)
    assert (await sender.send("stored before", client_id="ok-1"))["ok"]
    await asyncio.to_thread(own_harperdb.stop)
    try:
        acks = await asyncio.gather(
            *(
                sender.call(
                    events.SEND_MESSAGE,
                    {"message": f"lost {n}", "client_id": f"lost-{n}"},
                    timeout=RETRY_SECONDS + 10,
                )
                for n in range(3)
            )
        )
    finally:
        await asyncio.to_thread(own_harperdb.start)
    print(f"\noutage past window: sent={len(acks)} refused={sum(not a['ok'] for a in acks)}")
    assert [ack["error"]["code"] for ack in acks] == ["unavailable"] * 3
    assert [error["code"] for error in sender.events_named(events.CHAT_ERROR)] == [
        "unavailable"
    ] * 3
    assert [m.message for m in store.latest(room=room, limit=100)] == ["stored before"]
    retried = await sender.send("lost 0", client_id="lost-0")
    assert retried["ok"]
    assert [m.message for m in store.latest(room=room, limit=100)] == ["stored before", "lost 0"]
    # The retry is the marker: a refused message delivered anyway would have come before it.
    await listener.wait_for(events.RECEIVE_MESSAGE, lambda m: m.get("id") == retried["id"])
    assert [m["message"] for m in listener.messages()] == ["stored before", "lost 0"]


async def test_a_joiner_while_harperdb_is_down_is_in_the_room_and_told_history_is_missing(
    connect, outage_server, own_harperdb
):
    room = unique_room("outage-join")
    ana, bob = await connect(outage_server.url), await connect(outage_server.url)
    await ana.join("Ana", room)
    await asyncio.to_thread(own_harperdb.stop)
    try:
        ack = await bob.join("Bob", room)
        error = await bob.wait_for(events.CHAT_ERROR)
    finally:
        await asyncio.to_thread(own_harperdb.start)
    assert [u["username"] for u in ack["users"]] == ["Ana", "Bob"]
    assert error["event"] == events.JOIN_ROOM
    assert error["code"] == "unavailable"
    assert bob.events_named(events.LAST_100_MESSAGES) == []
