"""Posting and reading messages through real sockets and a real HarperDB (Part A, B, ordering)."""

import asyncio

from messaging.store import harperdb_store
from chatsite import events
from tests.chat_client import unique_room

MESSAGE_FIELDS = {"id", "room", "username", "message", "__createdtime__"}


async def _pair(connect, room):
    ana, bob = await connect(), await connect()
    await ana.join("Ana", room)
    await bob.join("Bob", room)
    return ana, bob


async def test_a_message_is_stored_then_delivered_to_every_member_then_acked(connect):
    room = unique_room()
    ana, bob = await _pair(connect, room)
    ack = await ana.send("hello <b>world</b>\n  kept as sent  ")
    assert ack["ok"] is True and set(ack) == {"ok", "id", "__createdtime__"}
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


async def test_two_people_in_different_rooms_never_hear_each_other(connect):
    ana, bob = await connect(), await connect()
    await ana.join("Ana", unique_room("a"))
    await bob.join("Bob", unique_room("b"))
    await ana.send("for room a")
    await bob.send("for room b")
    await asyncio.sleep(0.2)
    assert [m["message"] for m in ana.messages()] == ["for room a"]
    assert [m["message"] for m in bob.messages()] == ["for room b"]


async def test_the_same_message_has_the_same_fields_live_and_in_history(connect):
    room = unique_room()
    ana = await connect()
    await ana.join("Ana", room)
    ack = await ana.send("same everywhere", client_id="c-same")
    live = await ana.wait_for(events.RECEIVE_MESSAGE, lambda m: m.get("id") == ack["id"])
    late = await connect()
    await late.join("Bob", room)
    await late.wait_for(events.LAST_100_MESSAGES)
    [from_history] = late.history()
    assert {key: from_history[key] for key in live} == live
    assert live["client_id"] == "c-same"


async def test_after_150_messages_a_joiner_gets_exactly_the_latest_100_oldest_first(connect):
    room = unique_room()
    ana = await connect()
    await ana.join("Ana", room)
    for number in range(150):
        assert (await ana.send(f"message {number}"))["ok"]
    late = await connect()
    await late.join("Bob", room)
    await late.wait_for(events.LAST_100_MESSAGES)
    history = late.history()
    assert [m["message"] for m in history] == [f"message {n}" for n in range(50, 150)]
    assert all(set(m) >= MESSAGE_FIELDS and m["room"] == room for m in history)


async def test_load_history_pages_back_through_the_whole_history_without_gaps(connect):
    room = unique_room()
    ana = await connect()
    await ana.join("Ana", room)
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


async def test_load_history_refuses_an_id_from_another_room(connect):
    ana, bob = await connect(), await connect()
    await ana.join("Ana", unique_room())
    await bob.join("Bob", unique_room())
    foreign = (await bob.send("elsewhere"))["id"]
    page = await ana.call(events.LOAD_HISTORY, {"before": foreign})
    assert page["ok"] is False and page["error"]["code"] == "invalid_payload"


async def test_nobody_can_post_without_joining_a_room(connect):
    stranger = await connect()
    for event, payload in (
        (events.SEND_MESSAGE, {"message": "hi", "room": "React", "username": "Ana"}),
        (events.TYPING, {"typing": True}),
        (events.LOAD_HISTORY, {"before": "x"}),
    ):
        ack = await stranger.call(event, payload)
        assert ack["ok"] is False and ack["error"]["code"] == "not_in_room"


async def test_username_room_and_time_in_a_message_payload_are_ignored(connect):
    room, other = unique_room(), unique_room("other")
    ana, bob = await _pair(connect, room)
    watcher = await connect()
    await watcher.join("Cem", other)
    forged = {"message": "hi", "username": "ChatBot", "room": other, "__createdtime__": 1}
    ack = await ana.call(events.SEND_MESSAGE, forged)
    live = await bob.wait_for(events.RECEIVE_MESSAGE, lambda m: m.get("id") == ack["id"])
    assert live["username"] == "Ana" and live["room"] == room
    assert live["__createdtime__"] == ack["__createdtime__"] > 1_700_000_000_000
    await asyncio.sleep(0.2)
    assert watcher.messages() == []


async def test_a_client_cannot_announce_that_someone_else_left(connect):
    room = unique_room()
    ana, bob = await _pair(connect, room)
    liar = await connect()
    await liar.join("Liar", unique_room("elsewhere"))
    await liar.call(events.LEAVE_ROOM, {"username": "Ana", "room": room})
    await asyncio.sleep(0.2)
    assert not any("Ana has left" in text for text in bob.notices())


async def test_empty_and_too_long_messages_are_refused_and_nothing_is_delivered(connect):
    room = unique_room()
    ana, bob = await _pair(connect, room)
    assert (await ana.send("   \n "))["error"]["code"] == "message_empty"
    assert (await ana.send("x" * 10_001))["error"]["code"] == "message_too_long"
    assert (await ana.send("x" * 10_000))["ok"]
    await asyncio.sleep(0.2)
    assert [len(m["message"]) for m in bob.messages()] == [10_000]


async def test_the_same_client_id_is_stored_and_delivered_once(connect):
    room = unique_room()
    ana, bob = await _pair(connect, room)
    first = await ana.send("once", client_id="retry-1")
    again = await ana.send("once", client_id="retry-1")
    assert again == first
    await asyncio.sleep(0.2)
    assert [m["id"] for m in bob.messages()] == [first["id"]]
    assert [m.id for m in harperdb_store().latest(room=room, limit=10)] == [first["id"]]


async def test_typing_reaches_the_others_in_the_room_but_not_the_typist(connect):
    room = unique_room()
    ana, bob = await _pair(connect, room)
    assert await ana.call(events.TYPING, {"typing": True}) == {"ok": True}
    notice = await bob.wait_for(events.USER_TYPING)
    assert notice == {"username": "Ana", "room": room, "typing": True}
    await asyncio.sleep(0.1)
    assert ana.events_named(events.USER_TYPING) == []


async def test_every_member_receives_the_rooms_messages_in_one_order_the_order_of_history(connect):
    room = unique_room()
    senders = [await connect() for _ in range(3)]
    for number, sender in enumerate(senders):
        await sender.join(f"Sender{number}", room)
    listener = await connect()
    await listener.join("Listener", room)

    async def burst(sender, label):
        return await asyncio.gather(*(sender.send(f"{label}-{n}") for n in range(20)))

    acks = await asyncio.gather(*(burst(s, f"s{i}") for i, s in enumerate(senders)))
    assert all(ack["ok"] for group in acks for ack in group)
    for sender_acks in acks:  # one connection's messages keep the order they were sent in
        assert [a["id"] for a in sender_acks] == sorted(a["id"] for a in sender_acks)
    await asyncio.sleep(0.3)
    history = [m.id for m in harperdb_store().latest(room=room, limit=100)]
    assert len(history) == 60 and history == sorted(history)
    for member in [*senders, listener]:
        assert [m["id"] for m in member.messages()] == history
    times = [m["__createdtime__"] for m in listener.messages()]
    assert times == sorted(times)
