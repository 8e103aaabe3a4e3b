"""Event names and fixed texts of the wire protocol (docs/protocol.md), defined once."""

import time
from typing import Any

# client -> server
JOIN_ROOM = "join_room"
SEND_MESSAGE = "send_message"
LEAVE_ROOM = "leave_room"
LOAD_HISTORY = "load_history"
TYPING = "typing"

# server -> client
RECEIVE_MESSAGE = "receive_message"
CHATROOM_USERS = "chatroom_users"
LAST_100_MESSAGES = "last_100_messages"
USER_TYPING = "user_typing"
MESSAGE_DELETED = "message_deleted"
REMOVED_FROM_ROOM = "removed_from_room"
CHAT_ERROR = "chat_error"

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


def chatbot_notice(room: str, text: str) -> dict[str, Any]:
    """A `receive_message` from ChatBot, stamped with the server's time (never stored)."""
    return {
        "username": CHATBOT,
        "room": room,
        "message": text,
        "__createdtime__": int(time.time() * 1000),
    }
