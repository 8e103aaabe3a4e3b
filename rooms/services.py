"""Joining and leaving rooms, and what the room hears about it."""

from __future__ import annotations

import asyncio
import json
import unicodedata
from typing import TYPE_CHECKING

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.text import slugify

from chatsite.errors import ChatError
from messaging.selectors import message_list_recent
from messaging.services import message_history_move
from chatsite import events
from realtime import broadcast
from rooms.live_feed import live_presence_changed, live_room_changed
from rooms.models import Room, room_name_key
from rooms.presence import Person, presence
from rooms.selectors import roster_list

if TYPE_CHECKING:
    from realtime.connection import Connection

USERNAME_MAX_LENGTH = 32
ROOM_NAME_MAX_LENGTH = 64
INVALID_USERNAME = "A username is 1 to 32 characters, no control characters; ChatBot is reserved."
INVALID_ROOM = "A room name is 1 to 64 characters without control characters."
ROOM_NOT_FOUND = "There is no room with that name, and new rooms cannot be created here."
ROOM_CLOSED = "This room has been closed by a moderator."
ROOM_BUSY = "That room could not be created just now; please try again."
NOT_IN_ROOM = "Join a room first."
REMOVED_BY_MODERATOR = "A moderator removed you from this room."
ROOM_RENAMED = "This room is now called {name}; join it under its new name."


def _has_control_characters(text: str) -> bool:
    return any(unicodedata.category(character) in ("Cc", "Cf", "Zl", "Zp") for character in text)


def username_clean(raw: str) -> str:
    """The username as it will be shown, or `invalid_username`."""
    username = raw.strip()
    if (
        not 1 <= len(username) <= USERNAME_MAX_LENGTH
        or _has_control_characters(username)
        or username.casefold() == events.CHATBOT.casefold()
    ):
        raise ChatError("invalid_username", INVALID_USERNAME)
    return username


def room_name_clean(raw: str) -> str:
    name = raw.strip()
    if not 1 <= len(name) <= ROOM_NAME_MAX_LENGTH or _has_control_characters(name):
        raise ChatError("invalid_room", INVALID_ROOM)
    return name


def _unique_slug(name: str) -> str:
    base = slugify(name, allow_unicode=True)[:60] or "room"
    slug, number = base, 1
    while Room.objects.filter(slug=slug).exists():
        number += 1
        slug = f"{base}-{number}"
    return slug


def room_get_or_create(*, name: str) -> Room:
    """The room called `name` (in any letter case), created when creation is allowed."""
    name = room_name_clean(name)
    room = Room.objects.filter(name_key=room_name_key(name)).first()
    if room is None:
        if not settings.CHAT_ALLOW_ROOM_CREATION:
            raise ChatError("room_not_found", ROOM_NOT_FOUND)
        room = _room_create(name)
    if room.is_closed:
        raise ChatError("room_closed", ROOM_CLOSED)
    return room


def _room_create(name: str) -> Room:
    for _attempt in range(3):
        try:
            with transaction.atomic():
                return Room.objects.create(name=name, slug=_unique_slug(name))
        except IntegrityError:
            # Somebody created it (or took the slug) at the same moment: theirs is ours.
            existing = Room.objects.filter(name_key=room_name_key(name)).first()
            if existing is not None:
                return existing
    raise ChatError("invalid_room", ROOM_BUSY)


async def _notice(room: str, text: str, *, to: str | None = None, skip: list[str] | None = None):
    notice = broadcast.chatbot_notice(room, text)
    if to is not None:
        await broadcast.to_connection(to, events.RECEIVE_MESSAGE, notice)
    else:
        await broadcast.to_room(room, events.RECEIVE_MESSAGE, notice, skip=skip)


async def room_join(*, connection: Connection, username: str, room_name: str) -> Person:
    """Put the connection in a room (leaving its current one) and tell everybody concerned."""
    name = room_name_clean(room_name)
    username = connection.username or username_clean(username)
    room = (await database_sync_to_async(room_get_or_create)(name=name)).name
    presence.ensure_available(room=room, username=username, person_key=connection.person_key)
    if connection.room not in (None, room):
        await room_leave(connection=connection)
    outcome = presence.join(
        room=room, username=username, person_key=connection.person_key, connection=connection.sid
    )
    connection.room, connection.username = room, username
    await broadcast.enter(connection.sid, room)
    await _notice(room, events.welcome_text(username), to=connection.sid)
    if outcome.is_new:
        await _notice(room, events.joined_text(username), skip=[connection.sid])
    await broadcast.to_room(room, events.CHATROOM_USERS, roster_list(room=room))
    await live_presence_changed(room)
    await _send_history(connection.sid, room)
    return outcome.person


async def _send_history(connection: str, room: str) -> None:
    """The joiner's `last_100_messages`; while HarperDB is down the join still stands, and the
    joiner is told that history is missing instead."""
    try:
        history = await message_list_recent(room=room)
    except ChatError as error:
        await broadcast.to_connection(
            connection, events.CHAT_ERROR, {"event": events.JOIN_ROOM, **error.as_dict()}
        )
        return
    await broadcast.to_connection(
        connection,
        events.LAST_100_MESSAGES,
        json.dumps([message.to_payload() for message in history], ensure_ascii=False),
    )


async def _announce_departure(person: Person, text: str) -> None:
    await broadcast.to_room(person.room, events.CHATROOM_USERS, roster_list(room=person.room))
    await _notice(person.room, text)
    await live_presence_changed(person.room)


async def room_leave(*, connection: Connection) -> None:
    """Take the connection out of its room; announced when it was the person's last one."""
    room = connection.room
    if room is None:
        return
    connection.room = None
    await broadcast.leave(connection.sid, room)
    person = presence.detach(room=room, connection=connection.sid)
    if person is not None and presence.remove(person):
        await _announce_departure(person, events.left_text(person.username))
    else:
        await live_presence_changed(room)


async def room_disconnect(*, connection: Connection) -> None:
    """A connection went away: its person leaves after a grace period unless they return."""
    room = connection.room
    if room is None:
        return
    connection.room = None
    person = presence.detach(room=room, connection=connection.sid)
    if person is not None:
        person.departure = asyncio.create_task(_depart_after_grace(person))
    await live_presence_changed(room)


async def _depart_after_grace(person: Person) -> None:
    await asyncio.sleep(settings.CHAT_PRESENCE_GRACE_SECONDS)
    person.departure = None
    if presence.remove(person):
        await _announce_departure(person, events.disconnected_text(person.username))


async def room_typing(*, connection: Connection, typing: bool) -> None:
    if connection.room is None:
        raise ChatError("not_in_room", NOT_IN_ROOM)
    await broadcast.to_room(
        connection.room,
        events.USER_TYPING,
        {"username": connection.username, "room": connection.room, "typing": typing},
        skip=[connection.sid],
    )


# --- Moderation (the admin's actions) ------------------------------------------------------


async def _evict(person: Person, reason: str) -> None:
    """Take every connection of a person out of their room, telling each one why."""
    if person.departure is not None:
        person.departure.cancel()
        person.departure = None
    for sid in list(person.connections):
        connection = await broadcast.connection_state(sid)
        if connection is not None and connection.room == person.room:
            connection.room = None
        await broadcast.leave(sid, person.room)
        await broadcast.to_connection(
            sid, events.REMOVED_FROM_ROOM, {"room": person.room, "reason": reason}
        )
        presence.detach(room=person.room, connection=sid)
    person.connections.clear()
    presence.remove(person)


async def room_remove_person(*, room: str, username: str, reason: str = "") -> bool:
    """Remove a person from a room; the others see the roster change and a notice."""
    person = presence.find(room=room, username=username)
    if person is None:
        return False
    await _evict(person, reason or REMOVED_BY_MODERATOR)
    await _announce_departure(person, events.removed_text(person.username))
    return True


async def room_announce(*, room: str, text: str) -> None:
    """A moderator's announcement: a ChatBot notice to everyone in the room (not stored)."""
    if not text.strip():
        raise ChatError("message_empty", "An announcement needs some text.")
    await _notice(room, text)


async def room_closed(*, room: str) -> None:
    """After a room was closed: everyone in it is removed, and the admin's view updated."""
    for person in presence.roster(room=room):
        await _evict(person, ROOM_CLOSED)
    await live_room_changed(room, is_open=False)


async def room_reopened(*, room: str) -> None:
    await live_room_changed(room, is_open=True)


async def room_renamed(*, old_name: str, new_name: str) -> int:
    """After a rename: people in the room are asked to rejoin it under the new name, and its
    history moves along. Returns how many messages moved."""
    for person in presence.roster(room=old_name):
        await _evict(person, ROOM_RENAMED.format(name=new_name))
    await live_room_changed(old_name, is_open=False)
    await live_room_changed(new_name, is_open=True)
    return await message_history_move(old_room=old_name, new_room=new_name)
