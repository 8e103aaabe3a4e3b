"""Joining and leaving rooms, moderating them, and what the room hears about it.

Services take plain values (a connection id, a person key, names) and publish what
happened through `chatsite.publish`; the transport keeps its own connection state.
"""

from __future__ import annotations

import asyncio
import copy
import ipaddress
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.text import slugify

from chatsite import events
from chatsite.cluster import cluster
from chatsite.errors import ChatError, ErrorCode
from chatsite.events import PeopleChange, Removal
from chatsite.publish import publisher, publisher_here
from chatsite.staff_feed import staff_feed_room
from messaging.selectors import message_list_recent
from messaging.services import (
    message_delete_own,
    message_edit,
    message_history_move,
    message_post,
)
from messaging.store import Message
from rooms.admission import (
    ROOM_CLOSED,
    admissions,
    ensure_not_banned,
)
from rooms.identity import is_sessionless
from rooms.models import NAME_TAKEN, Room, RoomBan
from rooms.names import room_name_clean, username_clean
from rooms.presence import Person, presence
from rooms.roster_feed import people_changed, roster_topic
from rooms.selectors import room_ban_in_force, room_find, room_member, roster_list

ROOM_NOT_FOUND = "There is no room with that name, and new rooms cannot be created here."
ROOM_BUSY = "That room could not be created just now; please try again."
ROOM_CREATION_LIMITED = (
    "Too many new rooms from you in the last hour (at most {limit}); join an existing room or "
    "try again later."
)
REMOVED_BY_MODERATOR = "A moderator removed you from this room."
ROOM_RENAMED = "This room is now called {name}; join it under its new name."
ANNOUNCEMENT_EMPTY = "An announcement needs some text."
ROOM_FULL = "This room is full ({limit} people); please try again later or pick another room."


def room_check_joinable(*, name: str) -> Room | None:
    """Raise unless `name` names an open room or one that may be created; the room when it
    exists already. Reads only: nothing is created."""
    room = room_find(name=room_name_clean(name))
    if room is None and not settings.CHAT_ALLOW_ROOM_CREATION:
        raise ChatError(ErrorCode.ROOM_NOT_FOUND, ROOM_NOT_FOUND)
    if room is not None and room.is_closed:
        raise ChatError(ErrorCode.ROOM_CLOSED, ROOM_CLOSED)
    return room


def _unique_slug(name: str) -> str:
    """The name's slug, or when another room has it, that slug with a random suffix: one
    query however many rooms share it (all names without slug letters make `room`)."""
    base = slugify(name, allow_unicode=True)[:60] or "room"
    if not Room.objects.filter(slug=base).exists():
        return base
    return f"{base}-{secrets.token_hex(3)}"


def room_get_or_create(
    *,
    name: str,
    person_key: str | None = None,
    address: str | None = None,
    joined_at: datetime | None = None,
) -> Room:
    """The open room called `name` (in any letter case), created when creation is allowed.

    A visitor's creation (`person_key`, and `address` when known) counts against their
    CHAT_ROOM_CREATE_PER_HOUR; without them the room is staff's. `joined_at`: the time of
    the join this is for, which a room created now keeps as its `last_joined_at`."""
    name = room_name_clean(name)
    return room_check_joinable(name=name) or _room_create(name, person_key, address, joined_at)


def _ensure_may_create(person_key: str, address: str | None) -> None:
    """Raise `rate_limited` when this person, or their address, created
    CHAT_ROOM_CREATE_PER_HOUR rooms within the last hour (one query)."""
    limit = settings.CHAT_ROOM_CREATE_PER_HOUR
    if limit <= 0:
        return
    who = Q(creator_key=person_key)
    counts = {"mine": Count("pk", filter=who)}
    if address:
        counts["from_address"] = Count("pk", filter=Q(creator_address=address))
        who |= Q(creator_address=address)
    since = timezone.now() - timedelta(hours=1)
    made = Room.objects.filter(who, created_at__gt=since).aggregate(**counts)
    if any(count >= limit for count in made.values()):
        raise ChatError(ErrorCode.RATE_LIMITED, ROOM_CREATION_LIMITED.format(limit=limit))


def _ip_address(address: str | None) -> str | None:
    """`address` when it is an IP address (a transport may also give a socket path)."""
    try:
        return str(ipaddress.ip_address(address or ""))
    except ValueError:
        return None


def _room_create(
    name: str, person_key: str | None, address: str | None, joined_at: datetime | None
) -> Room:
    creator = {}
    if person_key is not None:
        address = _ip_address(address)
        _ensure_may_create(person_key, address)
        creator = {"creator_key": person_key, "creator_address": address}
    for _attempt in range(3):
        try:
            with transaction.atomic():
                return Room.objects.create(
                    name=name, slug=_unique_slug(name), last_joined_at=joined_at, **creator
                )
        except IntegrityError:
            # Somebody created it (or took the slug) at the same moment: theirs is ours.
            existing = room_find(name=name)
            if existing is not None:
                return existing
    raise ChatError(ErrorCode.UNAVAILABLE, ROOM_BUSY)


async def _notice_to(connection: str, room: str, text: str) -> None:
    await publisher().to_connection(
        connection, events.RECEIVE_MESSAGE, events.chatbot_notice(room, text)
    )


async def _subscribe(connection: str, room: str, *, roster_changes: bool) -> None:
    """To the room's events and one kind of roster update (a join again may switch kinds)."""
    await publisher().subscribe(connection, room)
    await publisher().unsubscribe(connection, roster_topic(room, changes=not roster_changes))
    await publisher().subscribe(connection, roster_topic(room, changes=roster_changes))


async def _unsubscribe(connection: str, room: str) -> None:
    await publisher().unsubscribe(connection, room)
    for changes in (False, True):
        await publisher().unsubscribe(connection, roster_topic(room, changes=changes))


@dataclass(frozen=True)
class Joined:
    room: str
    username: str
    roster: list[dict[str, str]]


def room_ensure_admitted(*, room: Room, username: str, person_key: str) -> None:
    """Raise `banned` while a moderator keeps this person, or this name, out of `room`."""
    ensure_not_banned(room_ban_in_force(room=room, username=username, person_key=person_key))


async def _ensure_room_for(*, room: str, username: str) -> None:
    """Raise `room_full` when `room` holds CHAT_ROOM_MAX_PEOPLE and this is a newcomer."""
    full = await presence.size(room=room) >= settings.CHAT_ROOM_MAX_PEOPLE
    if full and await presence.find(room=room, username=username) is None:
        raise ChatError(ErrorCode.ROOM_FULL, ROOM_FULL.format(limit=settings.CHAT_ROOM_MAX_PEOPLE))


async def room_join(
    *,
    connection: str,
    person_key: str,
    username: str,
    room_name: str,
    address: str | None = None,
    roster_changes: bool = False,
) -> Joined:
    """Put the connection in a room (leaving its current one) and tell everybody concerned.

    The joiner gets the welcome, the whole roster and the history at once; the others hear
    of it through the room's roster feed (with `roster_changes`, this connection's later
    updates are who came and went rather than whole lists). `address` is the connection's
    IP address, for the limit on creating rooms."""
    name = room_name_clean(room_name)
    username = username_clean(username)
    room = (
        await admissions.admit(
            name=name,
            username=username,
            person_key=person_key,
            load=lambda name, joined_at: room_get_or_create(
                name=name, person_key=person_key, address=address, joined_at=joined_at
            ),
        )
    ).name
    await presence.ensure_available(room=room, username=username, person_key=person_key)
    await _ensure_room_for(room=room, username=username)
    current = presence.member(connection=connection)
    if current is not None and current.room != room:
        await room_leave(connection=connection)
    outcome = await presence.join(
        room=room, username=username, person_key=person_key, connection=connection
    )
    await _subscribe(connection, room, roster_changes=roster_changes)
    await _notice_to(connection, room, events.welcome_text(username))
    roster = await roster_list(room=room)
    await publisher().to_connection(connection, events.CHATROOM_USERS, roster)
    arrival = PeopleChange.JOINED if outcome.is_new else None
    await people_changed(
        room, arrival, username=username, connection=connection, person_id=outcome.person.id
    )
    await _send_history(connection, room)
    return Joined(room=room, username=username, roster=roster)


async def _send_history(connection: str, room: str) -> None:
    """The joiner's `last_100_messages`; while HarperDB is down the join still stands, and the
    joiner is told that history is missing instead."""
    try:
        history = await message_list_recent(room=room)
    except ChatError as error:
        await publisher().to_connection(
            connection, events.CHAT_ERROR, {"event": events.JOIN_ROOM, **error.as_dict()}
        )
        return
    await publisher().to_connection(
        connection,
        events.LAST_100_MESSAGES,
        json.dumps([message.to_payload() for message in history], ensure_ascii=False),
    )


async def _announce_departure(person: Person, change: PeopleChange) -> None:
    await people_changed(person.room, change, username=person.username)


async def _announce_lost(people: list[Person]) -> None:
    """People whose connections were all on a process that died: they have disconnected."""
    for person in people:
        await _announce_departure(person, PeopleChange.DISCONNECTED)


presence.on_reaped = _announce_lost


async def room_leave(*, connection: str) -> None:
    """Take the connection out of its room; announced when it was the person's last one.
    A connection in no room changes nothing."""
    person = presence.member(connection=connection)
    if person is None:
        return
    await _unsubscribe(connection, person.room)
    last = await presence.detach(connection=connection)
    if last is not None and await presence.remove(last):
        await _announce_departure(last, PeopleChange.LEFT)
    else:
        await people_changed(person.room)


async def room_disconnect(*, connection: str, lost: bool = False) -> None:
    """A connection went away: its person leaves after a grace period unless they return.

    A client that said goodbye (closed its page) gets CHAT_PRESENCE_GRACE_SECONDS, enough for
    a reload; a `lost` connection (network, timeout) CHAT_RECONNECT_GRACE_SECONDS, so that a
    short blip is not announced at all."""
    person = presence.member(connection=connection)
    if person is None:
        return
    last = await presence.detach(connection=connection)
    if last is not None:
        grace = (
            settings.CHAT_RECONNECT_GRACE_SECONDS if lost else settings.CHAT_PRESENCE_GRACE_SECONDS
        )
        last.departure = asyncio.create_task(_depart_after_grace(last, grace))
    await people_changed(person.room)


async def _depart_after_grace(person: Person, grace: float) -> None:
    await asyncio.sleep(grace)
    person.departure = None
    if await presence.remove(person):
        await _announce_departure(person, PeopleChange.DISCONNECTED)


async def room_typing(*, connection: str, typing: bool) -> None:
    """Tell the connection's room (everyone else in it) that its person is typing or not."""
    person = room_member(connection=connection)
    await publisher().to_room(
        person.room,
        events.USER_TYPING,
        {"username": person.username, "room": person.room, "typing": typing},
        skip=(connection,),
    )


def room_message_post(*, connection: str, text: str, client_id: str | None) -> asyncio.Future:
    """Post to the connection's room as its person; resolves to the stored message.

    Synchronous like `message_post`: the message's place in the room is fixed on the call."""
    person = room_member(connection=connection)
    return message_post(room=person.room, username=person.username, text=text, client_id=client_id)


async def room_message_edit(*, connection: str, message_id: str, text: str) -> Message:
    """Edit the connection's person's own recent message in their room (`message_edit`)."""
    person = room_member(connection=connection)
    return await message_edit(
        room=person.room, username=person.username, message_id=message_id, text=text
    )


async def room_message_delete(*, connection: str, message_id: str) -> None:
    """Delete the connection's person's own recent message in their room."""
    person = room_member(connection=connection)
    await message_delete_own(room=person.room, username=person.username, message_id=message_id)


# --- Moderation (the admin's actions) ------------------------------------------------------


EVICTED = "evicted"
"""The cluster event of a person's eviction (`room`, `person_id`, `removal`)."""


async def _evict(person: Person, removal: dict[str, str]) -> None:
    """Take every connection of a person out of their room, on every process, telling each
    one why: `removal` is `removed_from_room`'s payload but the room (`reason`, `kind`...)."""
    await presence.evict(person)
    payload = {"room": person.room, "person_id": person.id, "removal": removal}
    await cluster().broadcast(EVICTED, payload)


async def _evicted_here(payload: dict[str, Any]) -> None:
    room = payload["room"]
    for connection in presence.here(person_id=payload["person_id"]):
        presence.forget(connection=connection)
        await _unsubscribe(connection, room)
        await publisher_here().to_connection(
            connection, events.REMOVED_FROM_ROOM, {"room": room, **payload["removal"]}
        )


cluster().on_event(EVICTED, _evicted_here)


def room_ban(
    *,
    room: str,
    username: str,
    person_key: str,
    for_good: bool = False,
    reason: str = "",
    moderator_id: int | None = None,
) -> RoomBan | None:
    """Keep a person (their session) and their name out of a room: for good, or for
    CHAT_REMOVAL_MINUTES (none when that is 0)."""
    minutes = settings.CHAT_REMOVAL_MINUTES
    if not for_good and minutes <= 0:
        return None
    return RoomBan.objects.create(
        room=room_find(name=room),
        username=username,
        person_key="" if is_sessionless(person_key) else person_key,
        until=None if for_good else timezone.now() + timedelta(minutes=minutes),
        reason=reason,
        created_by_id=moderator_id,
    )


async def room_remove_person(
    *,
    room: str,
    username: str,
    reason: str = "",
    for_good: bool = False,
    moderator_id: int | None = None,
) -> bool:
    """Remove a person from a room and keep them out (`room_ban`); the others see the roster
    change and a notice. False when nobody of that name is in the room."""
    person = await presence.find(room=room, username=username)
    if person is None:
        return False
    await database_sync_to_async(room_ban)(
        room=room,
        username=person.username,
        person_key=person.person_key,
        for_good=for_good,
        reason=reason,
        moderator_id=moderator_id,
    )
    removal = {
        "reason": reason or REMOVED_BY_MODERATOR,
        "kind": Removal.BANNED if for_good else Removal.REMOVED,
        "moderator_reason": reason,
    }
    await _evict(person, removal)
    await _announce_departure(person, PeopleChange.REMOVED)
    return True


async def room_announce(*, room: str, text: str) -> Message:
    """A moderator's announcement: a message from ChatBot, stored in the room's history like
    any message (so later joiners see it too) and delivered to everyone in the room."""
    if not text.strip():
        raise ChatError(ErrorCode.MESSAGE_EMPTY, ANNOUNCEMENT_EMPTY)
    return await message_post(room=room, username=events.CHATBOT, text=text, client_id=None)


# Closing, reopening and renaming are synchronous: the admin's views (and management
# commands) call them. They write the room, then tell its people on the server's event loop.


def _room_update(room_id: int, **fields: Any) -> tuple[Room, Room]:
    """Write `fields` to a room; the room before and after."""
    before = Room.objects.get(pk=room_id)
    room = copy.copy(before)
    for name, value in fields.items():
        setattr(room, name, value)
    try:
        with transaction.atomic():
            room.save()
    except IntegrityError as error:
        raise ChatError(ErrorCode.INVALID_ROOM, NAME_TAKEN) from error
    return before, room


async def _evict_everyone(room: str, removal: dict[str, str]) -> None:
    for person in await presence.roster(room=room):
        await _evict(person, removal)


def room_close(*, room_id: int) -> Room:
    """Close a room: nobody can join it, and everyone in it is removed."""
    before, room = _room_update(room_id, is_closed=True)
    async_to_sync(_evict_everyone)(room.name, {"reason": ROOM_CLOSED, "kind": Removal.CLOSED})
    if not before.is_closed:
        async_to_sync(staff_feed_room)(room=room.name, is_open=False)
    return room


def room_reopen(*, room_id: int) -> Room:
    before, room = _room_update(room_id, is_closed=False)
    if before.is_closed:
        async_to_sync(staff_feed_room)(room=room.name, is_open=True)
    return room


def room_rename(*, room_id: int, new_name: str) -> int:
    """Rename a room: people in it are asked to rejoin under the new name, and its history
    moves along. Returns how many messages moved."""
    name = room_name_clean(new_name)
    clash = room_find(name=name)
    if clash is not None and clash.pk != room_id:
        raise ChatError(ErrorCode.INVALID_ROOM, NAME_TAKEN)
    before, room = _room_update(room_id, name=name)
    async_to_sync(_renamed)(before.name, room.name)
    return async_to_sync(message_history_move)(old_room=before.name, new_room=room.name)


async def _renamed(old_name: str, new_name: str) -> None:
    removal = {
        "reason": ROOM_RENAMED.format(name=new_name),
        "kind": Removal.RENAMED,
        "new_room": new_name,
    }
    await _evict_everyone(old_name, removal)
    await staff_feed_room(room=old_name, is_open=False)
    await staff_feed_room(room=new_name, is_open=True)
