"""Roster updates and arrival/departure notices are coalesced per room: a quiet room hears
of each change at once, a join storm costs each member a few updates."""

import pytest

from chatsite import events
from chatsite.events import PeopleChange
from rooms.presence import presence
from rooms.roster_feed import RosterFeed, roster_topic

pytestmark = pytest.mark.usefixtures("fresh_presence")
ROOM = "React"


@pytest.fixture
async def feed(settings):
    settings.CHAT_ROSTER_WINDOW_SECONDS = 0.05
    settings.CHAT_ROSTER_BURST = 1
    feed = RosterFeed()
    yield feed
    for state in feed._rooms.values():
        if state.scheduled is not None:
            state.scheduled.cancel()


async def member(published, name: str, *, changes: bool = False) -> str:
    """`name` is in the room, subscribed like a joiner (no update sent for them yet)."""
    connection = f"c-{name}"
    await presence.join(
        room=ROOM, username=name, person_key=f"session:{name}", connection=connection
    )
    await published.subscribe(connection, ROOM)
    await published.subscribe(connection, roster_topic(ROOM, changes=changes))
    return connection


async def arrive(feed, published, name: str, **options) -> str:
    connection = await member(published, name, **options)
    await feed.changed(ROOM, PeopleChange.JOINED, username=name, connection=connection)
    return connection


def told(published, connection: str) -> list[tuple[str, object]]:
    """(event, text or usernames) of what `connection` was sent, in order."""
    out = []
    for data in published.received(connection):
        if isinstance(data, list):
            out.append(("roster", [entry["username"] for entry in data]))
        elif "joined" in data:
            out.append(("changes", [e["username"] for e in data["joined"]], len(data["left"])))
        else:
            out.append(("notice", data["message"]))
    return out


async def settled(feed) -> None:
    """Wait for the update the feed has scheduled, if any (no fixed sleep)."""
    for state in list(feed._rooms.values()):
        if state.scheduled is not None:
            await state.scheduled


async def test_in_a_quiet_room_an_arrival_is_told_at_once_but_not_to_the_one_arriving(
    feed, published
):
    bob = await member(published, "Bob")
    ana = await arrive(feed, published, "Ana")
    assert told(published, bob) == [
        ("notice", events.joined_text("Ana")),
        ("roster", ["Bob", "Ana"]),
    ]
    assert told(published, ana) == []  # its welcome and roster come from room_join itself


async def test_a_join_storm_is_told_in_one_notice_and_one_roster_after_the_window(feed, published):
    bob = await member(published, "Bob")
    names = [f"p{n:02d}" for n in range(50)]
    for name in names:
        await arrive(feed, published, name)
    assert told(published, bob) == [
        ("notice", events.joined_text("p00")),
        ("roster", ["Bob", "p00"]),
    ]
    published.sent.clear()
    await settled(feed)
    assert told(published, bob) == [
        ("notice", "p01, p02, p03 and 46 others have joined the chat room"),
        ("roster", ["Bob", *names]),
    ]


async def test_the_first_changes_of_a_burst_are_each_told_at_once(feed, published, settings):
    settings.CHAT_ROSTER_BURST = 3
    feed = RosterFeed()
    bob = await member(published, "Bob")
    for name in ("Ana", "Cem", "Dan", "Eve"):
        await arrive(feed, published, name)
    notices = [text for kind, text in told(published, bob) if kind == "notice"]
    assert notices == [events.joined_text(name) for name in ("Ana", "Cem", "Dan")]
    await settled(feed)
    assert told(published, bob)[-2:] == [
        ("notice", events.joined_text("Eve")),
        ("roster", ["Bob", "Ana", "Cem", "Dan", "Eve"]),
    ]


async def test_departures_come_after_the_roster_and_arrivals_before_it(feed, published):
    bob = await member(published, "Bob")
    await member(published, "Ana")
    await arrive(feed, published, "Cem")  # told at once
    await arrive(feed, published, "Dan")  # within the window: with the next update
    await presence.remove(await presence.detach(connection="c-Ana"))
    await feed.changed(ROOM, PeopleChange.LEFT, username="Ana")
    published.sent.clear()
    await settled(feed)
    assert told(published, bob) == [
        ("notice", events.joined_text("Dan")),
        ("roster", ["Bob", "Cem", "Dan"]),
        ("notice", events.left_text("Ana")),
    ]


async def test_clients_that_asked_for_changes_get_who_came_and_went(feed, published):
    zoe = await member(published, "Zoe", changes=True)
    await arrive(feed, published, "Ana")
    await arrive(feed, published, "Cem")
    await presence.remove(await presence.detach(connection="c-Ana"))
    await feed.changed(ROOM, PeopleChange.LEFT, username="Ana")
    await settled(feed)
    updates = [entry for entry in told(published, zoe) if entry[0] != "notice"]
    assert updates == [("changes", ["Zoe", "Ana"], 0), ("changes", ["Cem"], 1)]


async def test_a_change_that_leaves_the_roster_as_it_was_sends_no_roster(feed, published):
    bob = await member(published, "Bob")
    await feed.changed(ROOM)
    published.sent.clear()
    await feed.changed(ROOM)  # e.g. a second tab of Bob's
    await settled(feed)
    assert told(published, bob) == []


def test_the_window_grows_with_the_room(feed, settings):
    assert feed.window(10) == settings.CHAT_ROSTER_WINDOW_SECONDS
    assert feed.window(1_000) == 10 * settings.CHAT_ROSTER_WINDOW_SECONDS


async def test_someone_who_comes_and_goes_between_updates_is_named_as_gone(feed, published):
    zoe = await member(published, "Zoe", changes=True)
    await feed.changed(ROOM)  # the feed has sent Zoe's room once
    await member(published, "Yan")  # Yan's own join list already named Yan to later joiners
    yan = await presence.find(room=ROOM, username="Yan")
    await feed.changed(ROOM, PeopleChange.JOINED, username="Yan", person_id=yan.id)
    await presence.remove(await presence.detach(connection="c-Yan"))
    await feed.changed(ROOM, PeopleChange.LEFT, username="Yan")
    await settled(feed)
    changes = [
        data for data in published.received(zoe) if isinstance(data, dict) and "left" in data
    ]
    assert yan.id in changes[-1]["left"]
