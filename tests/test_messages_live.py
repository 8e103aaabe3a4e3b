"""Posting and reading messages through real sockets and a real HarperDB (Part A, B, ordering)."""

import asyncio

from chatsite import events
from messaging.store import harperdb_store
from tests.chat_client import unique_room

MESSAGE_FIELDS = {"id", "room", "username", "message", "__createdtime__"}


async def test_a_message_is_stored_then_delivered_to_every_member_then_acked(people):
    room = unique_room()
    ana, bob = await people(room, "Ana", "Bob")
    ack = await ana.send("hello <b>world</b>\n  kept as sent  ")
    assert ack["ok"] is True
    assert set(ack) == {"ok", "id", "__createdtime__"}
    # The sender's own copy arrived before the ack did.
    assert [m["id"] for m in ana.messages()] == [ack["id"]]
    for client in (ana, bob):
        live = await client.wait_for(events.RECEIVE_MESSAGE, lambda m: m.get("id") == ack["id"])
        assert live == {
            "id": ack["id"],
            "room": room,
            "username": "Ana",
            "message": "hello <b>world</b>\n  kept as sent  ",
            "__createdtime__": ack["__createdtime__"],
        }
    stored = harperdb_store().latest(room=room, limit=10)
    assert [m.id for m in stored] == [ack["id"]]


async def test_two_people_in_different_rooms_never_hear_each_other(people):
    [ana] = await people(unique_room("a"), "Ana")
    [bob] = await people(unique_room("b"), "Bob")
    await ana.send("for room a")
    await bob.send("for room b")
    ana_marker, bob_marker = await ana.send_marker(), await bob.send_marker()
    assert [m["message"] for m in ana.messages()] == ["for room a", ana_marker["message"]]
    assert [m["message"] for m in bob.messages()] == ["for room b", bob_marker["message"]]


async def test_the_same_message_has_the_same_fields_live_and_in_history(people):
    room = unique_room()
    [ana] = await people(room, "Ana")
    ack = await ana.send("same everywhere", client_id="c-same")
    live = await ana.wait_for(events.RECEIVE_MESSAGE, lambda m: m.get("id") == ack["id"])
    [late] = await people(room, "Bob")
    await late.wait_for(events.LAST_100_MESSAGES)
    [from_history] = late.history()
    assert {key: from_history[key] for key in live} == live
    assert live["client_id"] == "c-same"


async def test_after_150_messages_a_joiner_gets_exactly_the_latest_100_oldest_first(people):
    room = unique_room()
    [ana] = await people(room, "Ana")
    for number in range(150):
        assert (await ana.send(f"message {number}"))["ok"]
    [late] = await people(room, "Bob")
    await late.wait_for(events.LAST_100_MESSAGES)
    history = late.history()
    assert [m["message"] for m in history] == [f"message {n}" for n in range(50, 150)]
    assert all(set(m) >= MESSAGE_FIELDS and m["room"] == room for m in history)


async def test_load_history_pages_back_through_the_whole_history_without_gaps(people):
    [ana] = await people(unique_room(), "Ana")
    acks = [await ana.send(f"m{n}") for n in range(23)]
    seen, before = [], acks[-1]["id"]
    while True:
        page = await ana.call(events.LOAD_HISTORY, {"before": before, "limit": 5})
        assert page["ok"]
        seen = page["messages"] + seen
        if not page["has_more"]:
            break
        before = page["messages"][0]["id"]
    assert [m["message"] for m in seen] == [f"m{n}" for n in range(22)]


async def test_load_history_refuses_an_id_from_another_room(people):
    [ana] = await people(unique_room(), "Ana")
    [bob] = await people(unique_room(), "Bob")
    foreign = (await bob.send("elsewhere"))["id"]
    page = await ana.call(events.LOAD_HISTORY, {"before": foreign})
    assert page["ok"] is False
    assert page["error"]["code"] == "invalid_payload"


async def test_nobody_can_post_without_joining_a_room(connect):
    stranger = await connect()
    for event, payload in (
        (events.SEND_MESSAGE, {"message": "hi", "room": "React", "username": "Ana"}),
        (events.TYPING, {"typing": True}),
        (events.LOAD_HISTORY, {"before": "x"}),
    ):
        ack = await stranger.call(event, payload)
        assert ack["ok"] is False
        assert ack["error"]["code"] == "not_in_room"


async def test_username_room_and_time_in_a_message_payload_are_ignored(people):
    room, other = unique_room(), unique_room("other")
    ana, bob = await people(room, "Ana", "Bob")
    [watcher] = await people(other, "Cem")
    forged = {"message": "hi", "username": "ChatBot", "room": other, "__createdtime__": 1}
    ack = await ana.call(events.SEND_MESSAGE, forged)
    live = await bob.wait_for(events.RECEIVE_MESSAGE, lambda m: m.get("id") == ack["id"])
    assert live["username"] == "Ana"
    assert live["room"] == room
    assert live["__createdtime__"] == ack["__createdtime__"] > 1_700_000_000_000
    marker = await watcher.send_marker()
    assert watcher.messages() == [marker]


async def test_a_client_cannot_announce_that_someone_else_left(people):
    room = unique_room()
    _ana, bob = await people(room, "Ana", "Bob")
    [liar] = await people(unique_room("elsewhere"), "Liar")
    await liar.call(events.LEAVE_ROOM, {"username": "Ana", "room": room})
    await bob.send_marker()
    assert bob.notices() == ["Welcome Bob"]


async def test_empty_and_too_long_messages_are_refused_and_nothing_is_delivered(people):
    room = unique_room()
    ana, bob = await people(room, "Ana", "Bob")
    assert (await ana.send("   \n "))["error"]["code"] == "message_empty"
    assert (await ana.send("x" * 10_001))["error"]["code"] == "message_too_long"
    longest = await ana.send("x" * 10_000)
    assert longest["ok"]
    # The accepted message is the marker: anything refused before it would have come first.
    await bob.wait_for(events.RECEIVE_MESSAGE, lambda m: m.get("id") == longest["id"])
    assert [len(m["message"]) for m in bob.messages()] == [10_000]


async def test_the_same_client_id_is_stored_and_delivered_once(people):
    room = unique_room()
    ana, bob = await people(room, "Ana", "Bob")
    first = await ana.send("once", client_id="retry-1")
    again = await ana.send("once", client_id="retry-1")
    assert again == first
    assert [m.id for m in harperdb_store().latest(room=room, limit=10)] == [first["id"]]
    marker = await bob.send_marker()
    assert [m["id"] for m in bob.messages()] == [first["id"], marker["id"]]


async def test_typing_reaches_the_others_in_the_room_but_not_the_typist(people):
    room = unique_room()
    ana, bob = await people(room, "Ana", "Bob")
    assert await ana.call(events.TYPING, {"typing": True}) == {"ok": True}
    notice = await bob.wait_for(events.USER_TYPING)
    assert notice == {"username": "Ana", "room": room, "typing": True}
    await ana.send_marker()
    assert ana.events_named(events.USER_TYPING) == []


async def test_every_member_receives_the_rooms_messages_in_one_order_the_order_of_history(people):
    room = unique_room()
    *senders, listener = await people(room, "Sender0", "Sender1", "Sender2", "Listener")

    async def burst(sender, label):
        return await asyncio.gather(*(sender.send(f"{label}-{n}") for n in range(20)))

    acks = await asyncio.gather(*(burst(s, f"s{i}") for i, s in enumerate(senders)))
    assert all(ack["ok"] for group in acks for ack in group)
    for sender_acks in acks:  # one connection's messages keep the order they were sent in
        assert [a["id"] for a in sender_acks] == sorted(a["id"] for a in sender_acks)
    history = [m.id for m in harperdb_store().latest(room=room, limit=100)]
    assert len(history) == 60
    assert history == sorted(history)
    for member in [*senders, listener]:
        await member.wait_for_messages(history)
        assert [m["id"] for m in member.messages()] == history
    times = [m["__createdtime__"] for m in listener.messages()]
    assert times == sorted(times)
