"""What a process knows of rooms and their bans (rooms/admission.py): joins to a known room
read nothing, and every saved change is known at the next join. Two processes: the live
cluster tests (a removal or a closing on one process refuses the join on the other)."""

import asyncio
import time
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from chatsite.errors import ChatError, ErrorCode
from rooms import admission, services
from rooms.admission import admissions, ban_holding
from rooms.models import Room, RoomBan

pytestmark = pytest.mark.django_db(transaction=True)  # saves commit: their news is sent


def load(name: str, joined_at: datetime) -> Room:
    return services.room_get_or_create(name=name, joined_at=joined_at)


class Trips:
    """The trips to the database behind `admit`, counted; `during` runs in each."""

    def __init__(self, monkeypatch) -> None:
        self.count = 0
        self.during: Callable[[], None] | None = None
        read = admission._rooms_and_bans

        def counted(reads):
            self.count += 1
            if self.during is not None:
                self.during()
            return read(reads)

        monkeypatch.setattr(admission, "_rooms_and_bans", counted)


@pytest.fixture
def trips(monkeypatch) -> Trips:
    return Trips(monkeypatch)


async def admit(load=load, username="Ana", *, person_key="session:ana", name="React") -> Room:
    return await admissions.admit(name=name, username=username, person_key=person_key, load=load)


async def refusal(load=load, username: str = "Bob", *, person_key: str = "session:bob") -> str:
    with pytest.raises(ChatError) as raised:
        await admit(load, username, person_key=person_key)
    return raised.value.code


async def test_a_known_room_is_admitted_to_without_reading_it_again(trips):
    first = await admit()
    again = await admit(username="Bob", person_key="session:bob", name="REACT")  # same room
    assert (first.pk, again.pk, trips.count) == (first.pk, first.pk, 1)


async def test_joins_arriving_together_read_the_room_once(trips):
    rooms = await asyncio.gather(*(admit(username=f"U{n}", person_key=f"s:{n}") for n in range(5)))
    assert {room.pk for room in rooms} == {rooms[0].pk}
    assert trips.count == 1


async def test_joins_to_many_rooms_not_known_are_read_in_one_trip(trips):
    names = [f"Room {n}" for n in range(30)]
    await sync_to_async(lambda: [load(name, timezone.now()) for name in names[:20]])()
    rooms = await asyncio.gather(*(admit(name=name) for name in names))
    assert [room.name for room in rooms] == names  # 20 found, 10 made
    assert trips.count == 1


async def test_a_refusal_in_a_trip_is_that_join_alone(trips):
    def past_their_limit(name: str, joined_at: datetime) -> Room:
        raise ChatError(ErrorCode.RATE_LIMITED, "too many new rooms")

    refused, admitted = await asyncio.gather(
        admit(past_their_limit, name="Brand new"), admit(name="React"), return_exceptions=True
    )
    assert (refused.code, admitted.name, trips.count) == (ErrorCode.RATE_LIMITED, "React", 1)


async def test_a_read_that_failed_for_another_person_is_tried_again_for_this_one(trips):
    started = asyncio.Event()

    def past_their_limit(name: str, joined_at: datetime) -> Room:
        asyncio.run_coroutine_threadsafe(set_event(started), loop)
        time.sleep(0.2)
        raise ChatError(ErrorCode.RATE_LIMITED, "too many new rooms")

    async def set_event(event: asyncio.Event) -> None:
        event.set()

    loop = asyncio.get_running_loop()
    first = asyncio.create_task(admit(past_their_limit, name="Brand new"))
    await started.wait()
    second = await admit(username="Bob", person_key="session:bob", name="Brand new")
    with pytest.raises(ChatError) as refused:
        await first
    assert refused.value.code == ErrorCode.RATE_LIMITED
    assert (second.name, trips.count) == ("Brand new", 2)


async def test_a_ban_saved_after_the_room_was_known_refuses_the_next_join():
    room = await admit()
    await sync_to_async(RoomBan.objects.create)(room=room, username="Bob", person_key="session:bob")
    assert await refusal() == ErrorCode.BANNED
    assert await refusal(load, "B\u043eb", person_key="session:other") == ErrorCode.BANNED
    assert (await admit(username="Cem", person_key="session:cem")).pk == room.pk


async def test_a_ban_in_force_refuses_the_first_join_since_the_room_was_read():
    room = await sync_to_async(load)("React", timezone.now())
    await sync_to_async(RoomBan.objects.create)(room=room, username="Bob")
    assert await refusal() == ErrorCode.BANNED
    assert admissions._rooms["react"].bans[0].username == "Bob"


async def test_a_lifted_ban_admits_again():
    room = await admit()
    ban = await sync_to_async(RoomBan.objects.create)(room=room, username="Bob")
    assert await refusal() == ErrorCode.BANNED
    await sync_to_async(ban.delete)()
    assert (await admit(username="Bob", person_key="session:bob")).pk == room.pk


async def test_a_ban_that_ran_out_admits_without_news_of_it(trips):
    room = await admit()
    soon = timezone.now() + timedelta(milliseconds=300)
    await sync_to_async(RoomBan.objects.create)(room=room, username="Bob", until=soon)
    assert await refusal() == ErrorCode.BANNED
    count = trips.count
    await asyncio.sleep(0.35)
    assert (await admit(username="Bob", person_key="session:bob")).pk == room.pk
    assert trips.count == count


async def test_a_room_closed_after_it_was_known_refuses_the_next_join(published, fresh_presence):
    room = await admit()
    await sync_to_async(services.room_close)(room_id=room.pk)
    assert await refusal() == ErrorCode.ROOM_CLOSED


async def test_a_renamed_room_is_known_by_its_new_name_only(
    published, fresh_presence, memory_store, settings
):
    room = await admit()
    settings.CHAT_ALLOW_ROOM_CREATION = False
    await sync_to_async(services.room_rename)(room_id=room.pk, new_name="Vue")
    assert await refusal() == ErrorCode.ROOM_NOT_FOUND  # "React" is gone
    assert (await admit(name="Vue")).pk == room.pk


async def test_a_room_a_join_creates_keeps_that_join_in_the_same_write(monkeypatch):
    notes = []
    monkeypatch.setattr(admission, "_note_joined", lambda *arguments: notes.append(arguments))
    room = await admit(name="Brand new")
    stored = await Room.objects.aget(pk=room.pk)
    assert stored.last_joined_at is not None
    assert notes == []


async def test_rooms_not_joined_for_long_are_noted_as_joined_in_one_write(monkeypatch):
    notes = []
    monkeypatch.setattr(admission, "_note_joined", lambda *arguments: notes.append(arguments))
    names = ["Alpha", "Beta", "Gamma"]
    await sync_to_async(lambda: [load(name, None) for name in names])()  # never joined
    rooms = await asyncio.gather(*(admit(name=name) for name in names))
    [(noted, _when)] = notes
    assert sorted(noted) == sorted(room.pk for room in rooms)


async def test_a_read_overtaken_by_a_change_is_not_kept(trips):
    room = await admit()
    admissions.forget(room.pk)
    trips.during = lambda: admissions.forget(room.pk)  # a ban saved while the read was made
    await admit()
    trips.during = None
    await admit()
    assert trips.count == 3


async def test_what_is_known_expires(settings, trips):
    settings.CHAT_ADMISSION_CACHE_SECONDS = 0
    await admit()
    await admit()
    assert trips.count == 2


async def test_a_room_with_more_bans_than_are_kept_is_asked_about_each_join(monkeypatch):
    monkeypatch.setattr(admission, "BANS_KEPT_MAX", 2)
    room = await admit()
    for name in ("Bob", "Xia", "Yan", "Zoe"):  # Bob's the oldest, past what is kept
        await sync_to_async(RoomBan.objects.create)(room=room, username=name)
    assert await refusal() == ErrorCode.BANNED
    assert (await admit(username="Cem", person_key="session:cem")).pk == room.pk
    assert admissions._rooms["react"].bans is None


async def test_what_is_kept_has_a_limit(monkeypatch):
    monkeypatch.setattr(admission, "ROOMS_KEPT_MAX", 3)
    for name in ("One", "Two", "Three", "Four", "Five"):
        await admit(name=name)
    assert list(admissions._rooms) == ["three", "four", "five"]  # the longest kept went
    admissions._rooms["five"].expires = 0  # an expired entry goes before older live ones
    await admit(name="Six")
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
