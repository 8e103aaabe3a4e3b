"""/metrics: Prometheus' text format, for staff or the metrics token only; people per room as
a gauge histogram of fixed buckets (no room name ever becomes a label)."""

import pytest
from django.contrib.auth.models import User
from django.test import AsyncClient
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from chatsite import metrics
from chatsite.views import METRICS_FORBIDDEN

pytestmark = pytest.mark.django_db
TOKEN = "a-metrics-token-for-tests"


@pytest.fixture
def metrics_token(settings):
    settings.CHAT_METRICS_TOKEN = TOKEN
    return TOKEN


@pytest.fixture
def sources():
    """Plug in scrape-time sources for the test; nothing is plugged in afterwards."""
    yield metrics.install
    metrics.install(connections=lambda: 0, room_people=lambda: None)
    metrics.ROOM_PEOPLE.source = None


def bucket_counts(family) -> dict[str, float]:
    return {s.labels["le"]: s.value for s in family.samples if s.name.endswith("_bucket")}


def test_room_sizes_become_counts_of_rooms_at_most_each_bucket():
    family = metrics.room_people_family([1, 1, 3, 40, 0])
    counts = bucket_counts(family)
    assert counts["1.0"] == 2
    assert counts["2.0"] == 2
    assert counts["5.0"] == 3
    assert counts["20.0"] == 3
    assert counts["50.0"] == 4
    assert counts["+Inf"] == 4
    samples = {s.name: s.value for s in family.samples}
    assert samples["devrooms_room_people_gcount"] == 4
    assert samples["devrooms_room_people_gsum"] == 45


def test_connections_and_people_per_room_are_read_when_scraped(sources):
    rooms = {"JavaScript": 3}
    sources(connections=lambda: 7, room_people=lambda: rooms)
    rooms["React"] = 1
    assert REGISTRY.get_sample_value("devrooms_connections") == 7
    assert REGISTRY.get_sample_value("devrooms_room_people_gcount") == 2
    assert REGISTRY.get_sample_value("devrooms_room_people_bucket", {"le": "1.0"}) == 1


async def test_a_stranger_gets_403(metrics_token):
    response = await AsyncClient().get("/metrics")
    assert response.status_code == 403
    assert response.content.decode() == METRICS_FORBIDDEN


@pytest.mark.parametrize(
    "authorization", [f"Bearer {TOKEN}x", "Bearer ", TOKEN, f"Basic {TOKEN}"], ids=repr
)
async def test_a_wrong_token_gets_403(metrics_token, authorization):
    response = await AsyncClient().get("/metrics", headers={"Authorization": authorization})
    assert response.status_code == 403


async def test_no_token_configured_means_no_bearer_gets_in(settings):
    settings.CHAT_METRICS_TOKEN = ""
    response = await AsyncClient().get("/metrics", headers={"Authorization": "Bearer "})
    assert response.status_code == 403


async def test_the_token_gets_every_devrooms_metric_in_prometheus_text_format(metrics_token):
    response = await AsyncClient().get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    names = {family.name for family in text_string_to_metric_families(response.content.decode())}
    assert {
        "devrooms_connections",
        "devrooms_messages_stored",
        "devrooms_messages_delivered",
        "devrooms_store_seconds",
        "devrooms_writer_queue",
        "devrooms_harperdb_errors",
        "process_open_fds",
    } <= names


def test_staff_get_the_metrics_and_other_users_do_not(metrics_token, client):
    # A synchronous test: its users and sessions stay in the test's transaction.
    client.force_login(User.objects.create_user("boss", is_staff=True))
    assert client.get("/metrics").status_code == 200
    client.force_login(User.objects.create_user("member"))
    assert client.get("/metrics").status_code == 403
