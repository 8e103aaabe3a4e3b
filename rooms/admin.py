"""The Django admin for the people who run a DevRooms site: rooms, moderation, the live view.

The admin's views are synchronous; moderation reaches the Socket.IO server through
`async_to_sync`, which runs the services on the server's own event loop.
"""

import time
from datetime import UTC, datetime

from asgiref.sync import async_to_sync
from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.text import Truncator

from chatsite.errors import ChatError
from messaging.selectors import (
    ROOMS_PER_READ,
    message_find,
    message_list_recent,
    message_rooms_stats,
)
from messaging.services import message_delete
from rooms import services
from rooms.models import Room, RoomBan
from rooms.presence import presence
from rooms.selectors import room_people

MODERATION_HISTORY = 50
LIVE_ROOMS_PER_PAGE = ROOMS_PER_READ  # so that a page's figures are one HarperDB read
INCOMPLETE_REQUEST = "That moderation request was incomplete."


class ModerationForm(forms.Form):
    """A moderation action; `action` tells the moderate view which form was posted."""

    action = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["action"].initial = self.action_name


class AnnouncementForm(ModerationForm):
    action_name = "announce"
    text = forms.CharField(label="Announcement", max_length=2000, widget=forms.Textarea)


class RemovalForm(ModerationForm):
    action_name = "remove"
    username = forms.CharField(max_length=32, widget=forms.HiddenInput)
    reason = forms.CharField(max_length=200, required=False, label="Reason")
    for_good = forms.BooleanField(required=False, label="Ban for good")


class DeletionForm(ModerationForm):
    action_name = "delete"
    message_id = forms.CharField(max_length=200, widget=forms.HiddenInput)


MODERATION_FORMS = {
    form.action_name: form for form in (AnnouncementForm, RemovalForm, DeletionForm)
}


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):
    list_display = (
        "name_cell",
        "closed",
        "people_now",
        "created",
        "made_by_visitor",
        "moderate_link",
    )
    list_filter = ("is_closed",)
    search_fields = ("name",)
    fields = ("name", "slug", "is_closed", "created_at")
    readonly_fields = ("created_at",)
    actions = ("close_rooms", "reopen_rooms")

    class Media:
        css = {"all": ["devrooms/admin.css"]}  # noqa: RUF012 (Django's Media shape)

    @admin.display(description="name", ordering="name")
    def name_cell(self, room: Room) -> str:
        """The name, cut to the column's width by admin.css; all of it on hover."""
        return format_html('<span class="cut" title="{}">{}</span>', room.name, room.name)

    @admin.display(description="closed", boolean=True, ordering="is_closed")
    def closed(self, room: Room) -> bool:
        return room.is_closed

    @admin.display(description="people")
    def people_now(self, room: Room) -> int:
        """Replaced on each page by `get_list_display`'s, which reads presence once."""
        return async_to_sync(presence.room_counts)().get(room.name, 0)

    def get_list_display(self, request):
        """Who is in each listed room now: the counts are read once per page (a Redis read
        with several processes), not once per row."""
        if not hasattr(request, "room_people_counts"):  # Django asks more than once a page
            request.room_people_counts = async_to_sync(presence.room_counts)()
        counts = request.room_people_counts

        @admin.display(description="people")
        def people_now(room: Room) -> int:
            return counts.get(room.name, 0)

        return tuple(people_now if name == "people_now" else name for name in self.list_display)

    @admin.display(description="created", ordering="created_at")
    def created(self, room: Room) -> str:
        """The day (the time too, on hover): narrow enough to leave the name room."""
        when = timezone.localtime(room.created_at)
        full, day = date_format(when, "DATETIME_FORMAT"), date_format(when, "SHORT_DATE_FORMAT")
        return format_html('<span title="{}">{}</span>', full, day)

    @admin.display(description="by a visitor", boolean=True)
    def made_by_visitor(self, room: Room) -> bool:
        return room.created_by_visitor

    @admin.display(description="moderate")
    def moderate_link(self, room: Room) -> str:
        url = reverse("admin:rooms_room_moderate", args=[room.pk])
        return format_html('<a href="{}">Moderate</a>', url)

    def save_model(self, request, room: Room, form, change: bool) -> None:
        """A new room is a plain write; renaming, closing and reopening go through the
        services, which also tell the people in the room."""
        if not change:
            super().save_model(request, room, form, change)
            return
        before = Room.objects.get(pk=room.pk)
        new_name, closed = room.name, room.is_closed
        room.name, room.is_closed = before.name, before.is_closed
        super().save_model(request, room, form, change)
        if new_name != before.name:
            moved = services.room_rename(room_id=room.pk, new_name=new_name)
            messages.info(request, f"{moved} messages moved to the new name.")
        if closed != before.is_closed:
            self._set_closed_state(room, closed)
        room.refresh_from_db()

    def _set_closed_state(self, room: Room, closed: bool) -> None:
        service = services.room_close if closed else services.room_reopen
        service(room_id=room.pk)

    def _set_closed(self, request, queryset, closed: bool) -> None:
        changed = list(queryset.exclude(is_closed=closed))
        for room in changed:
            self._set_closed_state(room, closed)
            self.log_change(request, room, "Closed the room." if closed else "Reopened the room.")
        rooms = f"{len(changed)} room{'' if len(changed) == 1 else 's'}"
        if not changed:
            state = "closed" if closed else "open"
            messages.info(request, f"The selected rooms were already {state}.")
        elif closed:
            messages.success(request, f"Closed {rooms}; everyone in them was removed.")
        else:
            messages.success(request, f"Reopened {rooms}.")

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
        people = async_to_sync(room_people)(room=room.name)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Moderate {room.name}",
            "room": room,
            "opts": self.model._meta,
            "people": [
                (person, RemovalForm(initial={"username": person["username"]}, auto_id=f"p{n}-%s"))
                for n, person in enumerate(people)
            ],
            "recent": [
                (
                    message,
                    datetime.fromtimestamp(message.created_ms / 1000, tz=UTC),
                    DeletionForm(initial={"message_id": message.id}, auto_id=False),
                )
                for message in reversed(recent)
            ],
            "announcement_form": AnnouncementForm(),
        }
        return render(request, "admin/rooms/room/moderate.html", context)

    def _moderate(self, request: HttpRequest, room: Room) -> None:
        form_class = MODERATION_FORMS.get(request.POST.get("action", ""))
        form = form_class(request.POST) if form_class else None
        if form is None or not form.is_valid():
            messages.error(request, INCOMPLETE_REQUEST)
            return
        try:
            getattr(self, f"_moderate_{form.action_name}")(request, room, form.cleaned_data)
        except ChatError as error:
            messages.error(request, error.message)

    def _moderate_announce(self, request: HttpRequest, room: Room, data: dict) -> None:
        async_to_sync(services.room_announce)(room=room.name, text=data["text"])
        self._done(request, room, f"Announced in {room.name}: {data['text'][:100]}")

    def _moderate_remove(self, request: HttpRequest, room: Room, data: dict) -> None:
        username = data["username"]
        removed = async_to_sync(services.room_remove_person)(
            room=room.name,
            username=username,
            reason=data["reason"],
            for_good=data["for_good"],
            moderator_id=request.user.pk,
        )
        if removed and data["for_good"]:
            self._done(
                request, room, f"Removed {username} from {room.name} and banned them for good."
            )
        elif removed:
            self._done(request, room, f"Removed {username} from {room.name}.")
        else:
            messages.warning(request, f"{username} is not in {room.name} any more.")

    def _moderate_delete(self, request: HttpRequest, room: Room, data: dict) -> None:
        message_id = data["message_id"]
        found = async_to_sync(message_find)(room=room.name, message_id=message_id)
        if found and async_to_sync(message_delete)(room=room.name, message_id=message_id):
            excerpt = Truncator(found.message).chars(80)
            what = f"Deleted {found.username}'s message “{excerpt}” from {room.name}"
            self.log_change(request, room, f"{what} (id {message_id}).")
            messages.success(request, f"{what}.")
        else:
            messages.warning(request, "That message was already gone.")

    def _done(self, request: HttpRequest, room: Room, what: str) -> None:
        self.log_change(request, room, what)
        messages.success(request, what)


class InForceFilter(admin.SimpleListFilter):
    title = "in force"
    parameter_name = "in_force"

    def lookups(self, request, model_admin):
        return (("yes", "In force"), ("no", "Over or lifted"))

    def queryset(self, request, queryset):
        in_force = Q(until__isnull=True) | Q(until__gt=timezone.now())
        if self.value() == "yes":
            return queryset.filter(in_force)
        if self.value() == "no":
            return queryset.exclude(in_force)
        return queryset


@admin.register(RoomBan)
class RoomBanAdmin(admin.ModelAdmin):
    """Removals and bans, made from a room's Moderate page; staff list and lift them here."""

    list_display = ("username", "room", "kept_out_until", "in_force", "reason", "created_by")
    list_filter = (InForceFilter, "room")
    search_fields = ("username", "room__name")
    readonly_fields = ("room", "username", "person_key", "created_by", "created_at")
    fields = ("room", "username", "until", "reason", "person_key", "created_by", "created_at")
    actions = ("lift",)

    def has_add_permission(self, request) -> bool:
        return False

    @admin.display(description="until")
    def kept_out_until(self, ban: RoomBan) -> str:
        return "for good" if ban.for_good else date_format(ban.until, "DATETIME_FORMAT")

    @admin.display(description="in force", boolean=True)
    def in_force(self, ban: RoomBan) -> bool:
        return ban.for_good or ban.until > timezone.now()

    @admin.action(description="Lift the selected removals and bans")
    def lift(self, request, queryset) -> None:
        now = timezone.now()
        for ban in queryset.filter(Q(until__isnull=True) | Q(until__gt=now)):
            ban.until = now
            ban.save(update_fields=["until"])
            self.log_change(request, ban, f"Lifted: {ban.username} may join {ban.room} again.")


def live_rooms_view(request: HttpRequest) -> HttpResponse:
    """Open rooms, LIVE_ROOMS_PER_PAGE at a time: who is in each now, and its message counts,
    from one HarperDB read per page; updated live over Channels."""
    page = Paginator(Room.objects.filter(is_closed=False), LIVE_ROOMS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    now_ms = int(time.time() * 1000)
    try:
        stats = async_to_sync(message_rooms_stats)(
            rooms=[room.name for room in page], now_ms=now_ms
        )
    except ChatError as error:
        stats = {}
        messages.error(request, error.message)
    rows = [
        {
            "room": room,
            "people": async_to_sync(room_people)(room=room.name),
            "stats": stats.get(room.name),
        }
        for room in page
    ]
    context = {
        **admin.site.each_context(request),
        "title": "Live rooms",
        "rows": rows,
        "page": page,
        "socket_path": "/ws/admin/live-rooms/",
    }
    return render(request, "admin/live_rooms.html", context)
