"""The Socket.IO server (Engine.IO 4 / Socket.IO 4 on ASGI) and its event handlers."""

import socketio

sio = socketio.AsyncServer(async_mode="asgi")
