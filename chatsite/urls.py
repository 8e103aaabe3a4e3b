from functools import partial

from django.contrib import admin
from django.urls import include, path

from chatsite.health import CHECK_TIMEOUT_SECONDS
from chatsite.views import HealthView, metrics
from messaging.selectors import message_store_ping
from rooms.admin import live_rooms_view

harperdb_ping = partial(message_store_ping, seconds=CHECK_TIMEOUT_SECONDS)


urlpatterns = [
    path("healthz", HealthView.as_view(message_store_ping=harperdb_ping), name="healthz"),
    path("metrics", metrics, name="metrics"),
    path("admin/live-rooms/", admin.site.admin_view(live_rooms_view), name="live-rooms"),
    path("admin/", admin.site.urls),
    path("", include("rooms.urls")),
]
