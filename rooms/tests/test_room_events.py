"""The rooms services' effects, as the people in the room see them: joins, leaves,
disconnects, typing, posting, and the moderators' actions. In-memory transport and store."""

import json

import pytest
from asgiref.sync import sync_to_async

from chatsite import events
from chatsite.errors import ChatError, ErrorCode
from messaging.tests.factories import make_messages
from rooms import services
from rooms.models import Room
from rooms.presence import USERNAME_TAKEN
from rooms.selectors import room_history_before, roster_list

pytestmark = [
    pytest.mark.django_db(transaction=True),  # the services reach the ORM from other threads
    pytest.mark.usefixtures("fresh_presence"),
]


@pytest.fixture(autouse=True)
def _every_change_told_at_once(settings):
    """Roster updates are not coalesced here (rooms/tests/test_roster_feed.py shows that)."""
    settings.CHAT_ROSTER_WINDOW_SECONDS = 0


@pytest.fixture
async def react() -> Room:
    return await sync_to_async(services.room_get_or_create)(name="React")


async def join(connection: str, username: str, room: str = "React", *, person: str = ""):
    return await services.room_join(
        connection=connection,
        person_key=person or f"session:{username}",
        username=username,
        room_name=room,
    )


def texts(published, connection: str) -> list[str]:
    """The ChatBot notices and messages `connection` received, in order."""
    return [data["message"] for data in published.received(connection, events.RECEIVE_MESSAGE)]


def event_names(published, connection: str) -> list[str]:
    return [sent.event for sent in published.sent if sent.connection == connection]


async def test_a_joiner_is_welcomed_then_gets_the_roster_then_the_history(published, memory_store):
    memory_store.insert(make_messages("React", 3))
    joined = await join("c-ana", "Ana")
    assert event_names(published, "c-ana") == [
        events.RECEIVE_MESSAGE,
        events.CHATROOM_USERS,
        events.LAST_100_MESSAGES,
    ]
    assert texts(published, "c-ana") == [events.welcome_text("Ana")]
    history = json.loads(published.received("c-ana", events.LAST_100_MESSAGES)[0])
    assert [m["message"] for m in history] == ["message 0", "message 1", "message 2"]
    assert (joined.room, joined.username) == ("React", "Ana")
    assert joined.roster == await roster_list(room="React")


async def test_the_others_hear_of_a_newcomer_once_however_many_tabs_they_open(
    published, memory_store
):
    await join("c-bob", "Bob")
    await join("c-ana-1", "Ana")
    await join("c-ana-2", "Ana")
    assert texts(published, "c-bob") == [events.welcome_text("Bob"), events.joined_text("Ana")]
    rosters = published.received("c-bob", events.CHATROOM_USERS)
    assert [[p["username"] for p in roster] for roster in rosters] == [["Bob"], ["Bob", "Ana"]]


async def test_a_name_held_by_another_person_is_refused_and_nobody_hears_of_it(
    published, memory_store
):
    await join("c-ana", "Ana")
    before = list(published.sent)
    with pytest.raises(ChatError) as raised:
        await join("c-other", "ana", person="session:someone-else")
    assert (raised.value.code, raised.value.message) == (ErrorCode.USERNAME_TAKEN, USERNAME_TAKEN)
    assert published.sent == before


async def test_joining_another_room_leaves_the_first_and_tells_those_left_behind(
    published, memory_store
):
    await join("c-bob", "Bob")
    await join("c-ana", "Ana")
    await join("c-ana", "Ana", "Node")
    assert texts(published, "c-bob")[-1] == events.left_text("Ana")
    assert [p["username"] for p in published.received("c-bob", events.CHATROOM_USERS)[-1]] == [
        "Bob"
    ]
    assert published.rooms["React"] == ["c-bob"]
    assert published.rooms["Node"] == ["c-ana"]


async def test_a_leaver_stops_hearing_the_room_and_the_others_see_roster_then_notice(
    published, memory_store
):
    await join("c-bob", "Bob")
    await join("c-ana", "Ana")
    published.sent.clear()
    await services.room_leave(connection="c-ana")
    assert event_names(published, "c-bob") == [events.CHATROOM_USERS, events.RECEIVE_MESSAGE]
    assert texts(published, "c-bob") == [events.left_text("Ana")]
    assert event_names(published, "c-ana") == []
    assert "c-ana" not in published.rooms["React"]


async def test_leaving_when_in_no_room_changes_nothing(published, memory_store):
    await services.room_leave(connection="c-nobody")
    assert published.sent == []


async def test_one_tab_of_two_leaving_is_not_announced(published, memory_store):
    await join("c-bob", "Bob")
    await join("c-ana-1", "Ana")
    await join("c-ana-2", "Ana")
    published.sent.clear()
    await services.room_leave(connection="c-ana-1")
    assert published.sent == []
    assert [p["username"] for p in await roster_list(room="React")] == ["Bob", "Ana"]


async def test_a_disconnect_is_announced_after_the_grace_period(
    published, memory_store, fresh_presence, settings
):
    settings.CHAT_PRESENCE_GRACE_SECONDS = 0.01
    await join("c-bob", "Bob")
    await join("c-ana", "Ana")
    person = fresh_presence.member(connection="c-ana")
    await services.room_disconnect(connection="c-ana")
    await person.departure
    assert texts(published, "c-bob")[-1] == events.disconnected_text("Ana")
    assert [p["username"] for p in await roster_list(room="React")] == ["Bob"]


async def test_a_person_back_within_the_grace_period_is_not_announced_at_all(
    published, memory_store, fresh_presence, settings
):
    settings.CHAT_PRESENCE_GRACE_SECONDS = 60
    await join("c-bob", "Bob")
    await join("c-ana", "Ana")
    person = fresh_presence.member(connection="c-ana")
    await services.room_disconnect(connection="c-ana")
    published.sent.clear()
    await join("c-ana-again", "Ana")
    assert person.departure is None
    assert texts(published, "c-bob") == []


async def test_typing_reaches_everyone_else_in_the_room(published, memory_store):
    await join("c-bob", "Bob")
    await join("c-ana", "Ana")
    await join("c-zoe", "Zoe", "Node")
    published.sent.clear()
    await services.room_typing(connection="c-ana", typing=True)
    assert published.received("c-bob", events.USER_TYPING) == [
        {"username": "Ana", "room": "React", "typing": True}
    ]
    assert published.received("c-ana") == published.received("c-zoe") == []


@pytest.mark.parametrize(
    "act",
    [
        lambda: services.room_typing(connection="c-lost", typing=True),
        lambda: room_history_before(connection="c-lost", before_id="x", limit=5),
        lambda: services.room_message_edit(connection="c-lost", message_id="x", text="hi"),
        lambda: services.room_message_delete(connection="c-lost", message_id="x"),
    ],
    ids=["typing", "load_history", "edit_message", "delete_message"],
)
async def test_typing_reading_history_or_changing_a_message_outside_a_room_is_refused(
    published, act
):
    with pytest.raises(ChatError) as raised:
        await act()
    assert raised.value.code == ErrorCode.NOT_IN_ROOM


async def test_a_message_is_posted_as_the_connections_person_to_their_room(published, memory_store):
    await join("c-bob", "Bob")
    await join("c-ana", "Ana")
    stored = await services.room_message_post(connection="c-ana", text="hi", client_id="k1")
    assert (stored.room, stored.username, stored.message) == ("React", "Ana", "hi")
    assert memory_store.latest(room="React", limit=5) == [stored]
    for member in ("c-bob", "c-ana"):
        assert published.received(member, events.RECEIVE_MESSAGE)[-1] == stored.to_payload()


async def test_posting_outside_a_room_is_refused(published, memory_store):
    with pytest.raises(ChatError) as raised:
        services.room_message_post(connection="c-lost", text="hi", client_id=None)
    assert raised.value.code == ErrorCode.NOT_IN_ROOM
    assert memory_store.rows == {}


async def test_a_person_edits_and_deletes_their_own_message_and_the_room_sees_it(
    published, memory_store
):
    await join("c-bob", "Bob")
    await join("c-ana", "Ana")
    sent = await services.room_message_post(connection="c-ana", text="helo", client_id=None)
    edited = await services.room_message_edit(connection="c-ana", message_id=sent.id, text="hi")
    assert published.received("c-bob", events.MESSAGE_EDITED) == [
        {"id": sent.id, "room": "React", "message": "hi", "edited_ms": edited.edited_ms}
    ]
    with pytest.raises(ChatError) as raised:
        await services.room_message_delete(connection="c-bob", message_id=sent.id)
    assert raised.value.code == ErrorCode.NOT_YOUR_MESSAGE
    await services.room_message_delete(connection="c-ana", message_id=sent.id)
    assert published.received("c-bob", events.MESSAGE_DELETED) == [{"id": sent.id, "room": "React"}]
    assert memory_store.latest(room="React", limit=5) == []


async def test_a_message_left_behind_in_another_room_cannot_be_changed_from_this_one(
    published, memory_store
):
    await join("c-ana", "Ana")
    sent = await services.room_message_post(connection="c-ana", text="hi", client_id=None)
    await join("c-ana", "Ana", "Node")
    with pytest.raises(ChatError) as raised:
        await services.room_message_edit(connection="c-ana", message_id=sent.id, text="ho")
    assert raised.value.code == ErrorCode.MESSAGE_NOT_FOUND
    assert memory_store.latest(room="React", limit=5) == [sent]


async def test_history_pages_come_from_the_connections_own_room(published, memory_store):
    older = make_messages("React", 5)
    memory_store.insert(older + make_messages("Node", 3))
    await join("c-ana", "Ana")
    page, has_more = await room_history_before(connection="c-ana", before_id=older[-1].id, limit=2)
    assert (page, has_more) == (older[2:4], True)


async def test_a_removed_person_is_told_why_on_every_tab_and_the_others_see_it(
    published, memory_store, fresh_presence
):
    await join("c-bob", "Bob")
    await join("c-ana-1", "Ana")
    await join("c-ana-2", "Ana")
    assert await services.room_remove_person(room="React", username="ana", reason="Spamming")
    for tab in ("c-ana-1", "c-ana-2"):
        assert published.received(tab, events.REMOVED_FROM_ROOM) == [
            {
                "room": "React",
                "reason": "Spamming",
                "kind": "removed",
                "moderator_reason": "Spamming",
            }
        ]
        assert fresh_presence.member(connection=tab) is None
    assert texts(published, "c-bob")[-1] == events.removed_text("Ana")
    assert published.rooms["React"] == ["c-bob"]


@pytest.mark.parametrize(
    ("options", "kind", "reason"),
    [
        ({}, "removed", services.REMOVED_BY_MODERATOR),
        ({"for_good": True}, "banned", services.REMOVED_BY_MODERATOR),
        ({"for_good": True, "reason": "Spam"}, "banned", "Spam"),
    ],
    ids=["removed", "banned", "banned-with-a-reason"],
)
async def test_a_removed_person_is_told_whether_it_was_a_removal_or_a_ban(
    published, memory_store, options, kind, reason
):
    await join("c-ana", "Ana")
    assert await services.room_remove_person(room="React", username="Ana", **options)
    assert published.received("c-ana", events.REMOVED_FROM_ROOM) == [
        {
            "room": "React",
            "reason": reason,
            "kind": kind,
            "moderator_reason": options.get("reason", ""),
        }
    ]


async def test_removing_somebody_who_is_not_there_is_false(published, memory_store):
    assert await services.room_remove_person(room="React", username="Nobody") is False
    assert published.sent == []


async def test_an_announcement_reaches_only_its_room(published, memory_store):
    await join("c-bob", "Bob")
    await join("c-zoe", "Zoe", "Node")
    announcement = await services.room_announce(room="React", text="Maintenance at noon")
    assert published.received("c-bob", events.RECEIVE_MESSAGE)[-1] == announcement.to_payload()
    assert (announcement.username, announcement.message) == (events.CHATBOT, "Maintenance at noon")
    assert texts(published, "c-zoe") == [events.welcome_text("Zoe")]


async def test_an_announcement_is_in_the_history_a_later_joiner_gets(published, memory_store):
    announcement = await services.room_announce(room="React", text="Maintenance at noon")
    await join("c-ana", "Ana")
    history = json.loads(published.received("c-ana", events.LAST_100_MESSAGES)[0])
    assert history == [announcement.to_payload()]


async def test_an_empty_announcement_is_refused(published):
    with pytest.raises(ChatError) as raised:
        await services.room_announce(room="React", text="  ")
    assert raised.value.code == ErrorCode.MESSAGE_EMPTY


async def test_closing_a_room_removes_everyone_and_refuses_joins(
    published, memory_store, staff_feed, react
):
    await join("c-bob", "Bob")
    await sync_to_async(services.room_close)(room_id=react.pk)
    assert published.received("c-bob", events.REMOVED_FROM_ROOM) == [
        {"room": "React", "reason": services.ROOM_CLOSED, "kind": "closed"}
    ]
    assert await roster_list(room="React") == []
    with pytest.raises(ChatError) as raised:
        await join("c-zoe", "Zoe")
    assert raised.value.code == ErrorCode.ROOM_CLOSED
    assert {"kind": "room", "room": "React", "open": False} in await staff_feed()


async def test_a_reopened_room_can_be_joined_again(published, memory_store, staff_feed, react):
    await sync_to_async(services.room_close)(room_id=react.pk)
    await sync_to_async(services.room_reopen)(room_id=react.pk)
    await join("c-bob", "Bob")
    assert [(event["kind"], event.get("open")) for event in await staff_feed()] == [
        ("room", False),
        ("room", True),
        ("presence", None),
    ]


async def test_a_rename_asks_people_to_rejoin_and_moves_the_history(published, memory_store, react):
    await join("c-bob", "Bob")
    sent = [
        await services.room_message_post(connection="c-bob", text=text, client_id=None)
        for text in ("a", "b")
    ]
    moved = await sync_to_async(services.room_rename)(room_id=react.pk, new_name="ReactJS")
    assert moved == 2
    assert published.received("c-bob", events.REMOVED_FROM_ROOM) == [
        {
            "room": "React",
            "reason": services.ROOM_RENAMED.format(name="ReactJS"),
            "kind": "renamed",
            "new_room": "ReactJS",
        }
    ]
    assert [m.message for m in memory_store.latest(room="ReactJS", limit=5)] == ["a", "b"]
    assert [m.created_ms for m in memory_store.latest(room="ReactJS", limit=5)] == [
        m.created_ms for m in sent
    ]
    assert memory_store.latest(room="React", limit=5) == []
    assert (await join("c-bob", "Bob", "reactjs")).room == "ReactJS"


async def test_a_rename_to_another_rooms_name_in_other_letter_case_is_refused(published, react):
    await sync_to_async(services.room_get_or_create)(name="Node")
    with pytest.raises(ChatError) as raised:
        await sync_to_async(services.room_rename)(room_id=react.pk, new_name="node")
    assert raised.value.code == ErrorCode.INVALID_ROOM
    assert await Room.objects.filter(name="React").aexists()


async def test_a_full_room_refuses_newcomers_but_not_another_tab_of_someone_inside(
    published, memory_store, settings
):
    settings.CHAT_ROOM_MAX_PEOPLE = 2
    await join("c-bob", "Bob")
    await join("c-ana", "Ana")
    with pytest.raises(ChatError) as raised:
        await join("c-zoe", "Zoe")
    assert raised.value.code == ErrorCode.ROOM_FULL
    assert (await join("c-ana-2", "Ana")).room == "React"
    assert [p["username"] for p in await roster_list(room="React")] == ["Bob", "Ana"]


@pytest.mark.parametrize(("lost", "grace"), [(False, 2.0), (True, 10.0)], ids=["goodbye", "lost"])
async def test_a_lost_connection_is_given_longer_to_come_back_than_a_goodbye(
    published, memory_store, fresh_presence, settings, monkeypatch, lost, grace
):
    settings.CHAT_PRESENCE_GRACE_SECONDS, settings.CHAT_RECONNECT_GRACE_SECONDS = 2.0, 10.0
    waited = []

    async def sleep(seconds):
        waited.append(seconds)

    monkeypatch.setattr(services.asyncio, "sleep", sleep)
    await join("c-ana", "Ana")
    person = fresh_presence.member(connection="c-ana")
    await services.room_disconnect(connection="c-ana", lost=lost)
    await person.departure
    assert waited == [grace]
