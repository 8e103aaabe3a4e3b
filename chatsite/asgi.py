"""ASGI entry point: Django first, then Channels' router, then Socket.IO in front of both."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")
django_asgi_app = get_asgi_application()

import socketio  # noqa: E402
from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

import realtime.handlers  # noqa: E402, F401  (registers the event handlers on sio)
from chatsite.routing import websocket_urlpatterns  # noqa: E402
from realtime.server import sio  # noqa: E402

channels_application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)

application = socketio.ASGIApp(sio, other_asgi_app=channels_application)
