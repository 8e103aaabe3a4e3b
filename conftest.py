"""Session-wide test set-up: a real HarperDB on free ports (or HARPERDB_URL when given), and
a real Redis for the tests that need one (or REDIS_URL when given)."""

import asyncio
import os
import secrets

import pytest

from messaging import harperdb, local_harperdb
from messaging.store import harperdb_store

TEST_DATABASE = "devrooms_test"


@pytest.fixture(scope="session")
def harperdb_server(tmp_path_factory):
    """Connection settings of a running HarperDB for the whole session."""
    if os.environ.get("HARPERDB_URL"):
        yield {
            "HARPERDB_URL": os.environ["HARPERDB_URL"],
            "HARPERDB_USERNAME": os.environ.get("HARPERDB_USERNAME", "devrooms"),
            "HARPERDB_PASSWORD": os.environ["HARPERDB_PASSWORD"],
        }
        return
    server = local_harperdb.LocalHarperDB.on_free_ports(
        tmp_path_factory.mktemp("harperdb"),
        username="devrooms",
        password=secrets.token_urlsafe(24),
    )
    server.start()
    try:
        yield {
            "HARPERDB_URL": server.url,
            "HARPERDB_USERNAME": server.username,
            "HARPERDB_PASSWORD": server.password,
        }
    finally:
        server.stop()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """The URL of a Redis for the session: REDIS_URL when set, otherwise Debian's
    redis-server started on a free port. Tests keep apart by key prefix (`redis_prefix`)."""
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    from deploy.local_redis import LocalRedis

    server = LocalRedis(tmp_path_factory.mktemp("redis")).start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def redis_prefix():
    """A key prefix of this test's own (CHAT_REDIS_PREFIX): nothing another test or a
    shared REDIS_URL holds is seen or touched."""
    from deploy.local_redis import unique_prefix

    return unique_prefix("test")


@pytest.fixture(scope="session")
def harperdb_settings(harperdb_server):
    """Point the project's settings at the test HarperDB and bootstrap its table once."""
    from django.conf import settings

    values = {**harperdb_server, "HARPERDB_DATABASE": TEST_DATABASE, "HARPERDB_TABLE": "messages"}
    originals = {name: getattr(settings, name) for name in values}
    for name, value in values.items():
        setattr(settings, name, value)
    harperdb.get_client.cache_clear()
    harperdb_store().bootstrap()
    yield values
    for name, value in originals.items():
        setattr(settings, name, value)
    harperdb.get_client.cache_clear()


@pytest.fixture
def memory_store(monkeypatch):
    """The services read and write an in-memory message store; returns it.

    Each test gets a writer of its own over it, stopped when the test ends."""
    from messaging import backend, services
    from messaging.store import InMemoryMessageStore

    store = InMemoryMessageStore()
    monkeypatch.setattr(backend, "message_store", lambda: store)
    writers: dict = {}
    monkeypatch.setattr(services, "_writers", writers)
    yield store
    for writer in writers.values():
        if writer._task is not None:
            writer._task.cancel()


@pytest.fixture
def history_tail(monkeypatch, settings):
    """The services keep rooms' newest messages in a fresh in-memory tail; returns it.
    (The unit tests run without one otherwise: chatsite/test_settings.py.)"""
    from messaging import backend
    from messaging.history_tail import HistoryTail

    tail = HistoryTail(size=settings.CHAT_HISTORY_LIMIT, max_bytes=1_000_000)
    monkeypatch.setattr(backend, "history_tail", lambda: tail)
    return tail


@pytest.fixture
def published(monkeypatch):
    """The services publish to an in-memory transport; returns it."""
    from chatsite import publish

    transport = publish.InMemoryPublisher()
    monkeypatch.setattr(publish, "_installed", transport)
    return transport


@pytest.fixture(autouse=True)
def rooms_unknown():
    """No room is known to the admissions of this process at the start of a test: tests
    empty the database without the signals that would have told it."""
    from rooms.admission import admissions

    admissions.forget_all()


@pytest.fixture
def fresh_presence(monkeypatch):
    """Nobody is in any room at the start of the test, and no roster update is pending
    (presence and the roster feed are process-wide)."""
    from rooms.presence import presence
    from rooms.roster_feed import roster_feed

    monkeypatch.setattr(presence, "_rooms", {})
    monkeypatch.setattr(presence, "_names", {})
    monkeypatch.setattr(presence, "_members", {})
    monkeypatch.setattr(presence, "_connections_of", {})
    monkeypatch.setattr(roster_feed, "_rooms", {})
    return presence


@pytest.fixture
async def staff_feed():
    """Collects what the services publish to the staff's live feed; call it to drain."""
    from channels.layers import get_channel_layer

    from chatsite.staff_feed import LIVE_ROOMS_GROUP

    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(LIVE_ROOMS_GROUP, channel)

    async def drain() -> list[dict]:
        events = []
        while True:
            try:
                message = await asyncio.wait_for(layer.receive(channel), timeout=0.01)
            except TimeoutError:
                return events
            events.append(message["event"])

    yield drain
    await layer.group_discard(LIVE_ROOMS_GROUP, channel)
