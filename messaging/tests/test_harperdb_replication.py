"""Two local HarperDB nodes replicate DevRooms' message table (README.md "HarperDB on several
machines"): what is written through one node is read through the other, both ways, and why
message ids must never collide between nodes.

Each node is a LocalHarperDB of its own (127.0.0.1 only, its own root and HOME) with its own
`replication.hostname`, `replication.url` on its Operations API port (LocalHarperDB turns the
separate replication port off, and authentication sits on the Operations API port) and a
route to the other. Replication is asynchronous: reads wait for it, within a bound.
"""

from __future__ import annotations

import dataclasses
import secrets
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from messaging.harperdb import HarperDBClient
from messaging.local_harperdb import LocalHarperDB, free_port
from messaging.store import HarperDBMessageStore, Message, MessageIdClock

DATABASE = "devrooms_replication_test"
TABLE = "messages"
REPLICATION_WAIT_SECONDS = 15.0  # measured: ~0.1 s on one machine; first connection ~2 s


def replicating_node(root: Path, port: int, password: str, name: str, peer_port: int):
    """A local HarperDB that is the replication node `name`, with a route to the node on
    `peer_port`: replication rides on the Operations API port, where authentication is."""
    replication = {
        "hostname": name,
        "url": f"ws://127.0.0.1:{port}",
        "routes": [f"ws://127.0.0.1:{peer_port}"],
        "databases": "*",
    }
    return LocalHarperDB(
        root=root,
        port=port,
        username="devrooms",
        password=password,
        extra_config={"replication": replication},
    )


def store_on(node: LocalHarperDB) -> HarperDBMessageStore:
    client = HarperDBClient(
        url=node.url, username=node.username, password=node.password, timeout=5.0
    )
    return HarperDBMessageStore(client, database=DATABASE, table=TABLE)


def wait_for(predicate, *, timeout: float = REPLICATION_WAIT_SECONDS, interval: float = 0.1):
    """The first truthy value of `predicate()` within `timeout` seconds; fails otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            pytest.fail(f"not replicated within {timeout} s")
        time.sleep(interval)


def connected(node: LocalHarperDB, peer: str) -> bool:
    status = node.client()._call({"operation": "cluster_status"})
    for connection in status.get("connections", []):
        if connection.get("name") == peer:
            sockets = connection.get("database_sockets") or []
            databases = {socket["database"] for socket in sockets if socket.get("connected")}
            return DATABASE in databases
    return False


@pytest.fixture(scope="module")
def nodes(tmp_path_factory):
    """Two replicating nodes, A and B, each routed to the other, with the table on both."""
    password = secrets.token_urlsafe(24)
    port_a, port_b = free_port(), free_port()
    a = replicating_node(tmp_path_factory.mktemp("harperdb-a"), port_a, password, "node-a", port_b)
    b = replicating_node(tmp_path_factory.mktemp("harperdb-b"), port_b, password, "node-b", port_a)
    started = []
    try:
        for node in (a, b):
            node.start()
            started.append(node)
        # Bootstrapping on every node is safe: whichever creates the table first, it is
        # replicated to the other, and the other's create_* calls answer "already exists".
        store_on(a).bootstrap()
        store_on(b).bootstrap()
        wait_for(lambda: connected(a, "node-b") and connected(b, "node-a"), timeout=30)
        yield a, b
    finally:
        for node in started:
            node.stop()


def compose(room: str, text: str, clock: MessageIdClock) -> Message:
    return Message.compose(room=room, username="ana", text=text, client_id=None, clock=clock)


@pytest.fixture
def room() -> str:
    return f"room-{uuid.uuid4()}"


def test_a_message_written_on_node_a_is_read_on_node_b(nodes, room):
    a, b = nodes
    message = compose(room, "written on A", MessageIdClock())
    assert store_on(a).insert([message]).inserted == [message.id]
    assert wait_for(lambda: store_on(b).find(message.id)) == message
    assert store_on(b).latest(room=room, limit=10) == [message]


def test_a_message_written_on_node_b_is_read_on_node_a(nodes, room):
    a, b = nodes
    message = compose(room, "written on B", MessageIdClock())
    store_on(b).insert([message])
    assert wait_for(lambda: store_on(a).find(message.id)) == message


def test_a_room_written_on_both_nodes_reads_the_same_in_id_order_on_each(nodes, room):
    a, b = nodes
    clock_a, clock_b = MessageIdClock(), MessageIdClock()
    written = []
    for number in range(6):
        node, clock = (a, clock_a) if number % 2 == 0 else (b, clock_b)
        message = compose(room, f"message {number}", clock)
        store_on(node).insert([message])
        written.append(message)
    expected = sorted(written, key=lambda message: message.id)
    for node in (a, b):
        assert wait_for(
            lambda node=node: store_on(node).latest(room=room, limit=10) == expected or None
        )


def test_an_edit_on_one_node_and_a_delete_on_the_other_reach_both(nodes, room):
    a, b = nodes
    clock = MessageIdClock()
    kept, deleted = compose(room, "kept", clock), compose(room, "deleted", clock)
    store_on(a).insert([kept, deleted])
    wait_for(lambda: len(store_on(b).latest(room=room, limit=10)) == 2)

    edited = kept.edited("kept, edited on B", edited_ms=kept.created_ms + 1)
    assert store_on(b).update(edited)
    assert store_on(a).delete(deleted.id)

    assert wait_for(lambda: store_on(a).latest(room=room, limit=10) == [edited] or None)
    assert wait_for(lambda: store_on(b).latest(room=room, limit=10) == [edited] or None)


def test_the_same_id_written_on_both_nodes_at_once_ends_as_one_version(nodes, room):
    """Why ids must never collide between processes: each node accepts an insert of an id it
    does not have yet (usually both answer "inserted"), and replication then keeps only one of
    the two versions on both nodes; "insert skips an existing id" holds per node only."""
    a, b = nodes
    message = compose(room, "on A", MessageIdClock())
    on_b = dataclasses.replace(message, message="on B")
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda job: store_on(job[0]).insert([job[1]]), [(a, message), (b, on_b)]))

    def one_version():
        versions = {store_on(node).find(message.id).message for node in (a, b)}
        return versions if len(versions) == 1 else None

    assert wait_for(one_version) <= {"on A", "on B"}
