"""What a process knows of rooms and their bans (rooms/admission.py): joins to a known room
read nothing, and every saved change is known at the next join. Two processes: the live
cluster tests (a removal or a closing on one process refuses the join on the other)."""

import asyncio
import time
from datetime import datetime, timedelta

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from chatsite.errors import ChatError, ErrorCode
from rooms import admission, services
from rooms.admission import admissions, ban_holding
from rooms.models import Room, RoomBan

pytestmark = pytest.mark.django_db(transaction=True)  # saves commit: their news is sent


class CountingLoad:
    """The database read behind `admit`, counted."""

    def __init__(self) -> None:
        self.reads = 0

    def __call__(self, name: str, joined_at: datetime) -> Room:
        self.reads += 1
        return services.room_get_or_create(name=name, joined_at=joined_at)


async def admit(load, username: str = "Ana", *, person_key: str = "session:ana", name="React"):
    return await admissions.admit(name=name, username=username, person_key=person_key, load=load)


async def refusal(load, username: str = "Bob", *, person_key: str = "session:bob") -> str:
    with pytest.raises(ChatError) as raised:
        await admit(load, username, person_key=person_key)
    return raised.value.code


async def test_a_known_room_is_admitted_to_without_reading_it_again():
    load = CountingLoad()
    first = await admit(load)
    again = await admit(load, "Bob", person_key="session:bob", name="REACT")  # same room
    assert (first.pk, again.pk, load.reads) == (first.pk, first.pk, 1)


async def test_joins_arriving_together_read_the_room_once():
    load = CountingLoad()
    rooms = await asyncio.gather(*(admit(load, f"U{n}", person_key=f"s:{n}") for n in range(5)))
    assert {room.pk for room in rooms} == {rooms[0].pk}
    assert load.reads == 1


async def test_a_read_that_failed_for_another_person_is_tried_again_for_this_one():
    started = asyncio.Event()

    def past_their_limit(name: str, joined_at: datetime) -> Room:
        asyncio.run_coroutine_threadsafe(set_event(started), loop)
        time.sleep(0.2)
        raise ChatError(ErrorCode.RATE_LIMITED, "too many new rooms")

    async def set_event(event: asyncio.Event) -> None:
        event.set()

    loop = asyncio.get_running_loop()
    load = CountingLoad()
    first = asyncio.create_task(admit(past_their_limit))
    await started.wait()
    second = await admit(load, "Bob", person_key="session:bob")
    with pytest.raises(ChatError) as refused:
        await first
    assert refused.value.code == ErrorCode.RATE_LIMITED
    assert (second.name, load.reads) == ("React", 1)


async def test_a_ban_saved_after_the_room_was_known_refuses_the_next_join():
    load = CountingLoad()
    room = await admit(load)
    await sync_to_async(RoomBan.objects.create)(room=room, username="Bob", person_key="session:bob")
    assert await refusal(load) == ErrorCode.BANNED
    assert await refusal(load, "B\u043eb", person_key="session:other") == ErrorCode.BANNED
    assert (await admit(load, "Cem", person_key="session:cem")).pk == room.pk


async def test_a_lifted_ban_admits_again():
    load = CountingLoad()
    room = await admit(load)
    ban = await sync_to_async(RoomBan.objects.create)(room=room, username="Bob")
    assert await refusal(load) == ErrorCode.BANNED
    await sync_to_async(ban.delete)()
    assert (await admit(load, "Bob", person_key="session:bob")).pk == room.pk


async def test_a_ban_that_ran_out_admits_without_news_of_it():
    load = CountingLoad()
    room = await admit(load)
    soon = timezone.now() + timedelta(milliseconds=300)
    await sync_to_async(RoomBan.objects.create)(room=room, username="Bob", until=soon)
    assert await refusal(load) == ErrorCode.BANNED
    reads = load.reads
    await asyncio.sleep(0.35)
    assert (await admit(load, "Bob", person_key="session:bob")).pk == room.pk
    assert load.reads == reads


async def test_a_room_closed_after_it_was_known_refuses_the_next_join(published, fresh_presence):
    load = CountingLoad()
    room = await admit(load)
    await sync_to_async(services.room_close)(room_id=room.pk)
    assert await refusal(load) == ErrorCode.ROOM_CLOSED


async def test_a_renamed_room_is_known_by_its_new_name_only(
    published, fresh_presence, memory_store, settings
):
    load = CountingLoad()
    room = await admit(load)
    settings.CHAT_ALLOW_ROOM_CREATION = False
    await sync_to_async(services.room_rename)(room_id=room.pk, new_name="Vue")
    assert await refusal(load) == ErrorCode.ROOM_NOT_FOUND  # "React" is gone
    assert (await admit(load, name="Vue")).pk == room.pk


async def test_a_room_a_join_creates_keeps_that_join_in_the_same_write(monkeypatch):
    notes = []
    monkeypatch.setattr(admission, "_note_joined", lambda *arguments: notes.append(arguments))
    room = await admit(CountingLoad(), name="Brand new")
    stored = await Room.objects.aget(pk=room.pk)
    assert stored.last_joined_at is not None
    assert notes == []


async def test_a_read_overtaken_by_a_change_is_not_kept():
    load = CountingLoad()
    room = await admit(load)
    admissions.forget(room.pk)

    def read_during_a_change(name: str, joined_at: datetime) -> Room:
        admissions.forget(room.pk)  # a ban saved while this read was under way
        return load(name, joined_at)

    await admit(read_during_a_change)
    await admit(load)
    assert load.reads == 3


async def test_what_is_known_expires(settings):
    settings.CHAT_ADMISSION_CACHE_SECONDS = 0
    load = CountingLoad()
    await admit(load)
    await admit(load)
    assert load.reads == 2


async def test_a_room_with_more_bans_than_are_kept_is_asked_about_each_join(monkeypatch):
    monkeypatch.setattr(admission, "BANS_KEPT_MAX", 2)
    load = CountingLoad()
    room = await admit(load)
    for name in ("Bob", "Xia", "Yan", "Zoe"):  # Bob's the oldest, past what is kept
        await sync_to_async(RoomBan.objects.create)(room=room, username=name)
    assert await refusal(load) == ErrorCode.BANNED
    assert (await admit(load, "Cem", person_key="session:cem")).pk == room.pk
    assert admissions._rooms["react"].bans is None


async def test_what_is_kept_has_a_limit(monkeypatch):
    monkeypatch.setattr(admission, "ROOMS_KEPT_MAX", 3)
    load = CountingLoad()
    for name in ("One", "Two", "Three", "Four", "Five"):
        await admit(load, name=name)
    assert list(admissions._rooms) == ["three", "four", "five"]  # the longest kept went
    admissions._rooms["five"].expires = 0  # an expired entry goes before older live ones
    await admit(load, name="Six")
    assert list(admissions._rooms) == ["three", "four", "six"]


def ban(*, username="Bob", person_key="", until=None) -> RoomBan:
    made = RoomBan(username=username, person_key=person_key, until=until)
    made.username_key, made.username_look_key = made_keys(username)
    return made


def made_keys(username: str) -> tuple[str, str]:
    from rooms.names import look_key, name_key

    return name_key(username), look_key(username)


def test_the_ban_that_lasts_longest_is_the_one_that_holds():
    now = timezone.now()
    short = ban(until=now + timedelta(minutes=5))
    long = ban(until=now + timedelta(hours=5))
    ended = ban(until=now - timedelta(minutes=1))
    assert ban_holding([short, long, ended], username="Bob", person_key="", now=now) is long
    for_good = ban()
    assert ban_holding([short, for_good, long], username="bob", person_key="", now=now) is for_good
    assert ban_holding([ended], username="Bob", person_key="", now=now) is None


def test_a_ban_holds_the_person_under_any_name_and_the_name_in_any_spelling():
    now = timezone.now()
    of_person = ban(username="Someone", person_key="session:bob")
    assert ban_holding([of_person], username="Robert", person_key="session:bob", now=now)
    assert ban_holding([of_person], username="Robert", person_key="", now=now) is None
    assert ban_holding([ban()], username="BOB", person_key="session:x", now=now)
    assert ban_holding([ban()], username="B\u043eb", person_key="session:x", now=now)
    assert ban_holding([ban()], username="Bobby", person_key="session:x", now=now) is None
