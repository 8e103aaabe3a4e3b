from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from rooms.forms import JoinForm
from rooms.identity import SESSION_USERNAME_KEY, session_person_key
from rooms.models import Room
from rooms.selectors import room_list_open


def _person_key(request: HttpRequest) -> str:
    if not request.session.session_key:
        request.session.save()
    return session_person_key(request.session.session_key)


def join_page(request: HttpRequest) -> HttpResponse:
    """Pick a username and a room; the username is kept in the session for next time."""
    if request.method == "POST":
        form = JoinForm(request.POST, person_key=_person_key(request))
        if form.is_valid():
            request.session[SESSION_USERNAME_KEY] = form.cleaned_data["username"]
            return redirect("chat", slug=form.cleaned_data["chosen_room"].slug)
    else:
        form = JoinForm(
            person_key=_person_key(request),
            initial={
                "username": request.session.get(SESSION_USERNAME_KEY, ""),
                "room": request.GET.get("room", ""),
            },
        )
    return render(request, "rooms/join.html", {"form": form, "rooms": room_list_open()})


def chat_page(request: HttpRequest, slug: str) -> HttpResponse:
    room = get_object_or_404(Room, slug=slug, is_closed=False)
    username = request.session.get(SESSION_USERNAME_KEY)
    if not username:
        return redirect(f"{reverse('join')}?room={room.slug}")
    config = {
        "room": room.name,
        "username": username,
        "messageMaxLength": settings.CHAT_MESSAGE_MAX_LENGTH,
        "joinUrl": reverse("join"),
    }
    return render(
        request, "rooms/chat.html", {"room": room, "username": username, "config": config}
    )
