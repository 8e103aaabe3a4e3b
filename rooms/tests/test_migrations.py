"""Migrations that rewrite rooms keep every room, and settle rooms whose names now clash."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE_SKELETON_KEYS = [("rooms", "0003_room_name_key")]
SKELETON_KEYS = [("rooms", "0004_room_name_key_skeleton")]


def migrate(targets):
    """The app registry as of `targets`, after migrating the test database there."""
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def at_0003():
    apps = migrate(BEFORE_SKELETON_KEYS)
    yield apps
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes("rooms"))


@pytest.mark.django_db(transaction=True)
def test_rooms_whose_names_now_look_the_same_keep_the_older_one_open(at_0003):
    Room = at_0003.get_model("rooms", "Room")
    for name in ["General", "G\u0435neral", "Caf\u00e9", "Cafe\u0301"]:  # Cyrillic e; é twice
        Room.objects.create(name=name, slug=f"room-{len(name)}-{ord(name[1])}", name_key=name)
    Room = migrate(SKELETON_KEYS).get_model("rooms", "Room")
    open_names = set(Room.objects.filter(is_closed=False).values_list("name", flat=True))
    assert {"General", "Caf\u00e9"} <= open_names
    assert not open_names & {"G\u0435neral", "Cafe\u0301"}
    assert Room.objects.filter(is_closed=True).count() == 2
    assert Room.objects.get(name="General").name_key == "general"
