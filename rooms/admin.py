"""The Django admin for the people who run a DevRooms site: rooms, moderation, the live view.

The admin's views are synchronous; moderation reaches the Socket.IO server through
`async_to_sync`, which runs the services on the server's own event loop.
"""

import time

from asgiref.sync import async_to_sync
from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.html import format_html

from chatsite.errors import ChatError
from messaging.harperdb import HarperDBError
from messaging.selectors import message_list_recent, message_room_stats
from messaging.services import message_delete
from rooms import services
from rooms.live_feed import room_people
from rooms.models import Room
from rooms.presence import presence

MODERATION_HISTORY = 50
HARPERDB_DOWN = "HarperDB cannot be reached right now: {error}"


class AnnouncementForm(forms.Form):
    text = forms.CharField(label="Announcement", max_length=2000, widget=forms.Textarea)


class RemovalForm(forms.Form):
    username = forms.CharField(max_length=32)
    reason = forms.CharField(max_length=200, required=False)


class DeletionForm(forms.Form):
    message_id = forms.CharField(max_length=200)


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "is_closed", "people_now", "created_at", "moderate_link"]
    list_filter = ["is_closed"]
    search_fields = ["name"]
    fields = ["name", "slug", "is_closed", "created_at"]
    readonly_fields = ["created_at"]
    actions = ["close_rooms", "reopen_rooms"]

    @admin.display(description="people now")
    def people_now(self, room: Room) -> int:
        return presence.room_counts().get(room.name, 0)

    @admin.display(description="moderation")
    def moderate_link(self, room: Room) -> str:
        url = reverse("admin:rooms_room_moderate", args=[room.pk])
        return format_html('<a href="{}">Moderate</a>', url)

    def save_model(self, request, room: Room, form, change: bool) -> None:
        before = Room.objects.get(pk=room.pk) if change else None
        super().save_model(request, room, form, change)
        if before is None:
            return
        if before.name != room.name:
            moved = async_to_sync(services.room_renamed)(old_name=before.name, new_name=room.name)
            messages.info(request, f"{moved} messages moved to the new name.")
        if before.is_closed != room.is_closed:
            self._after_open_state_change(room)

    def _after_open_state_change(self, room: Room) -> None:
        if room.is_closed:
            async_to_sync(services.room_closed)(room=room.name)
        else:
            async_to_sync(services.room_reopened)(room=room.name)

    def _set_closed(self, request, queryset, closed: bool) -> None:
        for room in queryset.exclude(is_closed=closed):
            room.is_closed = closed
            room.save(update_fields=["is_closed"])
            self._after_open_state_change(room)
            self.log_change(request, room, "Closed the room." if closed else "Reopened the room.")

    @admin.action(description="Close the selected rooms (members are removed)")
    def close_rooms(self, request, queryset) -> None:
        self._set_closed(request, queryset, True)

    @admin.action(description="Reopen the selected rooms")
    def reopen_rooms(self, request, queryset) -> None:
        self._set_closed(request, queryset, False)

    def get_urls(self):
        moderate = self.admin_site.admin_view(self.moderate_view)
        return [
            path("<int:room_id>/moderate/", moderate, name="rooms_room_moderate"),
            *super().get_urls(),
        ]

    def moderate_view(self, request: HttpRequest, room_id: int) -> HttpResponse:
        """People and recent messages of one room, with announce, remove and delete."""
        room = get_object_or_404(Room, pk=room_id)
        if not self.has_change_permission(request, room):
            raise PermissionDenied
        if request.method == "POST":
            self._moderate(request, room)
            return redirect("admin:rooms_room_moderate", room_id=room.pk)
        try:
            recent = async_to_sync(message_list_recent)(room=room.name, limit=MODERATION_HISTORY)
        except ChatError as error:
            recent = []
            messages.error(request, error.message)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Moderate {room.name}",
            "room": room,
            "opts": self.model._meta,
            "people": room_people(room.name),
            "recent": [message.to_payload() for message in reversed(recent)],
            "announcement_form": AnnouncementForm(),
        }
        return render(request, "admin/rooms/room/moderate.html", context)

    def _moderate(self, request: HttpRequest, room: Room) -> None:
        action = request.POST.get("action")
        try:
            if action == "announce" and (form := AnnouncementForm(request.POST)).is_valid():
                text = form.cleaned_data["text"]
                async_to_sync(services.room_announce)(room=room.name, text=text)
                self._done(request, room, f"Announced in {room.name}: {text[:100]}")
            elif action == "remove" and (form := RemovalForm(request.POST)).is_valid():
                username = form.cleaned_data["username"]
                removed = async_to_sync(services.room_remove_person)(
                    room=room.name, username=username, reason=form.cleaned_data["reason"]
                )
                if removed:
                    self._done(request, room, f"Removed {username} from {room.name}.")
                else:
                    messages.warning(request, f"{username} is not in {room.name} any more.")
            elif action == "delete" and (form := DeletionForm(request.POST)).is_valid():
                message_id = form.cleaned_data["message_id"]
                if async_to_sync(message_delete)(room=room.name, message_id=message_id):
                    self._done(request, room, f"Deleted message {message_id} from {room.name}.")
                else:
                    messages.warning(request, "That message was already gone.")
            else:
                messages.error(request, "That moderation request was incomplete.")
        except (ChatError, HarperDBError) as error:
            messages.error(request, error.message)

    def _done(self, request: HttpRequest, room: Room, what: str) -> None:
        self.log_change(request, room, what)
        messages.success(request, what)


def live_rooms_view(request: HttpRequest) -> HttpResponse:
    """Every open room, who is in it now, and its message counts; updated live over Channels."""
    now_ms = int(time.time() * 1000)
    rows, harperdb_error = [], None
    for room in Room.objects.filter(is_closed=False):
        row = {"room": room, "people": room_people(room.name), "stats": None}
        if harperdb_error is None:
            try:
                row["stats"] = message_room_stats(room=room.name, now_ms=now_ms)
            except HarperDBError as error:
                harperdb_error = HARPERDB_DOWN.format(error=error.message)
        rows.append(row)
    if harperdb_error:
        messages.error(request, harperdb_error)
    context = {
        **admin.site.each_context(request),
        "title": "Live rooms",
        "rows": rows,
        "socket_path": "/ws/admin/live-rooms/",
    }
    return render(request, "admin/live_rooms.html", context)
