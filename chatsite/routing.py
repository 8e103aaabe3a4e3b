"""Channels WebSocket routes (the socket.io server is mounted separately in asgi.py)."""

from django.urls import path

from rooms.consumers import LiveRoomsConsumer

websocket_urlpatterns = [
    path("ws/admin/live-rooms/", LiveRoomsConsumer.as_asgi()),
]
