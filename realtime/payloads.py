"""Client payloads, checked for shape before anything acts on them (Part C `invalid_payload`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chatsite.errors import ChatError, ErrorCode

ONE_OBJECT = "Send exactly one JSON object with this event."
CLIENT_ID_MAX_LENGTH = 64


def invalid(message: str) -> ChatError:
    return ChatError(ErrorCode.INVALID_PAYLOAD, message)


def _object(args: tuple) -> dict[str, Any]:
    if len(args) != 1 or not isinstance(args[0], dict):
        raise invalid(ONE_OBJECT)
    return args[0]


def _text(data: dict[str, Any], name: str, *, required: bool) -> str | None:
    value = data.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise invalid(f"`{name}` must be a string.")
    return value


@dataclass(frozen=True)
class JoinRoom:
    username: str
    room: str
    roster_changes: bool = False

    @classmethod
    def parse(cls, args: tuple) -> JoinRoom:
        data = _object(args)
        roster_changes = data.get("roster_changes", False)
        if not isinstance(roster_changes, bool):
            raise invalid("`roster_changes` must be true or false.")
        return cls(
            username=_text(data, "username", required=False) or "",
            room=_text(data, "room", required=True),
            roster_changes=roster_changes,
        )


@dataclass(frozen=True)
class SendMessage:
    message: str
    client_id: str | None

    @classmethod
    def parse(cls, args: tuple) -> SendMessage:
        data = _object(args)
        client_id = _text(data, "client_id", required=False)
        if client_id is not None and not 1 <= len(client_id) <= CLIENT_ID_MAX_LENGTH:
            raise invalid(f"`client_id` must be 1 to {CLIENT_ID_MAX_LENGTH} characters.")
        return cls(message=_text(data, "message", required=True), client_id=client_id)


@dataclass(frozen=True)
class EditMessage:
    id: str
    message: str

    @classmethod
    def parse(cls, args: tuple) -> EditMessage:
        data = _object(args)
        return cls(
            id=_text(data, "id", required=True), message=_text(data, "message", required=True)
        )


@dataclass(frozen=True)
class DeleteMessage:
    id: str

    @classmethod
    def parse(cls, args: tuple) -> DeleteMessage:
        return cls(id=_text(_object(args), "id", required=True))


@dataclass(frozen=True)
class LeaveRoom:
    @classmethod
    def parse(cls, args: tuple) -> LeaveRoom:
        if args:  # old clients send {username, room}; both are ignored
            _object(args)
        return cls()


@dataclass(frozen=True)
class LoadHistory:
    before: str
    limit: int

    @classmethod
    def parse(cls, args: tuple) -> LoadHistory:
        data = _object(args)
        limit = data.get("limit", 50)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 100:
            raise invalid("`limit` must be a whole number from 1 to 100.")
        return cls(before=_text(data, "before", required=True), limit=limit)


@dataclass(frozen=True)
class Typing:
    typing: bool

    @classmethod
    def parse(cls, args: tuple) -> Typing:
        data = _object(args)
        if not isinstance(data.get("typing"), bool):
            raise invalid("`typing` must be true or false.")
        return cls(typing=data["typing"])
