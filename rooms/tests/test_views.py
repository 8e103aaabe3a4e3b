"""The join page and the chat page, through Django's test client."""

import json

import pytest
from asgiref.sync import async_to_sync
from django.urls import reverse

from rooms.forms import CHOOSE_AN_OPEN_ROOM, USERNAME_TAKEN_HERE
from rooms.identity import SESSION_USERNAME_KEY
from rooms.models import Room
from rooms.names import USERNAME_EMPTY, USERNAME_RESERVED
from rooms.presence import presence

pytestmark = pytest.mark.django_db


@pytest.fixture
def someone_in_javascript():
    """Zoe, another person, is in the JavaScript room right now (the tests and the views
    they call are synchronous, so presence is reached as the views reach it)."""
    outcome = async_to_sync(presence.join)(
        room="JavaScript", username="Zoe", person_key="session:somebody-else", connection="zoe-1"
    )
    yield outcome.person
    async_to_sync(presence.detach)(connection="zoe-1")
    async_to_sync(presence.remove)(outcome.person)


def post_join(client, **data):
    return client.post(reverse("join"), {"username": "", "room": "", "new_room": "", **data})


def test_join_page_lists_the_open_rooms_with_how_many_people_are_in_each(
    client, someone_in_javascript
):
    Room.objects.create(name="Closed one", slug="closed-one", is_closed=True)
    page = client.get(reverse("join")).content.decode()
    assert '<option value="javascript">JavaScript · 1 online</option>' in page
    assert '<option value="react">React · 0 online</option>' in page
    assert "Closed one" not in page
    assert 'name="csrfmiddlewaretoken"' in page
    assert 'name="new_room"' in page


def test_when_the_form_is_valid_then_the_username_is_kept_and_the_room_opens(client):
    response = post_join(client, username="  Ana  ", room="react")
    assert response.status_code == 302
    assert response["Location"] == reverse("chat", kwargs={"slug": "react"})
    assert client.session[SESSION_USERNAME_KEY] == "Ana"


def test_when_coming_back_then_the_username_is_filled_in_and_the_asked_room_chosen(client):
    post_join(client, username="Ana", room="react")
    page = client.get(reverse("join"), {"room": "node"}).content.decode()
    assert 'value="Ana"' in page
    assert '<option value="node" selected>' in page


def test_when_a_new_room_is_named_then_it_is_created_and_opened(client):
    response = post_join(client, username="Ana", new_room="Rust & Go")
    room = Room.objects.get(name="Rust & Go")
    assert response["Location"] == reverse("chat", kwargs={"slug": room.slug})


def test_when_the_username_is_empty_then_the_form_says_so_next_to_it(client):
    response = post_join(client, username="   ", room="react")
    assert response.status_code == 200
    assert response.context["form"].errors["username"] == [USERNAME_EMPTY]
    assert 'id="id_username_error"' in response.content.decode()
    assert SESSION_USERNAME_KEY not in client.session


def test_when_the_username_is_too_long_then_the_form_says_the_limit_and_keeps_it_whole(client):
    response = post_join(client, username="a" * 80, room="react")
    assert response.context["form"].errors["username"] == [
        "A username can be at most 32 characters long; this one has 80."
    ]
    page = response.content.decode()
    assert f'value="{"a" * 80}"' in page
    assert "maxlength" not in page  # the browser does not cut a long name silently


def test_when_the_username_is_chatbot_then_the_form_refuses_it(client):
    response = post_join(client, username="chatbot", room="react")
    assert response.context["form"].errors["username"] == [USERNAME_RESERVED]


def test_when_the_username_is_taken_in_that_room_then_the_form_refuses_it(
    client, someone_in_javascript
):
    response = post_join(client, username="ZOE", room="javascript")
    assert response.context["form"].errors["username"] == [USERNAME_TAKEN_HERE]
    assert post_join(client, username="Zoe", room="react").status_code == 302


def test_when_the_form_is_refused_then_the_new_room_it_named_is_not_created(
    client, someone_in_javascript
):
    rooms_before = Room.objects.count()
    response = post_join(client, username="", new_room="Never made")
    assert response.status_code == 200
    assert Room.objects.count() == rooms_before


def test_when_no_room_is_chosen_then_the_form_asks_for_one(client):
    response = post_join(client, username="Ana")
    assert response.context["form"].errors["room"]


def test_when_room_creation_is_off_then_no_room_can_be_created(client, settings):
    settings.CHAT_ALLOW_ROOM_CREATION = False
    assert 'name="new_room"' not in client.get(reverse("join")).content.decode()
    response = post_join(client, username="Ana", new_room="Brand new")
    assert response.status_code == 200
    assert response.context["form"].errors["room"] == [CHOOSE_AN_OPEN_ROOM]
    assert not Room.objects.filter(name="Brand new").exists()


def test_when_the_chat_page_is_opened_without_a_username_then_the_join_page_has_the_room(client):
    response = client.get(reverse("chat", kwargs={"slug": "node"}))
    assert response.status_code == 302
    assert response["Location"] == "/?room=node"


def test_a_closed_or_unknown_room_is_not_found(client):
    Room.objects.create(name="Gone", slug="gone", is_closed=True)
    post_join(client, username="Ana", room="react")
    assert client.get(reverse("chat", kwargs={"slug": "gone"})).status_code == 404
    response = client.get(reverse("chat", kwargs={"slug": "nowhere"}))
    assert response.status_code == 404
    assert [listing.room.name for listing in response.context["open_rooms"]] == [
        room.name for room in Room.objects.filter(is_closed=False)
    ]


def test_when_the_chat_page_is_opened_with_a_username_then_its_config_is_in_json_script(
    client, settings
):
    post_join(client, username="<Ana>", room="react")
    response = client.get(reverse("chat", kwargs={"slug": "react"}))
    page = response.content.decode()
    assert '<script id="chat-config" type="application/json">' in page
    assert "<Ana>" not in page
    assert response.context["config"] == {
        "room": "React",
        "username": "<Ana>",
        "messageMaxLength": settings.CHAT_MESSAGE_MAX_LENGTH,
        "editSeconds": settings.CHAT_EDIT_SECONDS,
        "historyLimit": settings.CHAT_HISTORY_LIMIT,
        "rateLimit": settings.CHAT_RATE_LIMIT,
        "rateBurst": settings.CHAT_RATE_BURST,
        "joinUrl": "/",
        "changeNameUrl": "/?room=react",
    }
    start = page.index('type="application/json">') + len('type="application/json">')
    assert json.loads(page[start : page.index("</script>", start)])["username"] == "<Ana>"
    assert '<script type="module" src="/static/devrooms/chat.js"></script>' in page
