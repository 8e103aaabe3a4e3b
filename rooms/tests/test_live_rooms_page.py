"""The admin's live rooms page reads its message figures in one HarperDB request per page."""

import uuid

import pytest
from django.urls import reverse

from messaging import backend
from messaging.harperdb import get_client
from messaging.store import harperdb_store
from messaging.tests.factories import make_messages
from rooms.admin import LIVE_ROOMS_PER_PAGE
from rooms.models import Room

pytestmark = pytest.mark.django_db


@pytest.fixture
def label() -> str:
    """Names this test's rooms apart (the HarperDB table is shared by the whole session)."""
    return f"live-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def harperdb(harperdb_settings, monkeypatch):
    store = harperdb_store()
    monkeypatch.setattr(backend, "message_store", lambda: store)
    return store


def open_rooms(count: int, label: str) -> None:
    Room.objects.bulk_create(
        Room(name=f"{label} {n}", name_key=f"{label} {n}", slug=f"{label}-{n}")
        for n in range(count)
    )


def harperdb_requests_for(admin_client, page: int = 1):
    sent = get_client().requests_sent
    response = admin_client.get(reverse("live-rooms"), {"page": page})
    assert response.status_code == 200
    return get_client().requests_sent - sent, response


def test_the_page_reads_harperdb_once_however_many_rooms_are_open(admin_client, harperdb, label):
    open_rooms(5, label)
    few, _ = harperdb_requests_for(admin_client)
    open_rooms(2 * LIVE_ROOMS_PER_PAGE, f"{label} more")
    many, response = harperdb_requests_for(admin_client)
    assert few == many == 1
    assert len(response.context["rows"]) == LIVE_ROOMS_PER_PAGE
    assert "Next" in response.content.decode()


def test_each_row_shows_its_rooms_own_figures(admin_client, harperdb, label):
    open_rooms(3, label)
    harperdb.insert(make_messages(f"{label} 1", 4))
    _, response = harperdb_requests_for(admin_client)
    totals = {row["room"].name: row["stats"].total for row in response.context["rows"]}
    assert (totals[f"{label} 0"], totals[f"{label} 1"], totals[f"{label} 2"]) == (0, 4, 0)


def test_later_pages_list_the_other_rooms(admin_client, harperdb, label):
    open_rooms(LIVE_ROOMS_PER_PAGE + 1, label)
    requests, response = harperdb_requests_for(admin_client, page=2)
    assert requests == 1
    assert [row["room"].name for row in response.context["rows"]][
        -1
    ] == f"{label} {LIVE_ROOMS_PER_PAGE}"
