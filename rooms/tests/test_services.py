"""Usernames, room names, and finding or creating rooms."""

from contextlib import contextmanager
from types import SimpleNamespace

import pytest
from django.db import transaction
from django.utils.text import slugify

from chatsite.errors import ChatError
from rooms import services
from rooms.models import Room
from rooms.names import (
    INVALID_ROOM,
    ROOM_NAME_EMPTY,
    USERNAME_EMPTY,
    USERNAME_RESERVED,
    room_name_clean,
    username_clean,
)
from rooms.services import ROOM_CLOSED, ROOM_NOT_FOUND, room_get_or_create

CONTROL_CHARACTERS = ["\x00", "\n", "\t", "\x1b", "\u200b", "\u202e", "\u2028"]


def refused_code(function, *args, **kwargs) -> str:
    with pytest.raises(ChatError) as raised:
        function(*args, **kwargs)
    return raised.value.code


def test_a_username_is_trimmed():
    assert username_clean("  ana maría  ") == "ana maría"


@pytest.mark.parametrize("raw", ["a", "x" * 32, "日本語", 'O\'Brien "the" <b>', "  " + "y" * 32])
def test_a_username_of_1_to_32_characters_is_accepted(raw):
    assert username_clean(raw) == raw.strip()


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("", USERNAME_EMPTY),
        ("   ", USERNAME_EMPTY),
        ("x" * 33, "A username can be at most 32 characters long; this one has 33."),
        ("x" * 80, "A username can be at most 32 characters long; this one has 80."),
    ],
)
def test_an_empty_or_too_long_username_is_refused_saying_which(raw, why):
    with pytest.raises(ChatError) as raised:
        username_clean(raw)
    assert (raised.value.code, raised.value.message) == ("invalid_username", why)


@pytest.mark.parametrize("control", CONTROL_CHARACTERS)
def test_a_username_with_control_characters_is_refused(control):
    assert refused_code(username_clean, f"ana{control}bob") == "invalid_username"


@pytest.mark.parametrize("raw", ["ChatBot", "chatbot", "CHATBOT", " ChatBot "])
def test_chatbot_is_reserved_in_any_letter_case(raw):
    with pytest.raises(ChatError) as raised:
        username_clean(raw)
    assert (raised.value.code, raised.value.message) == ("invalid_username", USERNAME_RESERVED)


@pytest.mark.parametrize(
    "raw", ["r", "x" * 64, "日本語 チャット", 'it\'s "quoted"', "back\\slash", "x' OR '1'='1"]
)
def test_a_room_name_of_1_to_64_characters_of_any_kind_is_accepted(raw):
    assert room_name_clean(raw) == raw


def test_a_room_name_is_trimmed():
    assert room_name_clean("  React  ") == "React"


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("", ROOM_NAME_EMPTY),
        ("  ", ROOM_NAME_EMPTY),
        ("x" * 65, "A room name can be at most 64 characters long; this one has 65."),
        *((f"a{c}b", INVALID_ROOM) for c in CONTROL_CHARACTERS),
    ],
)
def test_an_empty_too_long_or_control_character_room_name_is_refused_saying_which(raw, why):
    with pytest.raises(ChatError) as raised:
        room_name_clean(raw)
    assert (raised.value.code, raised.value.message) == ("invalid_room", why)


@pytest.mark.django_db
def test_the_four_original_rooms_exist_after_migrate():
    assert {room.name for room in Room.objects.all()} >= {"JavaScript", "Node", "Express", "React"}


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["javascript", "JAVASCRIPT", "  JavaScript  "])
def test_an_existing_room_is_found_in_any_letter_case(name):
    rooms_before = Room.objects.count()
    assert room_get_or_create(name=name).name == "JavaScript"
    assert Room.objects.count() == rooms_before


@pytest.mark.django_db
def test_a_room_with_a_non_ascii_name_is_found_in_any_letter_case():
    created = room_get_or_create(name="Café")
    assert room_get_or_create(name="CAFÉ") == created


@pytest.mark.django_db
def test_an_unknown_room_is_created_with_a_slug():
    room = room_get_or_create(name="Django Channels")
    assert (room.name, room.slug, room.is_closed) == ("Django Channels", "django-channels", False)
    assert room_get_or_create(name="django channels") == room


@pytest.mark.django_db
def test_a_room_with_a_unicode_name_keeps_it_in_its_slug():
    room = room_get_or_create(name="日本語 チャット")
    assert room.name == "日本語 チャット"
    assert room.slug == "日本語-チャット"


@pytest.mark.django_db
def test_rooms_whose_names_have_no_slug_letters_still_get_unique_slugs():
    first, second = room_get_or_create(name="!!!"), room_get_or_create(name="???")
    assert first.slug
    assert second.slug
    assert first.slug != second.slug


@pytest.mark.django_db
def test_rooms_whose_names_make_the_same_slug_get_different_slugs():
    rooms = [room_get_or_create(name=name) for name in ["C++", "C#", "c!"]]
    assert len({room.slug for room in rooms}) == 3
    assert room_get_or_create(name="Node!").slug != Room.objects.get(name="Node").slug


@pytest.mark.django_db
def test_an_unknown_room_is_refused_when_room_creation_is_off(settings):
    settings.CHAT_ALLOW_ROOM_CREATION = False
    rooms_before = Room.objects.count()
    with pytest.raises(ChatError) as raised:
        room_get_or_create(name="Brand New")
    assert raised.value.code == "room_not_found"
    assert raised.value.message == ROOM_NOT_FOUND
    assert Room.objects.count() == rooms_before
    assert room_get_or_create(name="react").name == "React"


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["React", "react"])
def test_a_closed_room_cannot_be_joined(name):
    Room.objects.filter(name="React").update(is_closed=True)
    with pytest.raises(ChatError) as raised:
        room_get_or_create(name=name)
    assert raised.value.code == "room_closed"
    assert raised.value.message == ROOM_CLOSED


@pytest.mark.django_db
def test_an_invalid_room_name_creates_nothing():
    rooms_before = Room.objects.count()
    assert refused_code(room_get_or_create, name="a\nb") == "invalid_room"
    assert Room.objects.count() == rooms_before


def _someone_creates_it_at_the_same_moment(monkeypatch, name: str) -> None:
    """Another request commits room `name` between our lookup and our insert."""
    real_atomic = transaction.atomic

    @contextmanager
    def atomic_just_after_the_other_request():
        Room.objects.create(name=name, slug=slugify(name))
        with real_atomic():
            yield

    monkeypatch.setattr(
        services, "transaction", SimpleNamespace(atomic=atomic_just_after_the_other_request)
    )


@pytest.mark.django_db
def test_a_room_created_by_someone_else_at_the_same_moment_is_that_room(monkeypatch):
    _someone_creates_it_at_the_same_moment(monkeypatch, "Rust")
    assert room_get_or_create(name="Rust") == Room.objects.get(name="Rust")
    assert Room.objects.filter(name__iexact="rust").count() == 1


@pytest.mark.django_db
def test_a_room_created_by_someone_else_at_the_same_moment_in_other_letter_case_is_that_room(
    monkeypatch,
):
    _someone_creates_it_at_the_same_moment(monkeypatch, "Rust")
    assert room_get_or_create(name="rust") == Room.objects.get(name="Rust")
