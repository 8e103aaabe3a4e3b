"""Removal that sticks: a removed person (session and name) stays out for a while, a banned
one for good, until staff lift it. In-memory transport and store."""

from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.urls import reverse
from django.utils import timezone

from chatsite.errors import ChatError, ErrorCode
from rooms import services
from rooms.admission import BANNED_FOR_GOOD
from rooms.models import Room, RoomBan

pytestmark = [
    pytest.mark.django_db(transaction=True),  # the services reach the ORM from other threads
    pytest.mark.usefixtures("fresh_presence", "published", "memory_store"),
]


async def join(username: str, *, person: str, connection: str = "", room: str = "React"):
    return await services.room_join(
        connection=connection or f"c-{person}-{username}",
        person_key=person,
        username=username,
        room_name=room,
    )


async def refusal(username: str, *, person: str, room: str = "React") -> ChatError:
    with pytest.raises(ChatError) as raised:
        await join(username, person=person, room=room)
    return raised.value


async def bob_is_removed(**options) -> None:
    await join("Bob", person="session:bob")
    assert await services.room_remove_person(room="React", username="Bob", **options)


async def test_a_removed_person_cannot_rejoin_with_their_session_under_another_name():
    await bob_is_removed()
    refused = await refusal("Robert", person="session:bob")
    assert refused.code == ErrorCode.BANNED
    assert refused.message.startswith("A moderator removed you from this room; you can join")


@pytest.mark.parametrize("name", ["Bob", "BOB", "B\u043eb"])  # a Cyrillic o in the last
async def test_a_removed_name_cannot_rejoin_from_another_session(name):
    await bob_is_removed()
    assert (await refusal(name, person="session:other")).code == ErrorCode.BANNED


async def test_a_removed_person_may_join_other_rooms_and_others_may_join_theirs():
    await bob_is_removed()
    await join("Bob", person="session:bob", room="Node")
    await join("Ana", person="session:ana")


async def test_the_removal_ends_after_chat_removal_minutes(settings):
    await bob_is_removed()
    ban = await RoomBan.objects.aget()
    lasts = ban.until - ban.created_at
    assert abs(lasts - timedelta(minutes=settings.CHAT_REMOVAL_MINUTES)) < timedelta(seconds=1)
    await RoomBan.objects.aupdate(until=timezone.now() - timedelta(seconds=1))
    await join("Bob", person="session:bob")


async def test_no_removal_lasts_when_chat_removal_minutes_is_0(settings):
    settings.CHAT_REMOVAL_MINUTES = 0
    await bob_is_removed()
    await join("Bob", person="session:bob")


async def test_a_ban_for_good_has_no_end():
    await bob_is_removed(for_good=True, reason="spam")
    ban = await RoomBan.objects.aget()
    assert (ban.until, ban.reason, ban.username) == (None, "spam", "Bob")
    refused = await refusal("Bob", person="session:bob")
    assert (refused.code, refused.message) == (ErrorCode.BANNED, BANNED_FOR_GOOD)


async def test_a_person_without_a_session_is_held_by_their_name_alone():
    await join("Bob", person="connection:sid-1")
    await services.room_remove_person(room="React", username="Bob")
    assert (await RoomBan.objects.aget()).person_key == ""
    await join("Ana", person="connection:sid-2")


@sync_to_async
def lift_in_the_admin(admin_client) -> None:
    changelist = reverse("admin:rooms_roomban_changelist")
    selected = [str(pk) for pk in RoomBan.objects.values_list("pk", flat=True)]
    response = admin_client.post(changelist, {"action": "lift", "_selected_action": selected})
    assert response.status_code == 302


async def test_staff_can_lift_a_ban_and_the_person_may_join_again(admin_client):
    await bob_is_removed(for_good=True)
    await lift_in_the_admin(admin_client)
    await join("Bob", person="session:bob")


@sync_to_async
def admin_page(admin_client, url: str) -> str:
    response = admin_client.get(url)
    assert response.status_code == 200
    return response.content.decode()


async def test_the_admin_lists_removals_and_bans(admin_client):
    await bob_is_removed(for_good=True, reason="spam")
    page = await admin_page(admin_client, reverse("admin:rooms_roomban_changelist"))
    assert "Bob" in page
    assert "for good" in page
    assert "spam" in page


async def test_the_moderate_page_offers_to_ban_for_good(admin_client):
    await join("Bob", person="session:bob")
    react = await Room.objects.aget(name="React")
    page = await admin_page(admin_client, reverse("admin:rooms_room_moderate", args=[react.pk]))
    assert 'name="for_good"' in page
    assert "Ban for good" in page


@sync_to_async
def post_join(client, **data):
    return client.post(reverse("join"), {"room": "", "new_room": "", **data})


async def test_the_join_form_refuses_a_removed_name(client):
    await bob_is_removed()
    response = await post_join(client, username="Bob", room="react")
    assert response.status_code == 200
    [error] = response.context["form"].non_field_errors()
    assert error.startswith("A moderator removed you from this room")
