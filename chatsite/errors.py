"""The one application error type: services raise it, the transport turns it into Part C
of docs/protocol.md (an error ack plus a `chat_error` event)."""

from enum import StrEnum


class ErrorCode(StrEnum):
    """Every `code` a client can receive; docs/protocol.md, Part C, says when."""

    INVALID_PAYLOAD = "invalid_payload"
    INVALID_USERNAME = "invalid_username"
    INVALID_ROOM = "invalid_room"
    USERNAME_TAKEN = "username_taken"
    ROOM_NOT_FOUND = "room_not_found"
    ROOM_CLOSED = "room_closed"
    ROOM_FULL = "room_full"
    BANNED = "banned"
    NOT_IN_ROOM = "not_in_room"
    MESSAGE_NOT_FOUND = "message_not_found"
    NOT_YOUR_MESSAGE = "not_your_message"
    EDIT_TOO_LATE = "edit_too_late"
    MESSAGE_EMPTY = "message_empty"
    MESSAGE_TOO_LONG = "message_too_long"
    RATE_LIMITED = "rate_limited"
    UNAVAILABLE = "unavailable"
    INTERNAL_ERROR = "internal_error"


class ChatError(Exception):
    def __init__(self, code: ErrorCode, message: str):
        super().__init__(message)
        self.code = ErrorCode(code)
        self.message = message

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code.value, "message": self.message}
