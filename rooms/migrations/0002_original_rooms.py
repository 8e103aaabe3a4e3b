"""The four rooms of the original app exist on every fresh install."""

from django.db import migrations

ORIGINAL_ROOMS = [
    ("JavaScript", "javascript"),
    ("Node", "node"),
    ("Express", "express"),
    ("React", "react"),
]


def create_original_rooms(apps, schema_editor):
    Room = apps.get_model("rooms", "Room")
    for name, slug in ORIGINAL_ROOMS:
        Room.objects.get_or_create(name=name, defaults={"slug": slug})


class Migration(migrations.Migration):
    dependencies = [("rooms", "0001_initial")]
    operations = [migrations.RunPython(create_original_rooms, migrations.RunPython.noop)]
