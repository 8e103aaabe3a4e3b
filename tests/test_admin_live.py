"""The Django admin: live rooms over Channels, and moderation reaching socket.io clients."""

import asyncio
import json
import uuid

import aiohttp
import pytest
import requests

from chatsite import events
from messaging.store import harperdb_store
from tests.chat_client import unique_room
from tests.live_server import (
    create_user,
    logged_in,
    moderate,
    moderation_path,
    post_form,
    room_id,
    rooms_action,
)

STAFF_PASSWORD = "staff-password-1"


@pytest.fixture(scope="module")
def staff(chat_server):
    username = f"staff-{uuid.uuid4().hex[:6]}"
    create_user(chat_server, username, STAFF_PASSWORD, staff=True)
    return logged_in(chat_server, username, STAFF_PASSWORD)


@pytest.fixture(scope="module")
def visitor(chat_server):
    """Logged in, but not staff (the admin's own login form would refuse them)."""
    username = f"visitor-{uuid.uuid4().hex[:6]}"
    http = requests.Session()
    http.cookies.set("sessionid", create_user(chat_server, username, "visitor-pw-1", staff=False))
    return http


def admin_log(chat_server) -> list[str]:
    with chat_server.database() as database:
        rows = database.execute("SELECT change_message FROM django_admin_log ORDER BY id")
        return [row[0] for row in rows]


def live_socket(chat_server, http: requests.Session | None, origin: str | None = None):
    """A WebSocket to the live rooms view. Open, it hears every change from then on: the
    consumer joins the live feed before it accepts the handshake."""
    cookies = "; ".join(f"{c.name}={c.value}" for c in http.cookies) if http else ""
    headers = {"Origin": origin or chat_server.url, "Cookie": cookies}
    session = aiohttp.ClientSession()
    url = chat_server.url.replace("http", "ws") + "/ws/admin/live-rooms/"
    return session, session.ws_connect(url, headers=headers)


def test_admin_pages_render_for_staff(chat_server, staff):
    react = room_id(chat_server, "React")
    for path in (
        "/admin/live-rooms/",
        "/admin/rooms/room/",
        f"/admin/rooms/room/{react}/change/",
        f"/admin/rooms/room/{react}/moderate/",
    ):
        response = staff.get(f"{chat_server.url}{path}", timeout=5, allow_redirects=False)
        assert response.status_code == 200, path
    assert "Live rooms" in staff.get(f"{chat_server.url}/admin/live-rooms/", timeout=5).text


@pytest.mark.parametrize("who", ["anonymous", "visitor"])
def test_admin_pages_send_everyone_else_to_the_admin_login(chat_server, who, request):
    http = requests.Session() if who == "anonymous" else request.getfixturevalue("visitor")
    react = room_id(chat_server, "React")
    for path in ("/admin/live-rooms/", f"/admin/rooms/room/{react}/moderate/"):
        response = http.get(f"{chat_server.url}{path}", timeout=5, allow_redirects=False)
        assert response.status_code == 302
        assert "/admin/login/" in response.headers["Location"]


async def test_the_live_socket_refuses_people_who_are_not_staff(chat_server, visitor):
    for http in (None, visitor):
        session, connecting = live_socket(chat_server, http)
        async with session:
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                async with connecting:
                    pass
            assert refused.value.status == 403


async def test_the_live_socket_refuses_a_foreign_origin(chat_server, staff):
    session, connecting = live_socket(chat_server, staff, origin="http://evil.example")
    async with session:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            async with connecting:
                pass
        assert refused.value.status == 403


async def test_staff_see_a_join_within_a_second(chat_server, staff, people):
    room = unique_room("live")
    session, connecting = live_socket(chat_server, staff)
    async with session, connecting as socket:
        await people(room, "Ana")
        while True:
            event = json.loads((await socket.receive(timeout=1.0)).data)
            if event["kind"] == "presence" and event["room"] == room:
                break
        [person] = event["people"]
        assert person["username"] == "Ana"
        assert person["connections"] == 1


async def test_staff_see_messages_counted_live(chat_server, staff, people):
    room = unique_room("live")
    [ana] = await people(room, "Ana")
    session, connecting = live_socket(chat_server, staff)
    async with session, connecting as socket:
        ack = await ana.send("counted")
        while True:
            event = json.loads((await socket.receive(timeout=2)).data)
            posted = [entry for entry in event.get("rooms", []) if entry["room"] == room]
            if event["kind"] == "messages" and posted:
                break
        assert posted == [{"room": room, "count": 1, "created_ms": ack["__createdtime__"]}]


async def test_an_announcement_reaches_the_room_and_no_other(chat_server, staff, people):
    room = unique_room("announce")
    [ana] = await people(room, "Ana")
    [outsider] = await people(unique_room("other"), "Cem")
    response = await moderate(staff, chat_server, room, "announce", text="Maintenance at 5")
    assert response.ok
    notice = await ana.wait_for(
        events.RECEIVE_MESSAGE, lambda m: m["message"] == "Maintenance at 5"
    )
    assert notice["username"] == events.CHATBOT
    assert notice["room"] == room
    await outsider.send_marker()
    assert outsider.notices() == ["Welcome Cem"]
    assert f"Announced in {room}: Maintenance at 5" in admin_log(chat_server)
    [newcomer] = await people(room, "Bob")
    assert newcomer.history() == [notice]


async def test_a_deleted_message_leaves_history_and_every_open_page(chat_server, staff, people):
    room = unique_room("delete")
    ana, bob = await people(room, "Ana", "Bob")
    doomed = await ana.send("regrettable")
    kept = await ana.send("fine")
    page_url = f"{chat_server.url}{moderation_path(chat_server, room)}"
    page = await asyncio.to_thread(staff.get, page_url, timeout=5)
    assert "regrettable" in page.text
    await moderate(staff, chat_server, room, "delete", message_id=doomed["id"])
    for client in (ana, bob):
        deleted = await client.wait_for(events.MESSAGE_DELETED)
        assert deleted == {"id": doomed["id"], "room": room}
    assert [m.id for m in harperdb_store().latest(room=room, limit=10)] == [kept["id"]]
    logged = f"Deleted Ana's message “regrettable” from {room} (id {doomed['id']})."
    assert logged in admin_log(chat_server)


async def test_a_removed_person_leaves_the_roster_and_cannot_post_there(chat_server, staff, people):
    room = unique_room("remove")
    ana, bob = await people(room, "Ana", "Bob")
    await moderate(staff, chat_server, room, "remove", username="Bob", reason="spam")
    removed = await bob.wait_for(events.REMOVED_FROM_ROOM)
    assert removed == {
        "room": room,
        "reason": "spam",
        "kind": "removed",
        "moderator_reason": "spam",
    }
    notice = "Bob was removed from the chat room by a moderator"
    await ana.wait_for(events.RECEIVE_MESSAGE, lambda m: m["message"] == notice)
    assert [u["username"] for u in ana.events_named(events.CHATROOM_USERS)[-1]] == ["Ana"]
    refused = await bob.send("let me back")
    assert refused["ok"] is False
    assert refused["error"]["code"] == "not_in_room"
    assert f"Removed Bob from {room}." in admin_log(chat_server)


async def test_a_closed_room_removes_its_members_refuses_joins_and_leaves_the_join_page(
    chat_server, staff, connect, people
):
    room = unique_room("closing")
    [ana] = await people(room, "Ana")
    await rooms_action(staff, chat_server, "close_rooms", room)
    removed = await ana.wait_for(events.REMOVED_FROM_ROOM)
    assert (removed["room"], removed["kind"]) == (room, "closed")
    latecomer = await connect()
    refused = await latecomer.call(events.JOIN_ROOM, {"username": "Bob", "room": room})
    assert refused["error"]["code"] == "room_closed"
    join_page = await asyncio.to_thread(requests.get, f"{chat_server.url}/", timeout=5)
    assert room not in join_page.text
    await rooms_action(staff, chat_server, "reopen_rooms", room)
    assert (await latecomer.join("Bob", room))["ok"]


async def test_a_renamed_room_keeps_its_history_under_the_new_name(chat_server, staff, people):
    room, new_name = unique_room("old"), unique_room("new")
    [ana] = await people(room, "Ana")
    sent = [await ana.send(f"m{n}") for n in range(3)]
    room_pk = room_id(chat_server, room)
    path = f"/admin/rooms/room/{room_pk}/change/"
    await asyncio.to_thread(
        post_form, staff, chat_server, path, {"name": new_name, "slug": f"slug-{room_pk}"}
    )
    removed = await ana.wait_for(events.REMOVED_FROM_ROOM)
    assert (removed["kind"], removed["new_room"]) == ("renamed", new_name)
    assert new_name in removed["reason"]
    moved = harperdb_store().latest(room=new_name, limit=10)
    assert [m.message for m in moved] == ["m0", "m1", "m2"]
    assert [m.created_ms for m in moved] == [a["__createdtime__"] for a in sent]
    assert harperdb_store().latest(room=room, limit=10) == []
    ack = await ana.join("Ana", new_name)
    assert ack["room"] == new_name
