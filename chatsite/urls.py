from django.contrib import admin
from django.urls import include, path

from rooms.admin import live_rooms_view

urlpatterns = [
    path("admin/live-rooms/", admin.site.admin_view(live_rooms_view), name="live-rooms"),
    path("admin/", admin.site.urls),
    path("", include("rooms.urls")),
]
