"""Who someone is, through real socket.io connections: look-alike names, and removals that stick."""

import asyncio
import uuid

import pytest

from chatsite import events
from rooms.admission import BANNED_FOR_GOOD
from tests.chat_client import unique_room
from tests.live_server import create_user, logged_in, moderate, post_form

MODERATOR_PASSWORD = "moderator-password-1"

ALICE_LOOKALIKES = {
    "Cyrillic A": ("\u0410lice", "username_taken"),
    "fullwidth A": ("\uff21lice", "username_taken"),
    "capital i for l": ("AIice", "username_taken"),
    "combining grapheme joiner": ("Alice\u034f", "invalid_username"),
    "hangul filler": ("Alice\u3164", "invalid_username"),
    "braille blank": ("Alice\u2800", "invalid_username"),
    "variation selector": ("Alice\ufe0f", "invalid_username"),
}
CHATBOT_LOOKALIKES = [
    "ChatBot\ufe0f",
    "ChatB\u043et",
    "\uff23\uff48\uff41\uff54\uff22\uff4f\uff54",
    "Chat Bot",
]


async def refused_join(client, username: str, room: str) -> str:
    ack = await client.call(events.JOIN_ROOM, {"username": username, "room": room})
    assert ack["ok"] is False, ack
    return ack["error"]["code"]


@pytest.mark.parametrize(("name", "code"), ALICE_LOOKALIKES.values(), ids=ALICE_LOOKALIKES.keys())
async def test_a_name_that_looks_like_someone_in_the_room_is_refused(connect, people, name, code):
    room = unique_room("alice")
    [alice] = await people(room, "Alice")
    impostor = await connect()
    assert await refused_join(impostor, name, room) == code
    await alice.send_marker()
    assert alice.notices() == ["Welcome Alice"]


@pytest.mark.parametrize("name", CHATBOT_LOOKALIKES)
async def test_nobody_can_join_as_a_lookalike_of_chatbot(connect, name):
    client = await connect()
    assert await refused_join(client, name, unique_room("bot")) == "invalid_username"


async def test_room_names_that_look_alike_are_one_room(connect):
    label = unique_room("G\u00e9neral")
    ana, bob, cem = await connect(), await connect(), await connect()
    first = await ana.join("Ana", label)
    combining = await bob.join("Bob", label.replace("\u00e9", "e\u0301"))
    # A Cyrillic e with a combining accent, in capitals.
    cyrillic = await cem.join("Cem", label.replace("\u00e9", "\u0435\u0301").upper())
    assert first["room"] == combining["room"] == label
    assert [user["username"] for user in cyrillic["users"]] == ["Ana", "Bob", "Cem"]


async def test_a_message_of_only_invisible_characters_is_refused_as_empty(people):
    [ana] = await people(unique_room(), "Ana")
    refused = await ana.send("\u200b\u3164\u2800\u034f\ufeff")
    assert refused["ok"] is False
    assert refused["error"]["code"] == "message_empty"


@pytest.fixture(scope="module")
def moderator(chat_server):
    username = f"moderator-{uuid.uuid4().hex[:6]}"
    create_user(chat_server, username, MODERATOR_PASSWORD, staff=True)
    return logged_in(chat_server, username, MODERATOR_PASSWORD)


async def removed(moderator, chat_server, member, room: str, **fields: str) -> None:
    await moderate(moderator, chat_server, room, "remove", username="Bob", reason="", **fields)
    await member.wait_for(events.REMOVED_FROM_ROOM)


async def test_a_removed_person_cannot_come_back_under_their_name_or_a_lookalike(
    chat_server, moderator, connect, people
):
    room = unique_room("removal")
    ana, bob = await people(room, "Ana", "Bob")
    await removed(moderator, chat_server, bob, room)
    for name in ("Bob", "B\u043eb"):  # the second with a Cyrillic o
        again = await connect()
        ack = await again.call(events.JOIN_ROOM, {"username": name, "room": room})
        assert ack["error"]["code"] == "banned"
        assert ack["error"]["message"].startswith("A moderator removed you from this room")
    await ana.send_marker()
    assert ana.notices()[-1] == "Bob was removed from the chat room by a moderator"


async def test_a_ban_for_good_holds_until_staff_lift_it(chat_server, moderator, connect, people):
    room = unique_room("ban")
    [bob] = await people(room, "Bob")
    await removed(moderator, chat_server, bob, room, for_good="on")
    again = await connect()
    refused = await again.call(events.JOIN_ROOM, {"username": "Bob", "room": room})
    assert refused["error"] == {"code": "banned", "message": BANNED_FOR_GOOD}
    with chat_server.database() as database:
        [ban_id] = database.execute(
            "SELECT rooms_roomban.id FROM rooms_roomban JOIN rooms_room ON room_id = rooms_room.id"
            " WHERE rooms_room.name = ? AND until IS NULL",
            (room,),
        ).fetchone()
    lifted = await asyncio.to_thread(
        post_form,
        moderator,
        chat_server,
        "/admin/rooms/roomban/",
        {"action": "lift", "_selected_action": str(ban_id)},
    )
    assert lifted.ok
    assert (await again.join("Bob", room))["room"] == room
