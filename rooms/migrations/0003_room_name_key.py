from django.db import migrations, models


def fill_name_keys(apps, schema_editor):
    Room = apps.get_model("rooms", "Room")
    for room in Room.objects.all():
        room.name_key = room.name.casefold()
        room.save(update_fields=["name_key"])


class Migration(migrations.Migration):
    dependencies = [("rooms", "0002_original_rooms")]

    operations = [
        migrations.AddField(
            model_name="room",
            name="name_key",
            field=models.CharField(editable=False, max_length=256, null=True),
        ),
        migrations.RunPython(fill_name_keys, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="room",
            name="name_key",
            field=models.CharField(editable=False, max_length=256, unique=True),
        ),
    ]
