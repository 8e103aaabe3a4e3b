from django.db import models


class Room(models.Model):
    name = models.CharField(max_length=64, unique=True)
    # The name case-folded (Unicode-aware, unlike SQLite's iexact): one room per name, any case.
    name_key = models.CharField(max_length=256, unique=True, editable=False)
    slug = models.SlugField(max_length=80, unique=True, allow_unicode=True)
    is_closed = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        self.name_key = room_name_key(self.name)
        super().save(*args, **kwargs)


def room_name_key(name: str) -> str:
    return name.casefold()
