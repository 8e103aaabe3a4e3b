"""Presence is per person: tabs of one person are one roster entry, and names are held.

A contract: every case runs against both implementations, the one-process presence and the
shared one on a real Redis (rooms/tests/test_redis_presence.py has what only it can do)."""

import asyncio

import pytest

from chatsite.errors import ChatError
from rooms.identity import connection_person_key, session_person_key
from rooms.presence import USERNAME_TAKEN, InProcessPresence
from rooms.redis_presence import RedisPresence

ANA = session_person_key("ana-session")
BOB = session_person_key("bob-session")


@pytest.fixture(params=["in_process", "redis"])
def presence(request) -> InProcessPresence | RedisPresence:
    if request.param == "in_process":
        return InProcessPresence()
    return RedisPresence(shared=request.getfixturevalue("make_cluster")())


async def usernames(presence, room: str) -> list[str]:
    return [person.username for person in await presence.roster(room=room)]


async def roster_ids(presence, room: str) -> list[str]:
    return [person.id for person in await presence.roster(room=room)]


async def test_two_connections_of_one_person_are_one_roster_entry(presence):
    first = await presence.join(room="React", username="ana", person_key=ANA, connection="tab-1")
    second = await presence.join(room="React", username="ana", person_key=ANA, connection="tab-2")
    assert first.is_new
    assert not second.is_new
    assert second.person.id == first.person.id
    assert await roster_ids(presence, "React") == [first.person.id]


async def test_the_roster_keeps_join_order(presence):
    for number, name in enumerate(["zoe", "ana", "mia"]):
        await presence.join(
            room="React", username=name, person_key=f"session:{name}", connection=f"c-{number}"
        )
    assert await usernames(presence, "React") == ["zoe", "ana", "mia"]


async def test_roster_entries_carry_a_stable_id_that_is_neither_the_session_nor_the_connection(
    presence,
):
    joined = await presence.join(room="React", username="ana", person_key=ANA, connection="sid-1")
    entry = joined.person.as_roster_entry()
    assert entry == {"id": joined.person.id, "username": "ana", "room": "React"}
    assert entry["id"] not in (ANA, "sid-1", "ana-session")
    again = await presence.join(room="React", username="ana", person_key=ANA, connection="sid-2")
    assert again.person.as_roster_entry() == entry


@pytest.mark.parametrize("taken_as", ["ana", "ANA", "Ana"])
async def test_a_username_held_by_another_person_is_taken_in_any_letter_case(presence, taken_as):
    await presence.join(room="React", username="ana", person_key=ANA, connection="c-1")
    with pytest.raises(ChatError) as raised:
        await presence.join(room="React", username=taken_as, person_key=BOB, connection="c-2")
    assert raised.value.code == "username_taken"
    assert raised.value.message == USERNAME_TAKEN
    assert await usernames(presence, "React") == ["ana"]


async def test_the_same_username_in_another_room_is_fine(presence):
    await presence.join(room="React", username="ana", person_key=ANA, connection="c-1")
    elsewhere = await presence.join(room="Node", username="ana", person_key=BOB, connection="c-2")
    assert elsewhere.is_new
    assert await usernames(presence, "Node") == ["ana"]


async def test_detach_gives_the_person_back_only_when_their_last_connection_goes(presence):
    joined = await presence.join(room="React", username="ana", person_key=ANA, connection="tab-1")
    await presence.join(room="React", username="ana", person_key=ANA, connection="tab-2")
    assert await presence.detach(connection="tab-1") is None
    assert (await presence.detach(connection="tab-2")).id == joined.person.id


async def test_detaching_a_connection_that_is_in_no_room_changes_nothing(presence):
    await presence.join(room="React", username="ana", person_key=ANA, connection="c-1")
    assert await presence.detach(connection="someone-else") is None
    assert await usernames(presence, "React") == ["ana"]


async def test_a_person_whose_last_connection_went_is_removed_from_the_roster(presence):
    await presence.join(room="React", username="ana", person_key=ANA, connection="c-1")
    person = await presence.detach(connection="c-1")
    assert await presence.remove(person) is True
    assert await presence.roster(room="React") == []
    assert await presence.room_counts() == {}


async def test_a_person_who_came_back_before_removal_stays(presence):
    await presence.join(room="React", username="ana", person_key=ANA, connection="c-1")
    person = await presence.detach(connection="c-1")
    await presence.join(room="React", username="ana", person_key=ANA, connection="c-2")
    assert await presence.remove(person) is False
    assert await usernames(presence, "React") == ["ana"]


async def test_a_person_back_within_the_grace_period_is_not_new_and_keeps_their_id(presence):
    joined = await presence.join(room="React", username="ana", person_key=ANA, connection="c-1")
    await presence.detach(connection="c-1")
    back = await presence.join(room="React", username="ana", person_key=ANA, connection="c-2")
    assert not back.is_new
    assert back.person.id == joined.person.id


async def test_a_person_back_within_the_grace_period_has_their_pending_departure_called_off(
    presence,
):
    await presence.join(room="React", username="ana", person_key=ANA, connection="c-1")
    person = await presence.detach(connection="c-1")
    person.departure = departure = asyncio.create_task(asyncio.sleep(60))
    back = await presence.join(room="React", username="ana", person_key=ANA, connection="c-2")
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(departure, timeout=1)
    assert back.person.departure is None


async def test_a_sessionless_person_can_be_reclaimed_by_a_new_connection_within_the_grace_period(
    presence,
):
    old, new = connection_person_key("sid-1"), connection_person_key("sid-2")
    joined = await presence.join(room="React", username="ana", person_key=old, connection="sid-1")
    await presence.detach(connection="sid-1")
    back = await presence.join(room="React", username="ana", person_key=new, connection="sid-2")
    assert not back.is_new
    assert back.person.id == joined.person.id
    assert await usernames(presence, "React") == ["ana"]


async def test_a_connected_sessionless_person_cannot_be_taken_over(presence):
    await presence.join(
        room="React", username="ana", person_key=connection_person_key("sid-1"), connection="sid-1"
    )
    with pytest.raises(ChatError) as raised:
        await presence.join(
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
async def test_a_person_in_the_grace_period_cannot_be_taken_over_unless_both_are_sessionless(
    presence, holder, newcomer
):
    await presence.join(room="React", username="ana", person_key=holder, connection="sid-1")
    await presence.detach(connection="sid-1")
    with pytest.raises(ChatError) as raised:
        await presence.join(room="React", username="ana", person_key=newcomer, connection="sid-2")
    assert raised.value.code == "username_taken"


async def test_room_counts_count_people_not_connections(presence):
    await presence.join(room="React", username="ana", person_key=ANA, connection="c-1")
    await presence.join(room="React", username="ana", person_key=ANA, connection="c-2")
    await presence.join(room="React", username="bob", person_key=BOB, connection="c-3")
    await presence.join(room="Node", username="bob", person_key=BOB, connection="c-4")
    assert await presence.room_counts() == {"React": 2, "Node": 1}


async def test_a_connection_is_a_member_of_its_room_until_it_is_detached(presence):
    joined = await presence.join(room="React", username="ana", person_key=ANA, connection="c-1")
    await presence.join(room="React", username="ana", person_key=ANA, connection="c-2")
    assert presence.member(connection="c-1").id == joined.person.id
    await presence.detach(connection="c-1")
    assert presence.member(connection="c-1") is None
    assert presence.member(connection="c-2").id == joined.person.id


async def test_a_moderator_removes_a_person_whatever_connections_they_have(presence):
    await presence.join(room="React", username="ana", person_key=ANA, connection="c-1")
    await presence.join(room="React", username="ana", person_key=ANA, connection="c-2")
    await presence.join(room="React", username="bob", person_key=BOB, connection="c-3")
    ana = await presence.find(room="React", username="Ana")
    assert await presence.evict(ana) is True
    assert await usernames(presence, "React") == ["bob"]
    assert await presence.find(room="React", username="ana") is None
    assert await presence.room_counts() == {"React": 1}
    assert await presence.evict(ana) is False


async def test_an_evicted_name_is_free_for_anyone(presence):
    await presence.join(room="React", username="ana", person_key=ANA, connection="c-1")
    await presence.evict(await presence.find(room="React", username="ana"))
    for connection in presence.here(person_id=presence.member(connection="c-1").id):
        presence.forget(connection=connection)
    assert presence.member(connection="c-1") is None
    taken = await presence.join(room="React", username="ana", person_key=BOB, connection="c-2")
    assert taken.is_new


async def test_find_and_size_see_people_by_any_spelling_of_their_name(presence):
    joined = await presence.join(room="React", username="Ana", person_key=ANA, connection="c-1")
    await presence.join(room="React", username="Ana", person_key=ANA, connection="c-2")
    assert (await presence.find(room="React", username="ANA")).id == joined.person.id
    assert await presence.find(room="React", username="bob") is None
    assert await presence.find(room="Node", username="Ana") is None
    assert await presence.size(room="React") == 1
    assert await presence.size(room="Node") == 0


async def test_connection_counts_count_each_persons_connections(presence):
    ana = await presence.join(room="React", username="ana", person_key=ANA, connection="c-1")
    await presence.join(room="React", username="ana", person_key=ANA, connection="c-2")
    bob = await presence.join(room="React", username="bob", person_key=BOB, connection="c-3")
    await presence.detach(connection="c-3")
    counts = await presence.connection_counts(room="React")
    assert counts == {ana.person.id: 2, bob.person.id: 0}
