"""Event names and fixed texts of the wire protocol (docs/protocol.md), defined once."""

import time
from enum import StrEnum
from typing import Any

from chatsite.errors import ChatError

# client -> server
JOIN_ROOM = "join_room"
SEND_MESSAGE = "send_message"
LEAVE_ROOM = "leave_room"
LOAD_HISTORY = "load_history"
TYPING = "typing"
EDIT_MESSAGE = "edit_message"
DELETE_MESSAGE = "delete_message"

# server -> client
RECEIVE_MESSAGE = "receive_message"
CHATROOM_USERS = "chatroom_users"
LAST_100_MESSAGES = "last_100_messages"
USER_TYPING = "user_typing"
MESSAGE_DELETED = "message_deleted"
MESSAGE_EDITED = "message_edited"
REMOVED_FROM_ROOM = "removed_from_room"
CHAT_ERROR = "chat_error"
# For clients that ask for it at join: who came and went since the last update, instead of
# the whole `chatroom_users` list each time.
ROSTER_CHANGES = "roster_changes"

CHATBOT = "ChatBot"


def welcome_text(username: str) -> str:
    return f"Welcome {username}"


def joined_text(username: str) -> str:
    return f"{username} has joined the chat room"


def left_text(username: str) -> str:
    return f"{username} has left the chat"


def disconnected_text(username: str) -> str:
    return f"{username} has disconnected from the chat."


def removed_text(username: str) -> str:
    return f"{username} was removed from the chat room by a moderator"


class Removal(StrEnum):
    """Why a connection was taken out of its room: `removed_from_room`'s `kind`."""

    REMOVED = "removed"  # a moderator removed the person for a while
    BANNED = "banned"  # ... and banned them for good
    CLOSED = "closed"  # a moderator closed the room
    RENAMED = "renamed"  # the room has a new name (`new_room`)


class PeopleChange(StrEnum):
    """Why people came or went; the changes that land in one roster update are told in one
    notice per kind."""

    JOINED = "joined"
    LEFT = "left"
    DISCONNECTED = "disconnected"
    REMOVED = "removed"


_ONE = {
    PeopleChange.JOINED: joined_text,
    PeopleChange.LEFT: left_text,
    PeopleChange.DISCONNECTED: disconnected_text,
    PeopleChange.REMOVED: removed_text,
}
_SEVERAL = {
    PeopleChange.JOINED: "{names} have joined the chat room",
    PeopleChange.LEFT: "{names} have left the chat",
    PeopleChange.DISCONNECTED: "{names} have disconnected from the chat.",
    PeopleChange.REMOVED: "{names} were removed from the chat room by a moderator",
}
_NAMES_SHOWN = 3


def people_text(kind: PeopleChange, usernames: list[str]) -> str:
    """`Ana has joined the chat room`, or `Ana, Bob, Cem and 12 others have joined ...`."""
    if len(usernames) == 1:
        return _ONE[kind](usernames[0])
    shown, hidden = usernames[:_NAMES_SHOWN], len(usernames) - _NAMES_SHOWN
    if hidden > 0:
        names = f"{', '.join(shown)} and {hidden} other{'s' if hidden > 1 else ''}"
    else:
        names = f"{', '.join(shown[:-1])} and {shown[-1]}"
    return _SEVERAL[kind].format(names=names)


def refused_text(event: str, reason: str) -> str:
    """ChatBot's word to a connection that a refusal left outside any room."""
    if event == JOIN_ROOM:
        return f"You could not join the room: {reason}"
    return f"That was not sent, because you are not in a room. {reason}"


def refusal_notice(event: str, error: ChatError) -> dict[str, Any]:
    """A refusal told as a ChatBot notice, for clients that know only the original events
    (they ignore `chat_error`); `code` lets the others, which had the error, drop it."""
    return {**chatbot_notice("", refused_text(event, error.message)), "code": error.code.value}


def chatbot_notice(room: str, text: str) -> dict[str, Any]:
    """A `receive_message` from ChatBot, stamped with the server's time (never stored)."""
    return {
        "username": CHATBOT,
        "room": room,
        "message": text,
        "__createdtime__": int(time.time() * 1000),
    }
