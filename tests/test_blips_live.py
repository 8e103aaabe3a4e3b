"""A lost connection is not a goodbye: a network blip shorter than the reconnect grace
period is silent for everyone; one that lasts longer is announced once."""

import asyncio

from chatsite import events
from tests.chat_client import ChatClient, close_quietly, unique_room


async def lose_transport(client: ChatClient) -> None:
    """Drop the connection the way a network does: no goodbye reaches the server."""
    await client.sio.eio.disconnect(abort=True)


async def test_a_blip_shorter_than_the_reconnect_grace_is_silent(chat_server, people):
    room = unique_room()
    ana, bob = await people(room, "Ana", "Bob")
    await lose_transport(bob)
    # Longer than the goodbye grace (0.5 s on the test server), shorter than the 3 s blip one.
    await asyncio.sleep(1.0)
    back = ChatClient(chat_server.url)
    await back.connect()
    try:
        ack = await back.join("Bob", room)
        assert [user["username"] for user in ack["users"]] == ["Ana", "Bob"]
        await ana.send_marker()
        assert ana.notices() == ["Welcome Ana", events.joined_text("Bob")]
    finally:
        await close_quietly(back.disconnect(), "Bob's second connection")


async def test_a_connection_lost_for_good_is_announced_once(people):
    room = unique_room()
    ana, bob = await people(room, "Ana", "Bob")
    await lose_transport(bob)
    gone = events.disconnected_text("Bob")
    await ana.wait_for(events.RECEIVE_MESSAGE, lambda m: m["message"] == gone, timeout=10)
    await ana.send_marker()
    assert ana.notices().count(gone) == 1
