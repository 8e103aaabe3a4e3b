"""The join page keeps a session only for someone who joins."""

import pytest
from django.contrib.sessions.models import Session
from django.urls import reverse

from rooms.identity import SESSION_USERNAME_KEY

pytestmark = pytest.mark.django_db


def test_visits_of_the_join_page_store_no_session(client):
    for _ in range(20):
        assert client.get(reverse("join")).status_code == 200
    assert Session.objects.count() == 0
    assert "sessionid" not in client.cookies


def test_joining_stores_one_session_that_later_visits_reuse(client):
    client.get(reverse("join"))
    joined = client.post(reverse("join"), {"username": "Ana", "room": "react", "new_room": ""})
    assert joined.status_code == 302
    page = client.get(reverse("join")).content.decode()
    assert 'value="Ana"' in page
    assert Session.objects.count() == 1
    assert client.session[SESSION_USERNAME_KEY] == "Ana"
