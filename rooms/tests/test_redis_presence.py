"""What only the shared presence does, on a real Redis: two `RedisPresence`s with clusters of
one prefix stand for two server processes (rooms/tests/test_presence.py has the contract)."""

import asyncio

import pytest

from chatsite.errors import ChatError
from rooms.identity import connection_person_key, session_person_key
from rooms.presence import JoinOutcome, Person
from rooms.redis_presence import RedisPresence

ANA = session_person_key("ana-session")
BOB = session_person_key("bob-session")
ROOM = "React"


@pytest.fixture
def processes(make_cluster) -> tuple[RedisPresence, RedisPresence]:
    return RedisPresence(shared=make_cluster()), RedisPresence(shared=make_cluster())


async def join(process: RedisPresence, username: str, person_key: str, connection: str):
    return await process.join(
        room=ROOM, username=username, person_key=person_key, connection=connection
    )


async def usernames(process: RedisPresence) -> list[str]:
    return [person.username for person in await process.roster(room=ROOM)]


def reaped_by(process: RedisPresence) -> asyncio.Future:
    """Resolves to the people `process` announces as lost with another process."""
    reaped = asyncio.get_running_loop().create_future()

    async def on_reaped(people: list[Person]) -> None:
        reaped.set_result(people)

    process.on_reaped = on_reaped
    return reaped


async def lose(dead: RedisPresence, survivor: RedisPresence) -> None:
    """`dead`'s process stops heartbeating, and `survivor` notices (at once, not at its next
    tick; if its own tick comes first, that is the same notice)."""
    await dead.cluster.stop()
    await survivor.cluster._look_for_lost()


async def test_two_processes_see_one_roster(processes):
    a, b = processes
    ana = await join(a, "ana", ANA, "c-a")
    bob = await join(b, "bob", BOB, "c-b")
    for process in (a, b):
        assert await usernames(process) == ["ana", "bob"]
        assert await process.size(room=ROOM) == 2
        assert await process.room_counts() == {ROOM: 2}
        assert await process.connection_counts(room=ROOM) == {ana.person.id: 1, bob.person.id: 1}
    assert (await b.find(room=ROOM, username="ANA")).id == ana.person.id


async def test_a_name_held_through_one_process_is_taken_through_the_other(processes):
    a, b = processes
    await join(a, "ana", ANA, "c-a")
    with pytest.raises(ChatError) as raised:
        await b.ensure_available(room=ROOM, username="Ana", person_key=BOB)
    assert raised.value.code == "username_taken"
    with pytest.raises(ChatError) as raised:
        await join(b, "Ana", BOB, "c-b")
    assert raised.value.code == "username_taken"
    assert await usernames(b) == ["ana"]


async def test_one_person_with_connections_through_both_processes_is_listed_once(processes):
    a, b = processes
    first = await join(a, "ana", ANA, "c-a")
    await b.ensure_available(room=ROOM, username="ana", person_key=ANA)
    second = await join(b, "ana", ANA, "c-b")
    assert not second.is_new
    assert second.person.id == first.person.id
    assert await usernames(a) == ["ana"]
    assert await a.connection_counts(room=ROOM) == {first.person.id: 2}
    assert a.here(person_id=first.person.id) == ["c-a"]
    assert b.here(person_id=first.person.id) == ["c-b"]
    assert await a.detach(connection="c-a") is None  # still there through b


async def test_of_twenty_simultaneous_joins_for_one_name_exactly_one_wins(processes):
    a, b = processes
    outcomes = await asyncio.gather(
        *(
            join((a, b)[number % 2], "ana", f"session:person-{number}", f"c-{number}")
            for number in range(20)
        ),
        return_exceptions=True,
    )
    won = [outcome for outcome in outcomes if isinstance(outcome, JoinOutcome)]
    refused = [outcome for outcome in outcomes if isinstance(outcome, ChatError)]
    assert len(won) == 1
    assert won[0].is_new
    assert len(refused) == 19
    assert {error.code for error in refused} == {"username_taken"}
    assert await usernames(b) == ["ana"]
    assert await a.room_counts() == {ROOM: 1}


async def test_a_person_back_through_the_other_process_within_the_grace_is_not_removed(
    processes,
):
    a, b = processes
    joined = await join(a, "ana", ANA, "c-a")
    leaving = await a.detach(connection="c-a")
    assert leaving.id == joined.person.id
    back = await join(b, "ana", ANA, "c-b")
    assert not back.is_new
    assert await a.remove(leaving) is False
    assert await usernames(b) == ["ana"]


async def test_a_grace_period_that_ended_with_a_return_does_not_remove_them_later(processes):
    a, b = processes
    await join(a, "ana", ANA, "c-a")
    first_departure = await a.detach(connection="c-a")
    await join(b, "ana", ANA, "c-b")  # back within the grace period
    await b.detach(connection="c-b")  # gone again: a new grace period, run by b
    assert await a.remove(first_departure) is False


async def test_the_people_of_a_process_that_stopped_heartbeating_are_removed_by_a_survivor(
    processes,
):
    dead, survivor = processes
    reaped = reaped_by(survivor)
    await join(dead, "ana", ANA, "c-ana-1")
    await join(dead, "ana", ANA, "c-ana-2")
    await join(dead, "dan", "session:dan", "c-dan")
    await dead.detach(connection="c-dan")  # in his grace period on the dead process
    cem = await join(dead, "cem", "session:cem", "c-cem-dead")
    await join(survivor, "cem", "session:cem", "c-cem-alive")
    await join(survivor, "bob", BOB, "c-bob")
    await lose(dead, survivor)
    people = await asyncio.wait_for(reaped, timeout=5)
    assert sorted(person.username for person in people) == ["ana", "dan"]
    assert {person.room for person in people} == {ROOM}
    assert await usernames(survivor) == ["cem", "bob"]
    assert (await survivor.connection_counts(room=ROOM))[cem.person.id] == 1
    assert await survivor.room_counts() == {ROOM: 2}


async def test_a_sessionless_person_on_a_dead_process_can_be_taken_over_at_once(processes):
    dead, survivor = processes
    old, new = connection_person_key("sid-1"), connection_person_key("sid-2")
    joined = await join(dead, "ana", old, "sid-1")
    with pytest.raises(ChatError):
        await join(survivor, "ana", new, "sid-2")  # while they are still connected
    await dead.cluster.stop()  # not reaped yet: nobody has noticed
    await survivor.ensure_available(room=ROOM, username="ana", person_key=new)
    back = await join(survivor, "ana", new, "sid-2")
    assert not back.is_new
    assert back.person.id == joined.person.id
    assert await survivor.connection_counts(room=ROOM) == {joined.person.id: 1}


async def test_a_person_on_a_dead_process_is_not_taken_over_by_another_session(processes):
    dead, survivor = processes
    await join(dead, "ana", ANA, "c-a")
    await dead.cluster.stop()
    with pytest.raises(ChatError) as raised:
        await join(survivor, "ana", BOB, "c-b")
    assert raised.value.code == "username_taken"


async def test_evict_removes_a_person_whatever_process_holds_their_connections(processes):
    a, b = processes
    ana = await join(a, "ana", ANA, "c-a")
    await join(b, "ana", ANA, "c-b")
    await join(b, "bob", BOB, "c-bob")
    assert await a.evict(await a.find(room=ROOM, username="ana")) is True
    assert await usernames(b) == ["bob"]
    assert await b.room_counts() == {ROOM: 1}
    assert await b.connection_counts(room=ROOM) == {(await b.find(room=ROOM, username="bob")).id: 1}
    assert b.here(person_id=ana.person.id) == ["c-b"]  # until b forgets it (`_evicted_here`)
    taken = await join(b, "ana", "session:someone-else", "c-someone-else")
    assert taken.is_new


async def test_an_evicted_person_leaves_nothing_of_theirs_in_what_a_process_holds(processes):
    a, _ = processes
    ana = await join(a, "ana", ANA, "c-a")
    await a.evict(await a.find(room=ROOM, username="ana"))
    a.forget(connection="c-a")
    held = await a.cluster.redis().smembers(a.cluster.key("held", a.cluster.process_id))
    assert not [entry for entry in held if ana.person.id.encode() in entry]


async def test_hundreds_of_people_leaving_at_once_all_leave(processes):
    """Many changes at once wait for one of the process's few Redis connections; none fails."""
    a, _ = processes
    people = [f"p{number}" for number in range(300)]
    await asyncio.gather(*(join(a, name, session_person_key(name), name) for name in people))
    leaving = await asyncio.gather(*(a.detach(connection=name) for name in people))
    removed = await asyncio.gather(*(a.remove(person) for person in leaving))
    assert all(removed)
    assert await usernames(a) == []


async def test_a_connection_that_went_away_while_redis_was_unreachable_still_leaves(
    processes, monkeypatch
):
    a, _ = processes
    await join(a, "ana", ANA, "c-1")
    run, failures = a._run, []

    async def unreachable_at_first(script, *args):
        if len(failures) < 2:
            failures.append(script)
            raise ChatError("unavailable", "Redis is away")
        return await run(script, *args)

    monkeypatch.setattr(a, "_run", unreachable_at_first)
    leaving = await a.detach(connection="c-1")
    assert len(failures) == 2
    assert await a.remove(leaving)
    assert await usernames(a) == []
