from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from chatsite.errors import ChatError
from rooms.names import look_key, name_key, room_name_clean

NAME_TAKEN = "Another room already has this name (or one that looks the same)."


class Room(models.Model):
    name = models.CharField(max_length=64, unique=True)
    # rooms.names.name_key of the name: one room per name, however it is cased or spelled
    # with look-alike characters. At most 7 characters per character of the name.
    name_key = models.CharField(max_length=512, unique=True, editable=False)
    slug = models.SlugField(max_length=80, unique=True, allow_unicode=True)
    is_closed = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    # Who made it, when a visitor did (by joining a room that did not exist): for the limit on
    # room creation, and for closing such rooms when nobody uses them. Empty for rooms made
    # by staff or a migration.
    creator_key = models.CharField(max_length=128, blank=True, editable=False)
    creator_address = models.GenericIPAddressField(null=True, blank=True, editable=False)
    # Refreshed by joins at most hourly (rooms.services); empty until someone joins.
    last_joined_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["created_at", "id"]  # noqa: RUF012 (a list, as the migrations record it)
        indexes = [  # noqa: RUF012
            models.Index(fields=["creator_key", "created_at"], name="room_creator_key_idx"),
            models.Index(fields=["creator_address", "created_at"], name="room_creator_address_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        self.name_key = name_key(self.name)
        super().save(*args, **kwargs)

    @property
    def created_by_visitor(self) -> bool:
        return bool(self.creator_key)

    def clean(self) -> None:
        """Spell the name as joining would; refuse one that differs from another room's only
        in letter case or look."""
        try:
            self.name = room_name_clean(self.name)
        except ChatError as error:
            raise ValidationError({"name": error.message}) from error
        clash = Room.objects.filter(name_key=name_key(self.name)).exclude(pk=self.pk)
        if self.name and clash.exists():
            raise ValidationError({"name": NAME_TAKEN})


class RoomBan(models.Model):
    """A person kept out of a room by a moderator: for a while after a removal, or for good.

    It holds the person (their session's person key) and their name, in any spelling that
    counts as the same name (rooms.names)."""

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="bans")
    username = models.CharField(max_length=64)
    username_key = models.CharField(max_length=512, db_index=True, editable=False)
    username_look_key = models.CharField(max_length=512, db_index=True, editable=False)
    # Empty for a person without a session: their name alone is held.
    person_key = models.CharField(max_length=128, blank=True, db_index=True)
    until = models.DateTimeField(null=True, blank=True, help_text="Empty: for good.")
    reason = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]  # noqa: RUF012 (a list, as the migrations record it)

    def __str__(self) -> str:
        return f"{self.username} in {self.room}"

    def save(self, *args, **kwargs) -> None:
        self.username_key = name_key(self.username)
        self.username_look_key = look_key(self.username)
        super().save(*args, **kwargs)

    @property
    def for_good(self) -> bool:
        return self.until is None
