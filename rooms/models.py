from django.core.exceptions import ValidationError
from django.db import models

NAME_TAKEN = "Another room already has this name (letter case aside)."


class Room(models.Model):
    name = models.CharField(max_length=64, unique=True)
    # The name case-folded (Unicode-aware, unlike SQLite's iexact): one room per name, any case.
    name_key = models.CharField(max_length=256, unique=True, editable=False)
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
        """Refuse a name that differs from another room's only in letter case."""
        clash = Room.objects.filter(name_key=room_name_key(self.name)).exclude(pk=self.pk)
        if self.name and clash.exists():
            raise ValidationError({"name": NAME_TAKEN})


def room_name_key(name: str) -> str:
    return name.casefold()
