"""Rooms as the admin edits them."""

import pytest
from django.core.exceptions import ValidationError

from rooms.models import NAME_TAKEN, Room


@pytest.mark.django_db
def test_a_room_cannot_be_renamed_to_another_rooms_name_in_other_letter_case():
    room = Room.objects.create(name="Rust", slug="rust")
    room.name = "react"
    with pytest.raises(ValidationError) as refused:
        room.full_clean()
    assert refused.value.message_dict["name"] == [NAME_TAKEN]


@pytest.mark.django_db
def test_a_room_may_change_the_letter_case_of_its_own_name():
    room = Room.objects.create(name="Rust", slug="rust")
    room.name = "RUST"
    room.full_clean()
    room.save()
    assert Room.objects.get(pk=room.pk).name_key == "rust"
