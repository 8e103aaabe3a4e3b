"""Who may join which room, kept in memory so that a join to a known room asks the database
nothing (but an hourly note that the room is in use).

A join used to cost two or three queries (the room, its bans, now and then its last join
time), run one after another in the one thread Django's database calls share: a join storm
waited in line for the database. Each process now keeps, per room it admitted someone to, the
room as stored and every ban in force for it, and checks joins against that:
- a change to a room or a ban, saved in any process, forgets that room everywhere once
  committed: here at once, and through the cluster's `admission` event on every process
  (with REDIS_URL; a management command's process then reaches the servers too);
- what a change could not reach (a database edit by hand, a command run without REDIS_URL)
  is read again after CHAT_ADMISSION_CACHE_SECONDS, when an entry expires;
- a read that was under way when a forget came is not kept (`_forgets`).

Rooms not known are read together: every read waiting when a trip to the database starts
goes in it (the open rooms by name in one query, the bans in force in one or two), and `load`
runs only for a room that is not open (to create it, or to say why not). After a restart,
hundreds of rooms' first joins arrive at once, and read one by one they queued in Django's one
database thread: with 400 clients joining 100 known rooms at once, admission took p50 121-195
ms per join, and 0-77 ms read together (bench/fanout.py edited to keep its rooms between runs,
with CHAT_ADMISSION_CACHE_SECONDS=1).
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from chatsite.cluster import cluster
from chatsite.errors import ChatError, ErrorCode
from chatsite.futures import mark_exception_seen
from rooms.models import Room, RoomBan
from rooms.names import look_key, name_key
from rooms.selectors import room_ban_in_force

ADMISSION_CHANGED = "admission"
"""The cluster event of a room or ban change (`room_id`): forget what is known of it."""

BANS_KEPT_MAX = 1_000  # a room with more bans in force is asked about each join
ROOMS_KEPT_MAX = 10_000  # past it, expired entries go, then the longest kept
READS_PER_TRIP = 500  # rooms read in one trip to the database, at most
JOINED_AT_RESOLUTION = timedelta(hours=1)
ROOM_CLOSED = "This room has been closed by a moderator."
BANNED_UNTIL = "A moderator removed you from this room; you can join it again after {until}."
BANNED_FOR_GOOD = "A moderator has banned you from this room."


def ban_holding(bans, *, username: str, person_key: str, now: datetime) -> RoomBan | None:
    """Of `bans`, the one that keeps this person, or this name in any spelling, out now;
    the one that lasts longest when there are several."""
    keys = (name_key(username), look_key(username))
    holding = [
        ban
        for ban in bans
        if (ban.until is None or ban.until > now)
        and (
            ban.username_key == keys[0]
            or ban.username_look_key == keys[1]
            or (person_key and ban.person_key == person_key)
        )
    ]
    if not holding:
        return None
    return max(holding, key=lambda ban: (ban.until is None, ban.until or now))


def ensure_not_banned(ban: RoomBan | None) -> None:
    if ban is None:
        return
    if ban.until is None:
        raise ChatError(ErrorCode.BANNED, BANNED_FOR_GOOD)
    raise ChatError(
        ErrorCode.BANNED, BANNED_UNTIL.format(until=f"{ban.until:%Y-%m-%d %H:%M:%S} UTC")
    )


Load = Callable[[str, datetime], Room]  # the room a join names, made if missing; or raises why not
RoomAndBans = tuple[Room, list[RoomBan] | None]


@dataclass
class KnownRoom:
    room: Room
    bans: list[RoomBan] | None  # None: too many to keep; the database is asked each join
    expires: float = field(default=0.0)


class RoomAdmissions:
    """This process's knowledge of rooms' admission, by room name key."""

    def __init__(self) -> None:
        self._rooms: dict[str, KnownRoom] = {}
        self._reading: dict[str, asyncio.Future] = {}
        self._forgets = 0  # how many forgets so far: a read older than the last is not kept
        self._waiting: list[tuple[str, Load, asyncio.Future]] = []  # for the next trip
        self._trips: asyncio.Task | None = None

    async def admit(self, *, name: str, username: str, person_key: str, load: Load) -> Room:
        """The room `name` if this person may join it now; raises `room_closed` or `banned`.

        When the room is not known and no open room has that name, `load(name, joined_at)`
        creates it or raises why not (`room_get_or_create`)."""
        known = await self._known(name, load)
        if known.room.is_closed:
            raise ChatError(ErrorCode.ROOM_CLOSED, ROOM_CLOSED)
        now = timezone.now()
        if known.bans is None:
            ban = await database_sync_to_async(room_ban_in_force)(
                room=known.room, username=username, person_key=person_key
            )
        else:
            ban = ban_holding(known.bans, username=username, person_key=person_key, now=now)
        ensure_not_banned(ban)
        if _joined_long_ago(known.room, now):
            known.room.last_joined_at = now  # before the write: joins meanwhile write nothing
            await database_sync_to_async(_note_joined)([known.room.pk], now)
        return known.room

    async def _known(self, name: str, load: Load) -> KnownRoom:
        """What is known of the room, read when it is not: once for joins that arrive
        together (a read for another person that failed, as a creation past their limit
        may, or whose join was cancelled, is tried again for this one)."""
        key = name_key(name)
        known = self._rooms.get(key)
        if known is not None and known.expires > time.monotonic():
            return known
        reading = self._reading.get(key)
        if reading is not None:
            try:
                return await asyncio.shield(reading)
            except asyncio.CancelledError:
                if not reading.cancelled():
                    raise  # this join was cancelled, not the read
            except ChatError:
                pass
        reading = asyncio.get_running_loop().create_future()
        reading.add_done_callback(mark_exception_seen)
        self._reading[key] = reading
        try:
            known = await self._read(name, load)
        except asyncio.CancelledError:
            reading.cancel()
            raise
        except BaseException as error:
            reading.set_exception(error)
            raise
        finally:
            if self._reading.get(key) is reading:
                del self._reading[key]
        reading.set_result(known)
        return known

    async def _read(self, name: str, load: Load) -> KnownRoom:
        forgets = self._forgets
        room, bans = await self._read_in_next_trip(name, load)
        known = KnownRoom(
            room=room, bans=bans, expires=time.monotonic() + settings.CHAT_ADMISSION_CACHE_SECONDS
        )
        if forgets == self._forgets:
            self._keep(name_key(room.name), known)
        return known

    async def _read_in_next_trip(self, name: str, load: Load) -> RoomAndBans:
        loop = asyncio.get_running_loop()
        if self._trips is None or self._trips.done() or self._trips.get_loop() is not loop:
            # A server has one loop; tests one each, and an old loop's reads never end.
            self._waiting = [waiting for waiting in self._waiting if waiting[2].get_loop() is loop]
            self._trips = loop.create_task(self._make_trips())
        read = loop.create_future()
        self._waiting.append((name, load, read))
        return await read

    async def _make_trips(self) -> None:
        """Read what waits, one trip at a time, until nothing does."""
        while self._waiting:
            trip = self._waiting[:READS_PER_TRIP]
            del self._waiting[:READS_PER_TRIP]
            try:
                answers = await database_sync_to_async(_rooms_and_bans)(
                    [(name, load) for name, load, _read in trip]
                )
            except Exception as error:  # the database failed them all
                answers = [error] * len(trip)
            for (_name, _load, read), answer in zip(trip, answers, strict=True):
                if read.done():  # its join was cancelled meanwhile
                    continue
                if isinstance(answer, Exception):
                    read.set_exception(answer)
                else:
                    read.set_result(answer)

    def _keep(self, key: str, known: KnownRoom) -> None:
        self._rooms.pop(key, None)  # to the end of the order: kept the longest from now
        self._rooms[key] = known
        if len(self._rooms) <= ROOMS_KEPT_MAX:
            return
        now = time.monotonic()
        # pop, not del: `forget` may run meanwhile, in the thread that saved a change.
        for old_key, old in list(self._rooms.items()):
            if old.expires <= now and old_key != key:
                self._rooms.pop(old_key, None)
        while len(self._rooms) > ROOMS_KEPT_MAX:
            self._rooms.pop(next(iter(self._rooms)), None)

    def forget(self, room_id: int) -> None:
        self._forgets += 1
        for key, known in list(self._rooms.items()):
            if known.room.pk == room_id:
                self._rooms.pop(key, None)

    def forget_all(self) -> None:
        self._forgets += 1
        self._rooms.clear()


def _joined_long_ago(room: Room, now: datetime) -> bool:
    return room.last_joined_at is None or room.last_joined_at < now - JOINED_AT_RESOLUTION


def _rooms_and_bans(reads: list[tuple[str, Load]]) -> list[RoomAndBans | Exception]:
    """For each (room name, load): the room and its bans in force (None: more than are
    kept), or why it cannot be joined. The open rooms are found together; `load` creates
    each of the others or raises why not, and a refusal is that read's alone."""
    now = timezone.now()
    keys = {name_key(name) for name, _load in reads}
    open_rooms = {
        room.name_key: room for room in Room.objects.filter(name_key__in=keys, is_closed=False)
    }
    answers: list[Room | Exception] = []
    for name, load in reads:
        room = open_rooms.get(name_key(name))
        try:
            answers.append(room if room is not None else load(name, now))
        except Exception as error:
            answers.append(error)
    rooms = [answer for answer in answers if isinstance(answer, Room)]
    # In the same trip to the database: a room someone tried to join is not idle.
    idle = [room for room in rooms if _joined_long_ago(room, now)]
    if idle:
        _note_joined([room.pk for room in idle], now)
        for room in idle:
            room.last_joined_at = now
    bans = _bans_in_force([room.pk for room in rooms])
    return [
        answer if isinstance(answer, Exception) else (answer, bans[answer.pk]) for answer in answers
    ]


def _bans_in_force(room_ids: list[int]) -> dict[int, list[RoomBan] | None]:
    """Each room's bans in force, or None for a room with more than BANS_KEPT_MAX."""
    in_force = Q(until__isnull=True) | Q(until__gt=timezone.now())
    counts = dict(
        RoomBan.objects.filter(in_force, room_id__in=room_ids)
        .values_list("room_id")
        .annotate(Count("pk"))
        .order_by()
    )
    kept = [room_id for room_id, count in counts.items() if count <= BANS_KEPT_MAX]
    bans: dict[int, list[RoomBan] | None] = defaultdict(list)
    if kept:
        for ban in RoomBan.objects.filter(in_force, room_id__in=kept):
            bans[ban.room_id].append(ban)
    for room_id, count in counts.items():
        if count > BANS_KEPT_MAX:
            bans[room_id] = None
    return {room_id: bans[room_id] for room_id in room_ids}


def _note_joined(room_ids: list[int], now: datetime) -> None:
    """Seen by `manage.py rooms_close_idle`, which cannot see who is in a room now; at most
    hourly (JOINED_AT_RESOLUTION)."""
    Room.objects.filter(pk__in=room_ids).update(last_joined_at=now)


admissions = RoomAdmissions()


async def _changed_here(payload: dict[str, Any]) -> None:
    admissions.forget(payload["room_id"])


cluster().on_event(ADMISSION_CHANGED, _changed_here)


def _tell_every_process(room_id: int) -> None:
    admissions.forget(room_id)
    async_to_sync(cluster().broadcast)(ADMISSION_CHANGED, {"room_id": room_id})


# robust: the change is committed whatever happens to the news of it (Redis may be down;
# the entries then expire).
def _room_changed(sender, instance: Room, created: bool = False, **kwargs) -> None:
    if created:  # nothing is known of it yet (and a join's read may be making it)
        return
    transaction.on_commit(lambda: _tell_every_process(instance.pk), robust=True)


def _ban_changed(sender, instance: RoomBan, **kwargs) -> None:
    transaction.on_commit(lambda: _tell_every_process(instance.room_id), robust=True)


def connect_signals() -> None:
    """Called once, when the rooms app is ready."""
    for signal in (post_save, post_delete):
        signal.connect(_room_changed, sender=Room, dispatch_uid=f"admission-room-{signal}")
        signal.connect(_ban_changed, sender=RoomBan, dispatch_uid=f"admission-ban-{signal}")
