"""The Socket.IO server (Socket.IO 4 / Engine.IO 4 over ASGI); its handlers are in handlers.py."""

from __future__ import annotations

import socketio
from django.conf import settings
from django.http.request import split_domain_port, validate_host

from realtime.engine import BoundedSocketServer


def _request_scheme(environ: dict) -> str:
    """http or https, as the browser connected. Engine.IO's own `wsgi.url_scheme` only
    reflects X-Forwarded-Proto, so the ASGI scope is read for TLS served by Daphne itself."""
    if settings.SECURE_PROXY_SSL_HEADER and environ.get("HTTP_X_FORWARDED_PROTO") == "https":
        return "https"
    scope_scheme = environ.get("asgi.scope", {}).get("scheme", "http")
    return "https" if scope_scheme in ("https", "wss") else "http"


def origin_allowed(origin: str | None, environ: dict) -> bool:
    """The site's own origin (a host Django serves), or one listed in CHAT_ALLOWED_ORIGINS."""
    if origin in settings.CHAT_ALLOWED_ORIGINS:
        return True
    host = environ.get("HTTP_HOST", "")
    scheme = _request_scheme(environ)
    domain, _port = split_domain_port(host)
    return origin == f"{scheme}://{host}" and validate_host(domain, settings.ALLOWED_HOSTS)


def _client_manager() -> socketio.AsyncManager | None:
    if settings.REDIS_URL:
        return socketio.AsyncRedisManager(settings.REDIS_URL)
    return None


sio = BoundedSocketServer(
    async_mode="asgi",
    cors_allowed_origins=origin_allowed,
    client_manager=_client_manager(),
    max_http_buffer_size=settings.CHAT_MAX_PAYLOAD_BYTES,
    send_queue_max_bytes=settings.CHAT_SEND_QUEUE_MAX_BYTES,
    polling_max_packets=settings.CHAT_POLLING_MAX_PACKETS,

)
