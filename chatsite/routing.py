"""Channels WebSocket routes (the socket.io server is mounted separately in asgi.py)."""

websocket_urlpatterns: list = []
