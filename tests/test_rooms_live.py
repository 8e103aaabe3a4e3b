"""Joining, leaving and disconnecting, through real socket.io connections (PROTOCOL.md Part A)."""

import asyncio

from chatsite import events
from tests.chat_client import unique_room
from tests.live_server import browser_session


async def test_joiner_is_welcomed_then_gets_the_roster_then_the_history(connect):
    room = unique_room()
    ana = await connect()
    ack = await ana.join("Ana", room)
    assert ack == {"ok": True, "room": room, "username": "Ana", "users": ack["users"]}
    assert [entry["username"] for entry in ack["users"]] == ["Ana"]
    await ana.wait_for(events.LAST_100_MESSAGES)
    names = [name for name, _ in ana.received]
    assert names == [events.RECEIVE_MESSAGE, events.CHATROOM_USERS, events.LAST_100_MESSAGES]
    welcome = ana.events_named(events.RECEIVE_MESSAGE)[0]
    assert welcome["username"] == events.CHATBOT and welcome["message"] == "Welcome Ana"
    assert welcome["room"] == room and isinstance(welcome["__createdtime__"], int)


async def test_a_brand_new_room_still_sends_an_empty_history(connect):
    ana = await connect()
    await ana.join("Ana", unique_room("new"))
    await ana.wait_for(events.LAST_100_MESSAGES)
    assert ana.history() == []


async def test_when_someone_joins_then_members_hear_it_and_nobody_in_another_room_does(connect):
    room, elsewhere = unique_room(), unique_room("elsewhere")
    ana, bob, cem = await connect(), await connect(), await connect()
    await ana.join("Ana", room)
    await cem.join("Cem", elsewhere)
    await bob.join("Bob", room)
    await ana.wait_for(
        events.RECEIVE_MESSAGE, lambda m: m["message"] == "Bob has joined the chat room"
    )
    roster = await ana.wait_for(events.CHATROOM_USERS, lambda users: len(users) == 2)
    assert [(u["username"], u["room"]) for u in roster] == [("Ana", room), ("Bob", room)]
    await asyncio.sleep(0.2)
    assert "Bob has joined the chat room" not in cem.notices()
    assert all(len(users) == 1 for users in cem.events_named(events.CHATROOM_USERS))
    assert "Bob has joined the chat room" not in bob.notices()


async def test_roster_ids_are_stable_and_never_socket_ids(connect):
    room = unique_room()
    ana, bob = await connect(), await connect()
    first = (await ana.join("Ana", room))["users"][0]
    second = (await bob.join("Bob", room))["users"]
    assert second[0]["id"] == first["id"]
    assert {entry["id"] for entry in second}.isdisjoint({ana.sid, bob.sid})


async def test_joining_twice_lists_the_person_once_and_announces_nothing(connect):
    room = unique_room()
    ana, bob = await connect(), await connect()
    await ana.join("Ana", room)
    await bob.join("Bob", room)
    ack = await bob.join("Bob", room)
    assert [u["username"] for u in ack["users"]] == ["Ana", "Bob"]
    await asyncio.sleep(0.2)
    assert ana.notices().count("Bob has joined the chat room") == 1


async def test_a_username_held_by_another_person_is_refused_whatever_its_case(connect):
    room = unique_room()
    ana, impostor = await connect(), await connect()
    await ana.join("Ana", room)
    ack = await impostor.call(events.JOIN_ROOM, {"username": "aNA", "room": room})
    assert ack["ok"] is False and ack["error"]["code"] == "username_taken"
    error = await impostor.wait_for(events.CHAT_ERROR)
    assert error["event"] == events.JOIN_ROOM and error["code"] == "username_taken"


async def test_the_same_username_may_be_used_in_another_room(connect):
    ana, other_ana = await connect(), await connect()
    await ana.join("Ana", unique_room())
    assert (await other_ana.join("Ana", unique_room()))["ok"]


async def test_chatbot_is_reserved(connect):
    client = await connect()
    for name in ("ChatBot", "chatbot", " CHATBOT "):
        ack = await client.call(events.JOIN_ROOM, {"username": name, "room": unique_room()})
        assert ack["error"]["code"] == "invalid_username"


async def test_bad_usernames_and_room_names_are_refused(connect):
    client = await connect()
    cases = [
        ({"username": "", "room": "ok"}, "invalid_username"),
        ({"username": "   ", "room": "ok"}, "invalid_username"),
        ({"username": "x" * 33, "room": "ok"}, "invalid_username"),
        ({"username": "bad\nname", "room": "ok"}, "invalid_username"),
        ({"username": "Ana", "room": ""}, "invalid_room"),
        ({"username": "Ana", "room": "r" * 65}, "invalid_room"),
        ({"username": "Ana", "room": "tab\there"}, "invalid_room"),
    ]
    for payload, code in cases:
        ack = await client.call(events.JOIN_ROOM, payload)
        assert ack["ok"] is False and ack["error"]["code"] == code, payload


async def test_room_names_with_quotes_and_sql_are_just_names(connect):
    room = "x' OR '1'='1 " + unique_room('"quoted\\')
    ana = await connect()
    await ana.join("Ana", room)
    ack = await ana.send("it's fine")
    assert ack["ok"]
    late = await connect()
    await late.join("Bob", room)
    await late.wait_for(events.LAST_100_MESSAGES)
    assert [m["message"] for m in late.history()] == ["it's fine"]


async def test_joining_another_room_leaves_the_first_one(connect):
    first, second = unique_room("first"), unique_room("second")
    ana, bob = await connect(), await connect()
    await bob.join("Bob", first)
    await ana.join("Ana", first)
    await ana.join("Ana", second)
    roster = await bob.wait_for(
        events.CHATROOM_USERS,
        lambda users: len(users) == 1 and bob.notices().count("Ana has left the chat"),
    )
    assert [u["username"] for u in roster] == ["Bob"]
    await bob.send("only for first")
    await asyncio.sleep(0.2)
    assert ana.messages() == []


async def test_leaving_updates_the_roster_then_announces_and_stops_delivery(connect):
    room = unique_room()
    ana, bob = await connect(), await connect()
    await ana.join("Ana", room)
    await bob.join("Bob", room)
    ana.forget()
    assert await bob.call(events.LEAVE_ROOM, {"username": "Bob", "room": room}) == {"ok": True}
    await ana.wait_for(events.RECEIVE_MESSAGE, lambda m: m["message"] == "Bob has left the chat")
    names = [name for name, _ in ana.received]
    assert names == [events.CHATROOM_USERS, events.RECEIVE_MESSAGE]
    assert [u["username"] for u in ana.events_named(events.CHATROOM_USERS)[0]] == ["Ana"]
    bob.forget()
    await ana.send("Bob should not see this")
    await asyncio.sleep(0.2)
    assert bob.messages() == []


async def test_leaving_a_room_you_are_not_in_changes_and_announces_nothing(connect):
    room = unique_room()
    ana, bob = await connect(), await connect()
    await ana.join("Ana", room)
    assert await bob.call(events.LEAVE_ROOM, {"username": "Ana", "room": room}) == {"ok": True}
    await asyncio.sleep(0.2)
    assert ana.notices() == ["Welcome Ana"]


async def test_disconnect_is_announced_to_the_room_the_person_was_in_with_name_and_time(connect):
    room, elsewhere = unique_room(), unique_room("elsewhere")
    ana, bob, cem = await connect(), await connect(), await connect()
    await ana.join("Ana", room)
    await bob.join("Bob", room)
    await cem.join("Cem", elsewhere)
    await bob.disconnect()
    notice = await ana.wait_for(
        events.RECEIVE_MESSAGE, lambda m: m["message"] == "Bob has disconnected from the chat."
    )
    assert notice["room"] == room and notice["username"] == events.CHATBOT
    assert isinstance(notice["__createdtime__"], int)
    assert [u["username"] for u in ana.events_named(events.CHATROOM_USERS)[-1]] == ["Ana"]
    await asyncio.sleep(0.2)
    assert not any("disconnected" in text for text in cem.notices())


async def test_a_reconnect_within_the_grace_period_is_not_announced(connect):
    room = unique_room()
    ana, bob = await connect(), await connect()
    await ana.join("Ana", room)
    first = (await bob.join("Bob", room))["users"][1]
    await bob.disconnect()
    bob_again = await connect()
    ack = await bob_again.join("Bob", room)
    assert ack["users"][1]["id"] == first["id"]
    await asyncio.sleep(1.0)
    assert ana.notices() == ["Welcome Ana", "Bob has joined the chat room"]


async def test_a_person_with_two_tabs_is_listed_once_and_announced_once(connect, chat_server):
    room = unique_room()
    cookie = browser_session(chat_server.url, "Ana", room)
    bob = await connect()
    await bob.join("Bob", room)
    first_tab = await connect(headers={"Cookie": cookie})
    second_tab = await connect(headers={"Cookie": cookie})
    await first_tab.join("ignored: the session decides", room)
    ack = await second_tab.join("Ana", room)
    assert [u["username"] for u in ack["users"]] == ["Bob", "Ana"]
    await first_tab.disconnect()
    await asyncio.sleep(1.0)
    assert bob.notices().count("Ana has joined the chat room") == 1
    assert not any("Ana has" in text and "joined" not in text for text in bob.notices())
    await second_tab.call(events.LEAVE_ROOM, {})
    await bob.wait_for(events.RECEIVE_MESSAGE, lambda m: m["message"] == "Ana has left the chat")


async def test_a_page_refresh_within_the_grace_period_is_not_announced(connect, chat_server):
    room = unique_room()
    cookie = browser_session(chat_server.url, "Ana", room)
    bob = await connect()
    await bob.join("Bob", room)
    before = await connect(headers={"Cookie": cookie})
    await before.join("Ana", room)
    await before.disconnect()
    after = await connect(headers={"Cookie": cookie})
    await after.join("Ana", room)
    await asyncio.sleep(1.0)
    assert bob.notices() == ["Welcome Bob", "Ana has joined the chat room"]


async def test_a_session_username_cannot_be_taken_by_a_connection_without_it(connect, chat_server):
    room = unique_room()
    cookie = browser_session(chat_server.url, "Ana", room)
    ana = await connect(headers={"Cookie": cookie})
    await ana.join("Ana", room)
    await ana.disconnect()
    impostor = await connect()
    ack = await impostor.call(events.JOIN_ROOM, {"username": "Ana", "room": room})
    assert ack["error"]["code"] == "username_taken"
