"""The benchmark's bare python-socketio peer: bench/peer.mjs's protocol subset, as stock
python-socketio (its default client manager, JSON and Engine.IO queues) under stock Daphne,
no database. `bench/fanout.py --peer socketio` measures it beside DevRooms, so that every
DevRooms figure also has a ratio to what the libraries it is built on cost on their own.

    join_room {username, room}  -> joins the room (leaving the previous one), sends the joiner
                                   last_100_messages ("[]"), acks {ok: true}
    send_message {message, client_id}
                                -> receive_message {...payload, id, __createdtime__} to the
                                   whole room, sender included; acks {ok: true, id}

    cd bench && ../.venv/bin/python -m daphne -b 127.0.0.1 -p 8100 socketio_peer:application
"""

from __future__ import annotations

import itertools
import time

import socketio

sio = socketio.AsyncServer(async_mode="asgi", max_http_buffer_size=1_000_000)
application = socketio.ASGIApp(sio)
message_ids = itertools.count(1)


@sio.on("join_room")
async def join_room(sid, payload):
    payload = payload if isinstance(payload, dict) else {}
    async with sio.session(sid) as session:
        if "room" in session:
            await sio.leave_room(sid, session["room"])
        session["username"] = str(payload.get("username", ""))
        session["room"] = str(payload.get("room", ""))
        room = session["room"]
    await sio.enter_room(sid, room)
    await sio.emit("last_100_messages", "[]", to=sid)
    return {"ok": True, "room": room}


@sio.on("send_message")
async def send_message(sid, payload):
    session = await sio.get_session(sid)
    if "room" not in session:
        return None
    message_id = str(next(message_ids))
    message = {
        **(payload if isinstance(payload, dict) else {}),
        "room": session["room"],
        "username": session["username"],
        "id": message_id,
        "__createdtime__": int(time.time() * 1000),
    }
    await sio.emit("receive_message", message, room=session["room"])
    return {"ok": True, "id": message_id}
