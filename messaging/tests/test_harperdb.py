"""The HarperDB gateway against a real HarperDB."""

import socket
import time

import pytest
import requests
from django.conf import settings

from messaging.harperdb import (
    HarperDBClient,
    HarperDBError,
    HarperDBUnavailable,
    OneWriteHTTPConnection,
    configured_url,
    get_client,
)
from messaging.local_harperdb import free_port
from messaging.store import MESSAGE_ATTRIBUTES, HarperDBMessageStore, harperdb_store
from messaging.tests.factories import make_message

pytestmark = pytest.mark.usefixtures("harperdb_settings")


def test_bootstrap_twice_is_fine_and_indexes_only_what_is_searched():
    store = harperdb_store()
    store.bootstrap()
    store.bootstrap()
    described = get_client().describe_table(database=store.database, table=store.table)
    indexed = {a["attribute"] for a in described["attributes"] if a.get("indexed")}
    assert {"id", "client_key"} <= indexed
    assert "message" not in indexed


def test_a_table_made_before_messages_could_be_edited_keeps_their_edit_times(room):
    store = harperdb_store()
    older = HarperDBMessageStore(get_client(), database=store.database, table="before_edits")
    older.client.create_table(
        database=older.database,
        table=older.table,
        primary_key="id",
        attributes=[a for a in MESSAGE_ATTRIBUTES if a["name"] != "edited_ms"],
    )
    message = make_message(room)
    older.insert([message])
    edited = message.edited("changed", edited_ms=message.created_ms + 1)
    assert older.update(edited)
    assert older.latest(room=room, limit=1) == [edited]


def test_harperdb_errors_carry_harperdbs_message():
    with pytest.raises(HarperDBError) as raised:
        get_client().describe_table(database="no_such_database", table="messages")
    assert "does not exist" in raised.value.message


def test_a_harperdb_that_is_down_fails_fast_with_our_exception():
    client = HarperDBClient(
        url=f"http://127.0.0.1:{free_port()}", username="u", password="p", timeout=1.0
    )
    started = time.monotonic()
    with pytest.raises(HarperDBUnavailable):
        client.ping()
    assert time.monotonic() - started < 5


def test_a_harperdb_that_never_answers_times_out_with_our_exception():
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        client = HarperDBClient(
            url=f"http://127.0.0.1:{port}", username="u", password="p", timeout=0.5
        )
        with pytest.raises(HarperDBUnavailable):
            client.ping()


class RecordingSocket:
    def __init__(self) -> None:
        self.writes: list[bytes] = []

    def sendall(self, data) -> None:
        self.writes.append(bytes(data))

    def settimeout(self, timeout) -> None:
        pass


def test_a_requests_head_and_body_leave_in_one_write():
    connection = OneWriteHTTPConnection("127.0.0.1", 9)
    connection.sock = RecordingSocket()
    body = b'{"operation":"describe_all"}'
    connection.request("POST", "/", body=body, headers={"Content-Type": "application/json"})
    [written] = connection.sock.writes
    assert written.startswith(b"POST / HTTP/1.1\r\n")
    assert written.endswith(b"\r\n\r\n" + body)


def test_proxy_settings_in_the_environment_are_not_used_for_harperdb(monkeypatch):
    nowhere = f"http://127.0.0.1:{free_port()}"
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.setenv(name, nowhere)
    monkeypatch.delenv("NO_PROXY", raising=False)
    client = get_client()
    for _ in range(3):  # one pooled connection, used again
        client.ping()


def fresh_client() -> HarperDBClient:
    return HarperDBClient(
        url=configured_url(),
        username=settings.HARPERDB_USERNAME,
        password=settings.HARPERDB_PASSWORD,
    )


def test_requests_after_the_first_look_up_neither_the_pool_nor_the_path_again(monkeypatch):
    worked_out = []
    for hook in ("get_connection_with_tls_context", "request_url"):
        original = getattr(requests.adapters.HTTPAdapter, hook)

        def counted(self, *arguments, _original=original, _hook=hook, **options):
            worked_out.append(_hook)
            return _original(self, *arguments, **options)

        monkeypatch.setattr(requests.adapters.HTTPAdapter, hook, counted)
    client = fresh_client()
    for _ in range(3):
        client.ping()
    assert sorted(worked_out) == ["get_connection_with_tls_context", "request_url"]


def test_a_closed_client_connects_again():
    client = fresh_client()
    client.ping()
    client._adapter.close()
    client.ping()
