"""Joining, leaving and disconnecting, through real socket.io connections (PROTOCOL.md Part A)."""

from chatsite import events
from tests.chat_client import unique_room
from tests.live_server import browser_session

WITNESS_SEEN = ["Witness has joined the chat room", "Witness has disconnected from the chat."]


async def _after_a_grace_period(people, room: str, watcher) -> None:
    """Return once every presence grace period begun before this call is over, as `watcher`
    in `room` sees it: a witness joins and disconnects, and their departure is announced when
    their own grace period ends, after any that began earlier."""
    [witness] = await people(room, "Witness")
    await witness.disconnect()
    await watcher.wait_for(events.RECEIVE_MESSAGE, lambda m: m["message"] == WITNESS_SEEN[1])


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
    assert welcome["username"] == events.CHATBOT
    assert welcome["message"] == "Welcome Ana"
    assert welcome["room"] == room
    assert isinstance(welcome["__createdtime__"], int)


async def test_a_brand_new_room_still_sends_an_empty_history(people):
    [ana] = await people(unique_room("new"), "Ana")
    await ana.wait_for(events.LAST_100_MESSAGES)
    assert ana.history() == []


async def test_when_someone_joins_then_members_hear_it_and_nobody_in_another_room_does(people):
    room, elsewhere = unique_room(), unique_room("elsewhere")
    [ana] = await people(room, "Ana")
    [cem] = await people(elsewhere, "Cem")
    cem.forget()
    [bob] = await people(room, "Bob")
    await ana.wait_for(
        events.RECEIVE_MESSAGE, lambda m: m["message"] == "Bob has joined the chat room"
    )
    roster = await ana.wait_for(events.CHATROOM_USERS, lambda users: len(users) == 2)
    assert [(u["username"], u["room"]) for u in roster] == [("Ana", room), ("Bob", room)]
    marker = await cem.send_marker()
    assert cem.received == [(events.RECEIVE_MESSAGE, marker)]
    await bob.send_marker()
    assert bob.notices() == ["Welcome Bob"]


async def test_roster_ids_are_stable_and_never_socket_ids(connect):
    room = unique_room()
    ana, bob = await connect(), await connect()
    first = (await ana.join("Ana", room))["users"][0]
    second = (await bob.join("Bob", room))["users"]
    assert second[0]["id"] == first["id"]
    assert {entry["id"] for entry in second}.isdisjoint({ana.sid, bob.sid})


async def test_joining_twice_lists_the_person_once_and_announces_nothing(people):
    room = unique_room()
    ana, bob = await people(room, "Ana", "Bob")
    ack = await bob.join("Bob", room)
    assert [u["username"] for u in ack["users"]] == ["Ana", "Bob"]
    await ana.send_marker()
    assert ana.notices() == ["Welcome Ana", "Bob has joined the chat room"]


async def test_a_username_held_by_another_person_is_refused_whatever_its_case(connect, people):
    room = unique_room()
    await people(room, "Ana")
    impostor = await connect()
    ack = await impostor.call(events.JOIN_ROOM, {"username": "aNA", "room": room})
    assert ack["ok"] is False
    assert ack["error"]["code"] == "username_taken"
    error = await impostor.wait_for(events.CHAT_ERROR)
    assert error["event"] == events.JOIN_ROOM
    assert error["code"] == "username_taken"


async def test_the_same_username_may_be_used_in_another_room(connect):
    ana, other_ana = await connect(), await connect()
    await ana.join("Ana", unique_room())
    assert (await other_ana.join("Ana", unique_room()))["ok"]


async def test_chatbot_is_reserved(connect):
    client = await connect()
    for name in ("ChatBot", "chatbot", " CHATBOT "):
        ack = await client.call(events.JOIN_ROOM, {"username": name, "room": unique_room()})
        assert ack["error"] == {
            "code": "invalid_username",
            "message": "ChatBot is the chat's own name; pick another.",
        }


async def test_an_empty_or_long_name_is_refused_saying_what_is_wrong(connect):
    client = await connect()
    empty = await client.call(events.JOIN_ROOM, {"username": " ", "room": unique_room()})
    assert empty["error"]["message"] == "Pick a username."
    long = await client.call(events.JOIN_ROOM, {"username": "x" * 80, "room": unique_room()})
    assert long["error"]["message"] == (
        "A username can be at most 32 characters long; this one has 80."
    )


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
        assert ack["ok"] is False, payload
        assert ack["error"]["code"] == code, payload


async def test_room_names_with_quotes_and_sql_are_just_names(people):
    room = "x' OR '1'='1 " + unique_room('"quoted\\')
    [ana] = await people(room, "Ana")
    ack = await ana.send("it's fine")
    assert ack["ok"]
    [late] = await people(room, "Bob")
    await late.wait_for(events.LAST_100_MESSAGES)
    assert [m["message"] for m in late.history()] == ["it's fine"]


async def test_joining_another_room_leaves_the_first_one(people):
    first, second = unique_room("first"), unique_room("second")
    bob, ana = await people(first, "Bob", "Ana")
    await ana.join("Ana", second)
    roster = await bob.wait_for(
        events.CHATROOM_USERS,
        lambda users: len(users) == 1 and bob.notices().count("Ana has left the chat"),
    )
    assert [u["username"] for u in roster] == ["Bob"]
    await bob.send("only for first")
    marker = await ana.send_marker()
    assert ana.messages() == [marker]


async def test_leaving_updates_the_roster_then_announces_and_stops_delivery(people):
    room = unique_room()
    ana, bob = await people(room, "Ana", "Bob")
    ana.forget()
    assert await bob.call(events.LEAVE_ROOM, {"username": "Bob", "room": room}) == {"ok": True}
    await ana.wait_for(events.RECEIVE_MESSAGE, lambda m: m["message"] == "Bob has left the chat")
    names = [name for name, _ in ana.received]
    assert names == [events.CHATROOM_USERS, events.RECEIVE_MESSAGE]
    assert [u["username"] for u in ana.events_named(events.CHATROOM_USERS)[0]] == ["Ana"]
    bob.forget()
    await ana.send("Bob should not see this")
    # Bob is in no room, so his marker is the refusal of an event only members may send.
    await bob.call(events.TYPING, {"typing": False})
    marker = await bob.wait_for(events.CHAT_ERROR)
    retold = await bob.wait_for(events.RECEIVE_MESSAGE)  # by ChatBot, for the original clients
    assert bob.received == [(events.CHAT_ERROR, marker), (events.RECEIVE_MESSAGE, retold)]
    assert marker["code"] == retold["code"] == "not_in_room"


async def test_leaving_a_room_you_are_not_in_changes_and_announces_nothing(connect, people):
    room = unique_room()
    [ana] = await people(room, "Ana")
    ana.forget()
    bob = await connect()
    assert await bob.call(events.LEAVE_ROOM, {"username": "Ana", "room": room}) == {"ok": True}
    marker = await ana.send_marker()
    assert ana.received == [(events.RECEIVE_MESSAGE, marker)]


async def test_disconnect_is_announced_to_the_room_the_person_was_in_with_name_and_time(people):
    room, elsewhere = unique_room(), unique_room("elsewhere")
    ana, bob = await people(room, "Ana", "Bob")
    [cem] = await people(elsewhere, "Cem")
    cem.forget()
    await bob.disconnect()
    notice = await ana.wait_for(
        events.RECEIVE_MESSAGE, lambda m: m["message"] == "Bob has disconnected from the chat."
    )
    assert notice["room"] == room
    assert notice["username"] == events.CHATBOT
    assert isinstance(notice["__createdtime__"], int)
    assert [u["username"] for u in ana.events_named(events.CHATROOM_USERS)[-1]] == ["Ana"]
    marker = await cem.send_marker()
    assert cem.received == [(events.RECEIVE_MESSAGE, marker)]


async def test_a_reconnect_within_the_grace_period_is_not_announced(connect, people):
    room = unique_room()
    [ana] = await people(room, "Ana")
    bob = await connect()
    first = (await bob.join("Bob", room))["users"][1]
    await bob.disconnect()
    bob_again = await connect()
    ack = await bob_again.join("Bob", room)
    assert ack["users"][1]["id"] == first["id"]
    await _after_a_grace_period(people, room, ana)
    assert ana.notices() == ["Welcome Ana", "Bob has joined the chat room", *WITNESS_SEEN]


async def test_a_person_with_two_tabs_is_listed_once_and_announced_once(
    connect, people, chat_server
):
    room = unique_room()
    cookie = browser_session(chat_server.url, "Ana", room)
    [bob] = await people(room, "Bob")
    first_tab = await connect(headers={"Cookie": cookie})
    second_tab = await connect(headers={"Cookie": cookie})
    await first_tab.join("ignored: the session decides", room)
    ack = await second_tab.join("Ana", room)
    assert [u["username"] for u in ack["users"]] == ["Bob", "Ana"]
    await first_tab.disconnect()
    await _after_a_grace_period(people, room, bob)
    assert bob.notices() == ["Welcome Bob", "Ana has joined the chat room", *WITNESS_SEEN]
    await second_tab.call(events.LEAVE_ROOM, {})
    await bob.wait_for(events.RECEIVE_MESSAGE, lambda m: m["message"] == "Ana has left the chat")


async def test_a_page_refresh_within_the_grace_period_is_not_announced(
    connect, people, chat_server
):
    room = unique_room()
    cookie = browser_session(chat_server.url, "Ana", room)
    [bob] = await people(room, "Bob")
    before = await connect(headers={"Cookie": cookie})
    await before.join("Ana", room)
    await before.disconnect()
    after = await connect(headers={"Cookie": cookie})
    await after.join("Ana", room)
    await _after_a_grace_period(people, room, bob)
    assert bob.notices() == ["Welcome Bob", "Ana has joined the chat room", *WITNESS_SEEN]


async def test_a_session_username_cannot_be_taken_by_a_connection_without_it(connect, chat_server):
    room = unique_room()
    cookie = browser_session(chat_server.url, "Ana", room)
    ana = await connect(headers={"Cookie": cookie})
    await ana.join("Ana", room)
    await ana.disconnect()
    impostor = await connect()
    ack = await impostor.call(events.JOIN_ROOM, {"username": "Ana", "room": room})
    assert ack["error"]["code"] == "username_taken"
