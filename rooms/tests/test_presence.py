"""Presence is per person: tabs of one person are one roster entry, and names are held."""

import asyncio

import pytest

from chatsite.errors import ChatError
from rooms.identity import connection_person_key, session_person_key
from rooms.presence import USERNAME_TAKEN, InProcessPresence

ANA = session_person_key("ana-session")
BOB = session_person_key("bob-session")


@pytest.fixture
def presence() -> InProcessPresence:
    return InProcessPresence()


def usernames(presence: InProcessPresence, room: str) -> list[str]:
    return [person.username for person in presence.roster(room=room)]


def test_two_connections_of_one_person_are_one_roster_entry(presence):
    first = presence.join(room="React", username="ana", person_key=ANA, connection="tab-1")
    second = presence.join(room="React", username="ana", person_key=ANA, connection="tab-2")
    assert first.is_new
    assert not second.is_new
    assert second.person is first.person
    assert presence.roster(room="React") == [first.person]


def test_the_roster_keeps_join_order(presence):
    for number, name in enumerate(["zoe", "ana", "mia"]):
        presence.join(
            room="React", username=name, person_key=f"session:{name}", connection=f"c-{number}"
        )
    assert usernames(presence, "React") == ["zoe", "ana", "mia"]


def test_roster_entries_carry_a_stable_id_that_is_neither_the_session_nor_the_connection(
    presence,
):
    joined = presence.join(room="React", username="ana", person_key=ANA, connection="sid-1")
    entry = joined.person.as_roster_entry()
    assert entry == {"id": joined.person.id, "username": "ana", "room": "React"}
    assert entry["id"] not in (ANA, "sid-1", "ana-session")
    again = presence.join(room="React", username="ana", person_key=ANA, connection="sid-2")
    assert again.person.as_roster_entry() == entry


@pytest.mark.parametrize("taken_as", ["ana", "ANA", "Ana"])
def test_a_username_held_by_another_person_is_taken_in_any_letter_case(presence, taken_as):
    presence.join(room="React", username="ana", person_key=ANA, connection="c-1")
    with pytest.raises(ChatError) as raised:
        presence.join(room="React", username=taken_as, person_key=BOB, connection="c-2")
    assert raised.value.code == "username_taken"
    assert raised.value.message == USERNAME_TAKEN
    assert usernames(presence, "React") == ["ana"]


def test_the_same_username_in_another_room_is_fine(presence):
    presence.join(room="React", username="ana", person_key=ANA, connection="c-1")
    elsewhere = presence.join(room="Node", username="ana", person_key=BOB, connection="c-2")
    assert elsewhere.is_new
    assert usernames(presence, "Node") == ["ana"]


def test_detach_gives_the_person_back_only_when_their_last_connection_goes(presence):
    joined = presence.join(room="React", username="ana", person_key=ANA, connection="tab-1")
    presence.join(room="React", username="ana", person_key=ANA, connection="tab-2")
    assert presence.detach(connection="tab-1") is None
    assert presence.detach(connection="tab-2") is joined.person


def test_detaching_a_connection_that_is_in_no_room_changes_nothing(presence):
    presence.join(room="React", username="ana", person_key=ANA, connection="c-1")
    assert presence.detach(connection="someone-else") is None
    assert usernames(presence, "React") == ["ana"]


def test_a_person_whose_last_connection_went_is_removed_from_the_roster(presence):
    presence.join(room="React", username="ana", person_key=ANA, connection="c-1")
    person = presence.detach(connection="c-1")
    assert presence.remove(person) is True
    assert presence.roster(room="React") == []
    assert presence.room_counts() == {}


def test_a_person_who_came_back_before_removal_stays(presence):
    presence.join(room="React", username="ana", person_key=ANA, connection="c-1")
    person = presence.detach(connection="c-1")
    presence.join(room="React", username="ana", person_key=ANA, connection="c-2")
    assert presence.remove(person) is False
    assert usernames(presence, "React") == ["ana"]


async def test_a_person_back_within_the_grace_period_is_not_new_and_keeps_their_id(presence):
    joined = presence.join(room="React", username="ana", person_key=ANA, connection="c-1")
    person = presence.detach(connection="c-1")
    person.departure = departure = asyncio.create_task(asyncio.sleep(60))
    back = presence.join(room="React", username="ana", person_key=ANA, connection="c-2")
    assert not back.is_new
    assert back.person.id == joined.person.id
    with pytest.raises(asyncio.CancelledError):
        await departure
    assert back.person.departure is None


def test_a_sessionless_person_can_be_reclaimed_by_a_new_connection_within_the_grace_period(
    presence,
):
    old, new = connection_person_key("sid-1"), connection_person_key("sid-2")
    joined = presence.join(room="React", username="ana", person_key=old, connection="sid-1")
    presence.detach(connection="sid-1")
    back = presence.join(room="React", username="ana", person_key=new, connection="sid-2")
    assert not back.is_new
    assert back.person.id == joined.person.id
    assert usernames(presence, "React") == ["ana"]


def test_a_connected_sessionless_person_cannot_be_taken_over(presence):
    presence.join(
        room="React", username="ana", person_key=connection_person_key("sid-1"), connection="sid-1"
    )
    with pytest.raises(ChatError) as raised:
        presence.join(
            room="React",
            username="ana",
            person_key=connection_person_key("sid-2"),
            connection="sid-2",
        )
    assert raised.value.code == "username_taken"


@pytest.mark.parametrize(
    ("holder", "newcomer"),
    [
        (ANA, BOB),
        (ANA, connection_person_key("sid-2")),
        (connection_person_key("sid-1"), BOB),
    ],
    ids=["session-by-session", "session-by-sessionless", "sessionless-by-session"],
)
def test_a_person_in_the_grace_period_cannot_be_taken_over_unless_both_are_sessionless(
    presence, holder, newcomer
):
    presence.join(room="React", username="ana", person_key=holder, connection="sid-1")
    presence.detach(connection="sid-1")
    with pytest.raises(ChatError) as raised:
        presence.join(room="React", username="ana", person_key=newcomer, connection="sid-2")
    assert raised.value.code == "username_taken"


def test_room_counts_count_people_not_connections(presence):
    presence.join(room="React", username="ana", person_key=ANA, connection="c-1")
    presence.join(room="React", username="ana", person_key=ANA, connection="c-2")
    presence.join(room="React", username="bob", person_key=BOB, connection="c-3")
    presence.join(room="Node", username="bob", person_key=BOB, connection="c-4")
    assert presence.room_counts() == {"React": 2, "Node": 1}


def test_a_connection_is_a_member_of_its_room_until_it_is_detached(presence):
    joined = presence.join(room="React", username="ana", person_key=ANA, connection="c-1")
    presence.join(room="React", username="ana", person_key=ANA, connection="c-2")
    assert presence.member(connection="c-1") is joined.person
    presence.detach(connection="c-1")
    assert presence.member(connection="c-1") is None
    assert presence.member(connection="c-2") is joined.person
