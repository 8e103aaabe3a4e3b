from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from chatsite.errors import ChatError
from rooms.forms import JoinForm
from rooms.identity import SESSION_USERNAME_KEY, session_person_key
from rooms.models import Room
from rooms.selectors import room_list_open
from rooms.services import room_get_or_create


def _person_key(request: HttpRequest) -> str:
    if not request.session.session_key:
        request.session.save()
    return session_person_key(request.session.session_key)


def _join_url_for(room: Room) -> str:
    return f"{reverse('join')}?{urlencode({'room': room.slug})}"


def join_page(request: HttpRequest) -> HttpResponse:
    """Pick a username and a room; the username is kept in the session for next time."""
    if request.method == "POST":
        form = JoinForm(request.POST, person_key=_person_key(request))
        if form.is_valid():
            try:
                room = room_get_or_create(
                    name=form.cleaned_data["room_name"],
                    person_key=form.person_key,
                    address=request.META.get("REMOTE_ADDR"),
                )
            except ChatError as error:
                form.add_error(None, error.message)
            else:
                request.session[SESSION_USERNAME_KEY] = form.cleaned_data["username"]
                return redirect("chat", slug=room.slug)
    else:
        # Only a posted form is checked against the room, so showing one needs no person
        # key: a visit saves no session.
        form = JoinForm(
            person_key="",
            initial={
                "username": request.session.get(SESSION_USERNAME_KEY, ""),
                "room": request.GET.get("room", ""),
            },
        )
    return render(request, "rooms/join.html", {"form": form})


def chat_page(request: HttpRequest, slug: str) -> HttpResponse:
    """The room itself; without a username, the join page with this room chosen; a closed or
    unknown room is not found, on a page listing the open rooms."""
    room = Room.objects.filter(slug=slug, is_closed=False).first()
    if room is None:
        context = {"open_rooms": room_list_open()}
        return render(request, "404.html", context, status=404)
    username = request.session.get(SESSION_USERNAME_KEY)
    if not username:
        return redirect(_join_url_for(room))
    config = {
        "room": room.name,
        "username": username,
        "messageMaxLength": settings.CHAT_MESSAGE_MAX_LENGTH,
        "editSeconds": settings.CHAT_EDIT_SECONDS,
        "historyLimit": settings.CHAT_HISTORY_LIMIT,
        "rateLimit": settings.CHAT_RATE_LIMIT,
        "rateBurst": settings.CHAT_RATE_BURST,
        "joinUrl": reverse("join"),
        "changeNameUrl": _join_url_for(room),
    }
    return render(
        request, "rooms/chat.html", {"room": room, "username": username, "config": config}
    )
