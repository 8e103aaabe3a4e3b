"""Creating rooms stays cheap and bounded: slugs in a fixed number of queries, a limit per
person and per address, and rooms nobody uses are closed."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from chatsite.errors import ChatError, ErrorCode
from messaging.tests.factories import make_messages
from rooms.models import Room
from rooms.services import ROOM_CREATION_LIMITED, room_get_or_create

pytestmark = pytest.mark.django_db

ADDRESS = "203.0.113.7"


def queries_to_create(name: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        room_get_or_create(name=name, person_key="session:ana", address=ADDRESS)
    return len(captured)


def test_a_slug_takes_the_same_few_queries_however_many_rooms_share_it(
    settings, django_assert_max_num_queries
):
    settings.CHAT_ROOM_CREATE_PER_HOUR = 0
    first = queries_to_create("!")
    for length in range(2, 60):
        room_get_or_create(name="!" * length)  # every one of them slugs to `room`
    assert queries_to_create("?") == first  # `room` is taken: a random suffix, no search
    with django_assert_max_num_queries(first):
        room_get_or_create(name="??", person_key="session:ana", address=ADDRESS)
    assert Room.objects.filter(slug__startswith="room").count() == 61


def create(name: str, *, person: str = "session:ana", address: str | None = ADDRESS) -> Room:
    return room_get_or_create(name=name, person_key=person, address=address)


def refused_creation(name: str, **who) -> ChatError:
    with pytest.raises(ChatError) as raised:
        create(name, **who)
    return raised.value


@pytest.fixture
def limit_of_3(settings):
    settings.CHAT_ROOM_CREATE_PER_HOUR = 3
    for number in range(3):
        create(f"Ana's room {number}")


@pytest.mark.usefixtures("limit_of_3")
def test_a_person_past_the_hourly_limit_is_refused_a_new_room_but_may_join_existing_ones():
    refused = refused_creation("One too many")
    assert refused.code == ErrorCode.RATE_LIMITED
    assert refused.message == ROOM_CREATION_LIMITED.format(limit=3)
    assert not Room.objects.filter(name="One too many").exists()
    assert create("React").name == "React"
    assert create("ana's ROOM 0").name == "Ana's room 0"


@pytest.mark.usefixtures("limit_of_3")
def test_the_limit_holds_for_the_address_across_people_and_for_the_person_across_addresses():
    assert refused_creation("Bob's", person="session:bob").code == ErrorCode.RATE_LIMITED
    assert refused_creation("Ana's", address="198.51.100.1").code == ErrorCode.RATE_LIMITED
    assert create("Cem's", person="session:cem", address="198.51.100.2").name == "Cem's"


@pytest.mark.usefixtures("limit_of_3")
def test_rooms_made_over_an_hour_ago_no_longer_count():
    Room.objects.exclude(creator_key="").update(created_at=timezone.now() - timedelta(hours=1))
    assert create("Next hour").creator_key == "session:ana"


@pytest.mark.usefixtures("limit_of_3")
def test_staff_rooms_are_not_limited():
    assert room_get_or_create(name="Made by staff").creator_key == ""


def test_a_room_made_through_the_join_form_records_its_maker(client, settings):
    settings.CHAT_ROOM_CREATE_PER_HOUR = 1
    data = {"username": "Ana", "room": "", "new_room": "Rust"}
    assert client.post(reverse("join"), data).status_code == 302
    rust = Room.objects.get(name="Rust")
    assert (rust.created_by_visitor, rust.creator_address) == (True, "127.0.0.1")
    response = client.post(reverse("join"), {**data, "new_room": "Go"})
    assert response.context["form"].non_field_errors() == [ROOM_CREATION_LIMITED.format(limit=1)]


def test_an_address_that_is_not_an_ip_address_is_not_kept():
    assert create("Unix socket", address="unix:/run/devrooms.sock").creator_address is None


# --- Closing rooms nobody uses -------------------------------------------------------------


def made(name: str, *, days_ago: int, by_visitor: bool = True, joined_days_ago=None) -> Room:
    room = create(name) if by_visitor else room_get_or_create(name=name)
    now = timezone.now()
    joined = None if joined_days_ago is None else now - timedelta(days=joined_days_ago)
    Room.objects.filter(pk=room.pk).update(
        created_at=now - timedelta(days=days_ago), last_joined_at=joined
    )
    return room


def close_idle(*arguments: str) -> str:
    output = StringIO()
    call_command("rooms_close_idle", *arguments, stdout=output)
    return output.getvalue()


@pytest.mark.django_db(transaction=True)  # closing tells the room's people from another thread
def test_idle_rooms_made_by_visitors_are_closed_and_used_ones_stay_open(settings, memory_store):
    settings.CHAT_ROOM_IDLE_DAYS = 7
    settings.CHAT_ROOM_CREATE_PER_HOUR = 0
    idle = made("Forgotten", days_ago=30)
    joined_long_ago = made("Joined long ago", days_ago=30, joined_days_ago=20)
    made("New", days_ago=2)
    made("Joined lately", days_ago=30, joined_days_ago=1)
    made("Staff's", days_ago=30, by_visitor=False)
    talked_in = made("Talked in", days_ago=30)
    memory_store.insert(make_messages("Talked in", 1))
    report = close_idle()
    assert set(Room.objects.filter(is_closed=True).values_list("pk", flat=True)) == {
        idle.pk,
        joined_long_ago.pk,
    }
    assert "Closed: Forgotten" in report
    assert not Room.objects.get(pk=talked_in.pk).is_closed


@pytest.mark.django_db(transaction=True)
def test_a_dry_run_closes_nothing(settings, memory_store):
    settings.CHAT_ROOM_CREATE_PER_HOUR = 0
    made("Forgotten", days_ago=30)
    assert "Idle: Forgotten" in close_idle("--dry-run", "--days", "7")
    assert not Room.objects.filter(is_closed=True).exists()
