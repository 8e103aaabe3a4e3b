"""Room names are compared by their confusable skeleton (rooms.names.name_key), not only by
letter case: every room's key is computed anew.

Two rooms whose names now count as the same (`General` spelled with a Cyrillic e beside
`General`) cannot both keep a key: the older one does, and each younger one is closed with a
key of its own, so staff find it among the closed rooms in the admin and can rename it to
reopen it.
"""

from django.db import migrations, models

from rooms.names import name_key

# Never part of a real key: names have no control characters.
DUPLICATE_MARK = "\x1f"


def _assign_keys(apps, key_of) -> None:
    Room = apps.get_model("rooms", "Room")
    rooms = list(Room.objects.order_by("created_at", "id"))
    # Out of the way first, so that no new key meets an old one still in place.
    for room in rooms:
        room.name_key = f"{DUPLICATE_MARK}{room.pk}"
        room.save(update_fields=["name_key"])
    taken = set()
    for room in rooms:
        key = key_of(room.name)
        if key in taken:
            room.name_key = f"{key}{DUPLICATE_MARK}{room.pk}"
            room.is_closed = True
        else:
            room.name_key = key
            taken.add(key)
        room.save(update_fields=["name_key", "is_closed"])


def skeleton_keys(apps, schema_editor):
    _assign_keys(apps, name_key)


def casefold_keys(apps, schema_editor):
    _assign_keys(apps, str.casefold)


class Migration(migrations.Migration):
    dependencies = [("rooms", "0003_room_name_key")]

    operations = [
        migrations.AlterField(
            model_name="room",
            name="name_key",
            field=models.CharField(editable=False, max_length=512, unique=True),
        ),
        migrations.RunPython(skeleton_keys, casefold_keys),
    ]
