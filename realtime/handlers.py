"""Socket.IO event handlers: check the payload, call one service, answer with the ack.

Every client event goes through `client_event`, which applies the rate limit, turns the
payload into a typed object, runs the handler in the connection's turn, and turns any
`ChatError` into Part C's error ack plus a `chat_error` event.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from socketio.exceptions import ConnectionRefusedError

from chatsite import events
from chatsite.cluster import ClusterUnavailable, cluster
from chatsite.errors import ChatError, ErrorCode
from realtime import payloads
from realtime.connection import Connection, connection_from_environ
from realtime.connection_caps import connection_caps
from realtime.server import sio
from realtime.transport_limits import client_address
from rooms import services as room_services
from rooms.selectors import room_current, room_history_before

logger = logging.getLogger(__name__)

RATE_LIMITED = "Slow down: too many events in a short time."
UNKNOWN_EVENT = "Unknown event."
INTERNAL_ERROR = "Something went wrong on our side; please try again."

Handler = Callable[[Connection, Any], Awaitable[Any]]


async def _refuse(sid: str, event: str, error: ChatError) -> dict[str, Any]:
    await sio.emit(events.CHAT_ERROR, {"event": event, **error.as_dict()}, to=sid)
    if _left_outside_any_room(sid, event, error):
        # Clients that know only the original events ignore chat_error: ChatBot tells them.
        await sio.emit(events.RECEIVE_MESSAGE, events.refusal_notice(event, error), to=sid)
    return {"ok": False, "error": error.as_dict()}


def _left_outside_any_room(sid: str, event: str, error: ChatError) -> bool:
    """A refused join, or an event refused for want of a room, by a connection in none."""
    outsider_error = event == events.JOIN_ROOM or error.code == ErrorCode.NOT_IN_ROOM
    return outsider_error and room_current(connection=sid) is None


async def _handle(
    sid: str, event: str, args: tuple, parse: Callable[[tuple], Any], handler: Handler
) -> dict[str, Any]:
    try:
        connection: Connection = (await sio.get_session(sid))["connection"]
        if not connection.rate.allow():
            raise ChatError(ErrorCode.RATE_LIMITED, RATE_LIMITED)
        payload = parse(args)
        async with connection.turn:
            answer = await handler(connection, payload)
        # A handler may hand back work that need not hold up the connection's turn.
        if inspect.isawaitable(answer):
            answer = await answer
        return {"ok": True, **(answer or {})}
    except ChatError as error:
        return await _refuse(sid, event, error)
    except Exception:
        logger.exception("%s from %s failed", event, sid)
        return await _refuse(sid, event, ChatError(ErrorCode.INTERNAL_ERROR, INTERNAL_ERROR))


def client_event(event: str, parse: Callable[[tuple], Any]) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        async def dispatch(sid: str, *args: Any) -> dict[str, Any]:
            return await _handle(sid, event, args, parse, handler)

        sio.on(event, dispatch)
        return handler

    return register


# python-socketio also dispatches a client's *event* named "connect" or "disconnect" to these
# handlers; such forgeries are recognised (a live connection already has its state, and is
# still connected) and refused like any unknown event.


@sio.on("connect")
async def connect(sid: str, environ: Any, auth: Any = None) -> Any:
    if "connection" in await sio.get_session(sid):
        return await _refuse(sid, "connect", payloads.invalid(UNKNOWN_EVENT))
    address = client_address(environ["asgi.scope"])
    connection_caps.admit(address)
    try:
        await _join_the_cluster()
        connection = await connection_from_environ(sid, environ, address=address)
        await sio.save_session(sid, {"connection": connection})
    except BaseException:
        connection_caps.release(address)
        raise


async def _join_the_cluster() -> None:
    """This process hears the other processes' events before any connection joins a room."""
    try:
        await cluster().start()
    except ClusterUnavailable as error:
        raise ConnectionRefusedError(str(error)) from error


async def _drop_every_connection() -> None:
    """Redis took this process for dead: its people may be gone from the rosters. Every
    client is disconnected, reconnects (to any process) and joins again. One by one: Engine.IO's
    disconnect-all would also forget a client that connects meanwhile, and fails with none."""
    connected = list(sio.eio.sockets)
    await asyncio.gather(*(sio.eio.disconnect(sid) for sid in connected))


cluster().on_taken_for_dead(_drop_every_connection)


@sio.on("disconnect")
async def disconnect(sid: str, *reason: Any) -> Any:
    if sio.manager.is_connected(sid, "/"):
        return await _refuse(sid, "disconnect", payloads.invalid(UNKNOWN_EVENT))
    connection: Connection = (await sio.get_session(sid))["connection"]
    connection_caps.release(connection.address)
    said_goodbye = bool(reason) and reason[0] == sio.reason.CLIENT_DISCONNECT
    async with connection.turn:
        await room_services.room_disconnect(connection=sid, lost=not said_goodbye)


def _unknown(args: tuple) -> None:
    raise payloads.invalid(UNKNOWN_EVENT)


@sio.on("*")
async def unknown_event(event: str, sid: str, *args: Any) -> dict[str, Any]:
    """Refused like any bad event, and counted against the rate limit like any event."""
    return await _handle(sid, str(event)[:64], args, _unknown, handler=None)


@client_event(events.JOIN_ROOM, payloads.JoinRoom.parse)
async def join_room(connection: Connection, payload: payloads.JoinRoom) -> dict[str, Any]:
    joined = await room_services.room_join(
        connection=connection.sid,
        person_key=connection.person_key,
        username=connection.username or payload.username,
        room_name=payload.room,
        address=connection.address,
        roster_changes=payload.roster_changes,
    )
    connection.username = joined.username
    return {"room": joined.room, "username": joined.username, "users": joined.roster}


@client_event(events.SEND_MESSAGE, payloads.SendMessage.parse)
async def send_message(connection: Connection, payload: payloads.SendMessage):
    stored = room_services.room_message_post(
        connection=connection.sid, text=payload.message, client_id=payload.client_id
    )

    async def ack_once_stored() -> dict[str, Any]:
        message = await stored
        return {"id": message.id, "__createdtime__": message.created_ms}

    return ack_once_stored()


@client_event(events.EDIT_MESSAGE, payloads.EditMessage.parse)
async def edit_message(connection: Connection, payload: payloads.EditMessage) -> dict[str, Any]:
    edited = await room_services.room_message_edit(
        connection=connection.sid, message_id=payload.id, text=payload.message
    )
    return {"id": edited.id, "edited_ms": edited.edited_ms}


@client_event(events.DELETE_MESSAGE, payloads.DeleteMessage.parse)
async def delete_message(connection: Connection, payload: payloads.DeleteMessage) -> None:
    await room_services.room_message_delete(connection=connection.sid, message_id=payload.id)


@client_event(events.LEAVE_ROOM, payloads.LeaveRoom.parse)
async def leave_room(connection: Connection, payload: payloads.LeaveRoom) -> None:
    await room_services.room_leave(connection=connection.sid)


@client_event(events.LOAD_HISTORY, payloads.LoadHistory.parse)
async def load_history(connection: Connection, payload: payloads.LoadHistory) -> dict[str, Any]:
    messages, has_more = await room_history_before(
        connection=connection.sid, before_id=payload.before, limit=payload.limit
    )
    return {"messages": [message.to_payload() for message in messages], "has_more": has_more}


@client_event(events.TYPING, payloads.Typing.parse)
async def typing(connection: Connection, payload: payloads.Typing) -> None:
    await room_services.room_typing(connection=connection.sid, typing=payload.typing)
