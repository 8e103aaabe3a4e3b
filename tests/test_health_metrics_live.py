"""/healthz and /metrics of the app under Daphne, as a proxy and Prometheus see them."""

import asyncio
import time

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from messaging.local_harperdb import free_port
from tests.chat_client import unique_room
from tests.live_server import start_chat_server

TOKEN = "live-metrics-token"


@pytest.fixture(scope="module")
def server(tmp_path_factory, harperdb_settings):
    """A server of this module's own: its metrics count this module's clients only."""
    chat_server = start_chat_server(
        tmp_path_factory.mktemp("metrics-server"), harperdb_settings, CHAT_METRICS_TOKEN=TOKEN
    )
    yield chat_server
    chat_server.stop()


def scrape(url: str) -> dict[tuple[str, tuple], float]:
    response = requests.get(
        f"{url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5
    )
    assert response.status_code == 200, response.text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def test_healthz_answers_200_with_the_database_and_harperdb_checked(server):
    response = requests.get(f"{server.url}/healthz", timeout=5)
    assert response.status_code == 200
    assert response.json()["checks"] == {"process": "ok", "database": "ok", "harperdb": "ok"}


def test_metrics_refuse_a_scraper_without_the_token(server):
    assert requests.get(f"{server.url}/metrics", timeout=5).status_code == 403


async def test_metrics_count_connections_people_per_room_and_messages(server, people):
    ana, bob = await people(unique_room("metrics"), "Ana", "Bob", url=server.url)
    ack = await ana.send("counted")
    assert ack["ok"], ack
    await bob.wait_for_messages([ack["id"]])
    metrics = await asyncio.to_thread(scrape, server.url)
    assert metrics[("devrooms_connections", ())] == 2
    assert metrics[("devrooms_room_people_bucket", (("le", "1.0"),))] == 0
    assert metrics[("devrooms_room_people_bucket", (("le", "2.0"),))] == 1
    assert metrics[("devrooms_room_people_gsum", ())] == 2
    assert metrics[("devrooms_messages_stored_total", ())] == 1
    assert metrics[("devrooms_messages_delivered_total", ())] == 1
    assert metrics[("devrooms_store_seconds_count", ())] >= 1
    assert metrics[("devrooms_writer_queue", ())] == 0
    assert metrics[("devrooms_harperdb_errors_total", (("kind", "unavailable"),))] == 0


def test_healthz_answers_503_within_about_a_second_when_harperdb_is_unreachable(
    tmp_path, harperdb_settings
):
    unreachable = {**harperdb_settings, "HARPERDB_URL": f"http://127.0.0.1:{free_port()}"}
    server = start_chat_server(tmp_path, unreachable)
    try:
        started = time.monotonic()
        response = requests.get(f"{server.url}/healthz", timeout=5)
        took = time.monotonic() - started
    finally:
        server.stop()
    assert response.status_code == 503
    assert response.json()["failed"] == ["harperdb"]
    assert took < 1.5
