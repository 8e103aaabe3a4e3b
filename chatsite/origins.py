"""Which web pages may open our sockets: the site's own origin (the scheme, host and port the
browser connected to, for a host Django serves) or one listed in CHAT_ALLOWED_ORIGINS.

The Socket.IO server asks `origin_allowed` with what Engine.IO tells it about the request;
the Channels WebSockets go through `SameOriginWebSocket`.
"""

from __future__ import annotations

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host


def request_scheme(*, asgi_scheme: str | None, forwarded_proto: str | None) -> str:
    """http or https, as the browser connected: TLS served by Daphne itself (the ASGI
    scope's scheme), or by a trusted proxy that says so (SECURE_PROXY_SSL_HEADER)."""
    if settings.SECURE_PROXY_SSL_HEADER and forwarded_proto == "https":
        return "https"
    return "https" if asgi_scheme in ("https", "wss") else "http"


def origin_allowed(origin: str | None, *, scheme: str, host: str) -> bool:
    """`origin` is CHAT_ALLOWED_ORIGINS' or the site's own, `scheme://host` exactly."""
    if origin in settings.CHAT_ALLOWED_ORIGINS:
        return True
    domain, _port = split_domain_port(host)
    return origin == f"{scheme}://{host}" and validate_host(domain, settings.ALLOWED_HOSTS)


def _header(scope: dict, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin1")
    return None


class SameOriginWebSocket:
    """ASGI middleware: a WebSocket handshake from another origin is refused (403)."""

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        scheme = request_scheme(
            asgi_scheme=scope.get("scheme"),
            forwarded_proto=_header(scope, b"x-forwarded-proto"),
        )
        origin = _header(scope, b"origin")
        if origin_allowed(origin, scheme=scheme, host=_header(scope, b"host") or ""):
            return await self.application(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)
