"""What staff see in the admin: the index, the Rooms list and its actions, the Moderate page.
In-memory transport and store."""

from datetime import UTC, datetime

import pytest
from asgiref.sync import sync_to_async
from django.contrib.messages import get_messages
from django.urls import reverse

from messaging.tests.factories import make_message
from rooms import services
from rooms.models import Room

pytestmark = [
    pytest.mark.django_db(transaction=True),  # the services reach the ORM from other threads
    pytest.mark.usefixtures("fresh_presence", "published"),
]

LONG_NAME = "A room with a name long enough to push every other column off sixty4"


def told(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_the_admin_index_links_to_the_live_rooms_page(admin_client):
    page = admin_client.get(reverse("admin:index")).content.decode()
    assert f'<a href="{reverse("live-rooms")}">Live rooms</a>' in page
    assert 'href="/admin/rooms/room/"' in page  # the apps are still listed


def test_the_rooms_list_cuts_a_long_name_and_shows_all_of_it_on_hover(admin_client):
    Room.objects.create(name=LONG_NAME, slug="long")
    page = admin_client.get(reverse("admin:rooms_room_changelist")).content.decode()
    assert f'<span class="cut" title="{LONG_NAME}">{LONG_NAME}</span>' in page
    assert "devrooms/admin.css" in page


def test_the_rooms_list_counts_who_is_in_each_room_reading_presence_once(admin_client, monkeypatch):
    from asgiref.sync import async_to_sync

    from rooms.presence import presence

    Room.objects.create(name="Full", slug="full")
    Room.objects.create(name="Empty", slug="empty")
    for name in ("Ana", "Bob"):
        async_to_sync(presence.join)(
            room="Full", username=name, person_key=f"session:{name}", connection=name
        )
    reads = []
    counts = presence.room_counts

    async def counted() -> dict[str, int]:
        reads.append(1)
        return await counts()

    monkeypatch.setattr(presence, "room_counts", counted)
    page = admin_client.get(reverse("admin:rooms_room_changelist")).content.decode()
    assert '<td class="field-people_now">2</td>' in page
    assert '<td class="field-people_now">0</td>' in page
    assert len(reads) == 1


def close_or_reopen(admin_client, action: str, rooms: list[Room]):
    selected = [str(room.pk) for room in rooms]
    changelist = reverse("admin:rooms_room_changelist")
    data = {"action": action, "_selected_action": selected}
    response = admin_client.post(changelist, data, follow=True)
    return [str(message) for message in response.context["messages"]]


def test_closing_rooms_says_how_many_were_closed(admin_client):
    rooms = [Room.objects.create(name=name, slug=name) for name in ("a", "b", "c")]
    Room.objects.filter(name="c").update(is_closed=True)
    said = close_or_reopen(admin_client, "close_rooms", rooms)
    assert said == ["Closed 2 rooms; everyone in them was removed."]
    assert close_or_reopen(admin_client, "reopen_rooms", rooms[:1]) == ["Reopened 1 room."]
    again = close_or_reopen(admin_client, "reopen_rooms", rooms[:1])
    assert again == ["The selected rooms were already open."]


@pytest.fixture
def react(memory_store) -> Room:
    room = Room.objects.create(name="React", slug="react")
    memory_store.insert([make_message("React", "Buy cheap watches " * 10, username="Spammer")])
    return room


@sync_to_async
def moderate_page(admin_client, room: Room) -> str:
    return admin_client.get(reverse("admin:rooms_room_moderate", args=[room.pk])).content.decode()


async def test_the_moderate_page_asks_before_delete_and_remove_and_shows_when_each_was_sent(
    admin_client, react, memory_store
):
    await services.room_join(
        connection="c-bob", person_key="session:bob", username="Bob", room_name="React"
    )
    page = await moderate_page(admin_client, react)
    assert 'data-confirm="Remove Bob from React?"' in page
    assert 'data-confirm="Delete this message by Spammer?"' in page
    assert "devrooms/moderate.js" in page
    [message] = memory_store.latest(room="React", limit=1)
    sent = datetime.fromtimestamp(message.created_ms / 1000, tz=UTC)
    assert f'<time datetime="{sent.isoformat()}">' in page


async def test_a_deletion_names_the_author_and_quotes_the_message_instead_of_its_id(
    admin_client, react, memory_store
):
    [message] = memory_store.latest(room="React", limit=1)
    moderate = reverse("admin:rooms_room_moderate", args=[react.pk])
    data = {"action": "delete", "message_id": message.id}
    response = await sync_to_async(admin_client.post)(moderate, data)
    [said] = told(response)
    assert said.startswith("Deleted Spammer's message “Buy cheap watches Buy cheap")
    assert said.endswith("…” from React.")
    assert message.id not in said
    assert memory_store.latest(room="React", limit=1) == []
