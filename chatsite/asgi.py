"""ASGI entry point: Django first, then Channels' router, then Socket.IO in front of both;
the services publish through the Socket.IO server from here on."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")
django_asgi_app = get_asgi_application()

import socketio  # noqa: E402
from asgiref.sync import async_to_sync  # noqa: E402
from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

import realtime.handlers  # noqa: E402, F401  (registers the event handlers on sio)
from chatsite import metrics, publish  # noqa: E402
from chatsite.origins import SameOriginWebSocket  # noqa: E402
from chatsite.routing import websocket_urlpatterns  # noqa: E402
from realtime.connection_caps import connection_caps  # noqa: E402
from realtime.publisher import SocketIOPublisher  # noqa: E402
from realtime.server import sio  # noqa: E402
from realtime.transport_limits import TransportLimits  # noqa: E402
from rooms.presence import presence  # noqa: E402

publish.install(SocketIOPublisher(sio))
metrics.install(
    connections=lambda: connection_caps.open.total(),
    room_people=async_to_sync(presence.room_counts),
)

channels_application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": SameOriginWebSocket(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)

application = TransportLimits(socketio.ASGIApp(sio, other_asgi_app=channels_application))
