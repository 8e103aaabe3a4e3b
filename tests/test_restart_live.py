"""Fault injection: the DevRooms server dies while people chat, and clients resend."""

import asyncio
from collections import defaultdict

import pytest

from chatsite import events
from messaging.store import harperdb_store
from tests.chat_client import unique_room
from tests.live_server import start_chat_server

MESSAGES = 60


@pytest.fixture
def restartable_server(tmp_path, harperdb_settings):
    server = start_chat_server(tmp_path / "server", harperdb_settings)
    yield server
    server.stop()


async def test_a_crash_mid_conversation_loses_no_acked_message_and_resends_store_nothing_twice(
    people, restartable_server
):
    room = unique_room("restart")
    sender, listener = await people(room, "Sender", "Listener", url=restartable_server.url)
    first_acks: dict[str, dict] = {}

    def remember(client_id):
        return lambda ack=None: first_acks.__setitem__(client_id, ack)

    for number in range(MESSAGES):
        if number == MESSAGES // 2:
            restartable_server.stop(crash=True)
        if sender.sio.connected:
            payload = {"message": f"m{number}", "client_id": f"c{number}"}
            try:
                await sender.sio.emit(events.SEND_MESSAGE, payload, callback=remember(f"c{number}"))
            except Exception:  # the connection died under us: the message is simply unacked
                pass
        await asyncio.sleep(0.01)  # spread the sends, so the crash lands mid-conversation

    restartable_server.start()
    # As our page does after a reconnect: join again and resend everything not known stored;
    # here even the acked ones, to show a resend never stores twice.
    sender_again, listener_again = await people(
        room, "Sender", "Listener", url=restartable_server.url
    )
    resent = [
        await sender_again.send(f"m{number}", client_id=f"c{number}") for number in range(MESSAGES)
    ]
    stored = harperdb_store().latest(room=room, limit=100)

    acked_before = {cid: ack for cid, ack in first_acks.items() if ack and ack.get("ok")}
    print(f"\nrestart: sent={MESSAGES} acked before crash={len(acked_before)} stored={len(stored)}")
    assert 0 < len(acked_before) < MESSAGES
    assert sorted(m.client_id for m in stored) == sorted(f"c{n}" for n in range(MESSAGES))
    for client_id, ack in acked_before.items():
        original = next(m for m in stored if m.client_id == client_id)
        assert (ack["id"], ack["__createdtime__"]) == (original.id, original.created_ms)
    for number, ack in enumerate(resent):
        original = next(m for m in stored if m.client_id == f"c{number}")
        assert (ack["id"], ack["__createdtime__"]) == (original.id, original.created_ms)
    ids_per_client_id = defaultdict(set)
    for member in (listener, listener_again):
        for message in member.messages():
            ids_per_client_id[message["client_id"]].add(message["id"])
    assert all(len(ids) == 1 for ids in ids_per_client_id.values())
