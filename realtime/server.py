"""The Socket.IO server (Socket.IO 4 / Engine.IO 4 over ASGI); its handlers are in handlers.py."""

from __future__ import annotations

from django.conf import settings

from chatsite import origins
from realtime.engine import BoundedSocketServer, DirectEmitManager, JsonOnlyPacket
from realtime.json_codec import OrjsonCodec


def origin_allowed(origin: str | None, environ: dict) -> bool:
    """Engine.IO's origin check, as `chatsite.origins` decides it. Engine.IO's own
    `wsgi.url_scheme` only reflects X-Forwarded-Proto, so the ASGI scope is read for TLS
    served by Daphne itself."""
    scheme = origins.request_scheme(
        asgi_scheme=environ.get("asgi.scope", {}).get("scheme"),
        forwarded_proto=environ.get("HTTP_X_FORWARDED_PROTO"),
    )
    return origins.origin_allowed(origin, scheme=scheme, host=environ.get("HTTP_HOST", ""))


sio = BoundedSocketServer(
    async_mode="asgi",
    cors_allowed_origins=origin_allowed,
    # This process's connections only, also with REDIS_URL: room events reach the other
    # processes through the cluster's channel (chatsite/publish.py), which keeps each room's
    # messages in their stored order; python-socketio's Redis manager could not.
    client_manager=DirectEmitManager(),
    json=OrjsonCodec,
    serializer=JsonOnlyPacket,
    max_http_buffer_size=settings.CHAT_MAX_PAYLOAD_BYTES,
    send_queue_max_bytes=settings.CHAT_SEND_QUEUE_MAX_BYTES,
    polling_max_packets=settings.CHAT_POLLING_MAX_PACKETS,
)
