from django.core.exceptions import ValidationError
from django.db import models

from chatsite.errors import ChatError
from rooms.names import name_key as room_name_key
from rooms.names import room_name_clean

NAME_TAKEN = "Another room already has this name (or one that looks the same)."


class Room(models.Model):
    name = models.CharField(max_length=64, unique=True)
    # rooms.names.name_key of the name: one room per name, however it is cased or spelled
    # with look-alike characters. At most 7 characters per character of the name.
    name_key = models.CharField(max_length=512, unique=True, editable=False)
    slug = models.SlugField(max_length=80, unique=True, allow_unicode=True)
    is_closed = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]  # noqa: RUF012 (a list, as the migrations record it)

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        self.name_key = room_name_key(self.name)
        super().save(*args, **kwargs)

    def clean(self) -> None:
        """Spell the name as joining would; refuse one that differs from another room's only
        in letter case or look."""
        try:
            self.name = room_name_clean(self.name)
        except ChatError as error:
            raise ValidationError({"name": error.message}) from error
        clash = Room.objects.filter(name_key=room_name_key(self.name)).exclude(pk=self.pk)
        if self.name and clash.exists():
            raise ValidationError({"name": NAME_TAKEN})
