"""Channels WebSocket routes (the socket.io server is mounted separately in asgi.py)."""

from channels.security.websocket import WebsocketDenier
from django.urls import path, re_path

from rooms.consumers import LiveRoomsConsumer

websocket_urlpatterns = [
    path("ws/admin/live-rooms/", LiveRoomsConsumer.as_asgi()),
    # Any other path is refused at the handshake instead of failing with a server error.
    # Daphne answers a refused handshake with 403: it has no way to say 404.
    re_path(r"", WebsocketDenier.as_asgi()),
]
