from asgiref.sync import async_to_sync
from django import forms
from django.conf import settings

from chatsite.errors import ChatError
from rooms.models import Room
from rooms.names import USERNAME_EMPTY, room_name_clean, username_clean
from rooms.presence import presence
from rooms.selectors import RoomListing, room_list_open
from rooms.services import room_check_joinable, room_ensure_admitted

USERNAME_TAKEN_HERE = "Somebody in that room already uses this name; pick another."
CHOOSE_A_ROOM = "Choose a room, or name a new one."
CHOOSE_AN_OPEN_ROOM = "Choose one of the rooms."


def room_choice_label(listing: RoomListing) -> str:
    """`JavaScript · 3 online`: what the room select shows for each room."""
    return f"{listing.room.name} · {listing.people} online"


class JoinForm(forms.Form):
    # No max_length on the names: the browser would cut a long one silently (its maxlength);
    # rooms.names says what the limit is instead.
    username = forms.CharField(
        label="Username",
        strip=True,
        error_messages={"required": USERNAME_EMPTY},
        widget=forms.TextInput(attrs={"autocomplete": "nickname", "autocapitalize": "none"}),
    )
    room = forms.ChoiceField(label="Room", required=False)
    new_room = forms.CharField(
        label="Or create a new room",
        required=False,
        help_text="Leave empty to join the room chosen above.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    def __init__(self, *args, person_key: str, **kwargs):
        super().__init__(*args, label_suffix="", **kwargs)
        self.person_key = person_key
        self.fields["room"].choices = [("", "Choose a room")] + [
            (listing.room.slug, room_choice_label(listing)) for listing in room_list_open()
        ]
        if not settings.CHAT_ALLOW_ROOM_CREATION:
            del self.fields["new_room"]

    def clean_username(self) -> str:
        try:
            return username_clean(self.cleaned_data["username"])
        except ChatError as error:
            raise forms.ValidationError(error.message, code=error.code) from error

    def clean(self):
        """Check the room and the name in it; the room is made by the view, never here.

        `room_name` is the room to join (it may not exist yet); `room` is the existing one."""
        cleaned = super().clean()
        new_room = cleaned.get("new_room", "").strip()
        existing = None
        try:
            if new_room:
                cleaned["room_name"] = room_name_clean(new_room)
                existing = room_check_joinable(name=new_room)
            elif cleaned.get("room"):
                existing = Room.objects.filter(slug=cleaned["room"], is_closed=False).first()
                cleaned["room_name"] = existing.name if existing else None
        except ChatError as error:
            self.add_error("new_room" if new_room else "room", error.message)
            return cleaned
        if not cleaned.get("room_name"):
            creation = "new_room" in self.fields
            self.add_error("room", CHOOSE_A_ROOM if creation else CHOOSE_AN_OPEN_ROOM)
            return cleaned
        if existing is not None and (username := cleaned.get("username")):
            try:
                room_ensure_admitted(room=existing, username=username, person_key=self.person_key)
            except ChatError as error:
                self.add_error(None, error.message)
                return cleaned
            try:
                async_to_sync(presence.ensure_available)(
                    room=existing.name, username=username, person_key=self.person_key
                )
            except ChatError:
                self.add_error("username", USERNAME_TAKEN_HERE)
        return cleaned
