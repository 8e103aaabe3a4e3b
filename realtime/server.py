"""The Socket.IO server (Socket.IO 4 / Engine.IO 4 over ASGI); its handlers are in handlers.py."""

from __future__ import annotations

import socketio
from django.conf import settings
from django.http.request import split_domain_port, validate_host


def origin_allowed(origin: str | None, environ: dict) -> bool:
    """The site's own origin (a host Django serves), or one listed in CHAT_ALLOWED_ORIGINS."""
    if origin in settings.CHAT_ALLOWED_ORIGINS:
        return True
    host = environ.get("HTTP_HOST", "")
    scheme = environ.get("wsgi.url_scheme", "http")
    if settings.SECURE_PROXY_SSL_HEADER and environ.get("HTTP_X_FORWARDED_PROTO") == "https":
        scheme = "https"
    domain, _port = split_domain_port(host)
    return origin == f"{scheme}://{host}" and validate_host(domain, settings.ALLOWED_HOSTS)


def _client_manager() -> socketio.AsyncManager | None:
    if settings.REDIS_URL:
        return socketio.AsyncRedisManager(settings.REDIS_URL)
    return None


sio = socketio.AsyncServer(
    async_mode="asgi",
    cors_allowed_origins=origin_allowed,
    client_manager=_client_manager(),
    max_http_buffer_size=1_000_000,
)
