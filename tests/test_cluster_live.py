"""Two DevRooms processes behind nginx are one chat (issue 11): stock socket.io clients, spread
over both processes by their loopback source address, see one roster, one holder of a
username, one order of messages equal to history, and moderation done on either process; a
process killed with SIGKILL leaves no ghosts, and its people come back through the proxy.

The processes are started the production way (`python -m deploy.cluster start`) and share a
Redis under a key prefix of their own; nginx is Debian's, with the production site plus one
header naming the process that answered (tests/cluster.py)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
import requests
import socketio

from chatsite import events
from deploy.local_nginx import NGINX
from tests.chat_client import ChatClient, unique_room
from tests.cluster import (
    PRESENCE_TTL_SECONDS,
    Cluster,
    admin_room_id,
    close_clients,
    running_cluster,
)
from tests.live_server import browser_session, create_user, logged_in, post_form

STAFF_PASSWORD = "staff-password-1"
RACERS = 20
GHOSTS_WITHIN = PRESENCE_TTL_SECONDS + 5

pytestmark = pytest.mark.skipif(
    not Path(NGINX).exists(), reason="Debian's nginx is missing: `make nginx` installs it"
)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, harperdb_settings, redis_url):
    """`deploy.cluster start --processes 2` on consecutive free ports, nginx in front."""
    folder = tmp_path_factory.mktemp("cluster")
    with running_cluster(folder, harperdb_settings=harperdb_settings, redis_url=redis_url) as two:
        yield two


@pytest.fixture
def killable_cluster(tmp_path_factory, harperdb_settings, redis_url):
    """Two processes with a launcher each, as on two machines: the survivor of a SIGKILL
    keeps running (one launcher would stop it too, and exit 1 for its service manager)."""
    folder = tmp_path_factory.mktemp("killable-cluster")
    with running_cluster(
        folder, harperdb_settings=harperdb_settings, redis_url=redis_url, launcher_per_process=True
    ) as two:
        yield two


@pytest.fixture
async def connect():
    """`await connect(cluster, port, **connect_options)`: a socket.io client through the
    cluster's nginx from a loopback address that nginx sends to the process on `port` (taking
    turns among a few), or from `address`; all are closed after the test."""
    opened: list[ChatClient] = []
    turns: Counter = Counter()

    async def open_client(
        cluster: Cluster, port: int | None = None, *, address: str | None = None, **options
    ) -> ChatClient:
        if address is None:
            addresses = cluster.addresses(port)
            address = addresses[turns[port] % len(addresses)]
            turns[port] += 1
        client = ChatClient(cluster.proxy.url, source_address=address)
        await client.connect(**options)
        opened.append(client)
        return client

    yield open_client
    await close_clients(opened)


@pytest.fixture(scope="module")
def staff(cluster):
    """A staff member logged in to the admin of the first process, at its own port."""
    site = cluster.site(cluster.ports[0])
    username = f"staff-{uuid.uuid4().hex[:6]}"
    create_user(site, username, STAFF_PASSWORD, staff=True)
    return logged_in(site, username, STAFF_PASSWORD)


async def join_spread(
    connect, cluster: Cluster, room: str, names: list[str]
) -> dict[str, ChatClient]:
    """A client per name, on the processes in turn, each joined to `room` in that order."""
    clients = {}
    for number, name in enumerate(names):
        clients[name] = await connect(cluster, cluster.ports[number % len(cluster.ports)])
        await clients[name].join(name, room)
    return clients


async def rosters_become(
    cluster: Cluster, clients: dict[str, ChatClient], names: list[str], *, within: float
) -> None:
    """Every client's latest `chatroom_users` lists `names`, in that order, within `within`
    seconds; and it is one and the same list everywhere (entry ids too)."""
    deadline = time.monotonic() + within

    async def settled(client: ChatClient) -> None:
        try:
            await client.wait_until(
                lambda: client.roster() == names, max(0.0, deadline - time.monotonic())
            )
        except TimeoutError:
            pass

    await asyncio.gather(*(settled(client) for client in clients.values()))
    seen = {
        f"{name} on {cluster.port_of(client.source_address)}": client.roster()
        for name, client in clients.items()
    }
    assert all(roster == names for roster in seen.values()), (
        f"every roster should list {names} within {within} s; they list {seen}"
    )
    entries = {json.dumps(c.events_named(events.CHATROOM_USERS)[-1]) for c in clients.values()}
    assert len(entries) == 1, f"one roster, different entries: {entries}"


async def arrives(client: ChatClient, event: str, matching, what: str, within: float = 5):
    """The first `event` matching, or a failure saying what did not arrive."""
    try:
        return await client.wait_for(event, matching, timeout=within)
    except TimeoutError:
        recent = [name for name, _ in client.received[-8:]]
        raise AssertionError(f"{what}: not within {within} s (last events {recent})") from None


def order_differences(orders: dict[str, list[str]], texts: dict[str, str]) -> dict[str, list]:
    """Six messages of each order (by text) from the first place where two orders differ."""
    first = next(iter(orders.values()))
    differ = min(
        i
        for order in orders.values()
        for i, (mine, theirs) in enumerate(zip(order, first, strict=True))
        if mine != theirs
    )
    return {who: [texts[i] for i in order[differ : differ + 6]] for who, order in orders.items()}


def disconnected(client: ChatClient) -> Counter:
    """How many times each person was announced to `client` as disconnected."""
    named: Counter = Counter()
    for text in client.notices():
        if found := re.fullmatch(r"(.+) (?:has|have) disconnected from the chat\.", text):
            named.update(re.split(r", | and ", found.group(1)))
    return named


# 1. One chat across both processes ------------------------------------------------------


async def test_people_on_both_processes_see_one_roster(cluster, connect):
    room = unique_room("roster")
    names = ["Ana", "Bob", "Cem", "Dan"]
    members = await join_spread(connect, cluster, room, names)

    await rosters_become(cluster, members, names, within=5)
    for port in cluster.ports:
        latecomer = await connect(cluster, port)
        ack = await latecomer.join(f"Eve{port}", room)
        names.append(f"Eve{port}")
        assert [person["username"] for person in ack["users"]] == names, f"a join on {port}"


async def test_a_username_held_on_one_process_is_taken_on_the_other(cluster, connect):
    room = unique_room("taken")
    holder, other = cluster.ports
    ana = await connect(cluster, holder)
    await ana.join("Ana", room)
    impostor = await connect(cluster, other)

    refused = await impostor.call(events.JOIN_ROOM, {"username": "ana", "room": room})

    assert refused["ok"] is False, f"'ana' got in on {other} while Ana holds it on {holder}"
    assert refused["error"]["code"] == "username_taken", refused


async def test_of_twenty_simultaneous_joins_for_one_name_on_both_processes_one_wins(
    cluster, connect
):
    room = unique_room("race")
    host = await connect(cluster, cluster.ports[0])
    await host.join("Host", room)  # the room exists: only the name is raced for
    racers = await asyncio.gather(
        *(connect(cluster, cluster.ports[number % 2]) for number in range(RACERS))
    )

    acks = await asyncio.gather(
        *(racer.call(events.JOIN_ROOM, {"username": "Zoe", "room": room}) for racer in racers)
    )

    winners = [
        cluster.port_of(r.source_address) for r, ack in zip(racers, acks, strict=True) if ack["ok"]
    ]
    refusals = Counter(ack["error"]["code"] for ack in acks if not ack["ok"])
    assert len(winners) == 1, f"{len(winners)} joins as Zoe won, on the processes {winners}"
    assert refusals == {"username_taken": RACERS - 1}
    latecomer = await connect(cluster, cluster.ports[1])
    ack = await latecomer.join("Yan", room)
    assert [person["username"] for person in ack["users"]] == ["Host", "Zoe", "Yan"]


async def test_messages_sent_through_both_processes_reach_everyone_in_one_order_as_history(
    cluster, connect
):
    room = unique_room("order")
    members = await join_spread(connect, cluster, room, ["Ana", "Bob", "Cem", "Dan"])

    acks = await asyncio.gather(
        *(
            client.send(f"{name} {number}", client_id=f"{name}-{number}")
            for number in range(10)
            for name, client in members.items()
        )
    )

    assert all(ack["ok"] for ack in acks), acks
    sent = {ack["id"] for ack in acks}
    orders = {}
    for name, client in members.items():
        try:
            await client.wait_for_messages(sent, timeout=10)
        except TimeoutError:
            missing = len(sent - {m["id"] for m in client.messages()})
            raise AssertionError(f"{name} never got {missing} of the {len(sent)}") from None
        await client.send_marker()  # whatever else was on its way to them has come
        where = f"{name} on {cluster.port_of(client.source_address)}"
        orders[where] = [m["id"] for m in client.messages() if m["id"] in sent]
    assert all(len(order) == len(sent) for order in orders.values()), "a message came twice"
    delivered = next(iter(orders.values()))
    texts = {m["id"]: m["message"] for m in members["Ana"].messages()}
    assert all(order == delivered for order in orders.values()), (
        f"members got different orders: {order_differences(orders, texts)}"
    )
    for port in cluster.ports:
        latecomer = await connect(cluster, port)
        await latecomer.join(f"Late{port}", room)
        history = [m["id"] for m in latecomer.history() if m["id"] in sent]
        assert history == delivered, f"last_100_messages on {port} is not the delivered order"
        paged = await latecomer.call(events.LOAD_HISTORY, {"before": delivered[-1], "limit": 100})
        assert [m["id"] for m in paged["messages"] if m["id"] in sent] == delivered[:-1]


# 2. A process killed with people in its rooms -------------------------------------------


async def take_seats(connect, cluster: Cluster, seats, cookies: dict) -> dict[str, ChatClient]:
    """A client per seat `(label, port, room)`, joined in that order as the label's first
    word, with the session cookie `cookies` gives that label (another tab of that person)."""
    clients = {}
    for label, port, room in seats:
        options = {"headers": {"Cookie": cookies[label]}} if label in cookies else {}
        clients[label] = await connect(cluster, port, **options)
        await clients[label].join(label.split()[0], room)
    return clients


class Outbox:
    """What people send one message after another without waiting for acks, as a page does
    while its person keeps typing: each message by client_id, and the acks that came."""

    def __init__(self, acks_awaited: int):
        self.sent: dict[str, tuple[str, dict]] = {}  # client_id: (author, payload)
        self.acks: dict[str, dict] = {}
        self.acks_came = asyncio.Event()  # set once `acks_awaited` acks said ok
        self._acks_awaited = acks_awaited

    async def keep_sending(self, client: ChatClient, name: str, count: int) -> None:
        for number in range(count):
            client_id = f"{name}-{number}"
            self.sent[client_id] = (name, {"message": f"{name} {number}", "client_id": client_id})
            try:
                await client.sio.emit(
                    events.SEND_MESSAGE, self.sent[client_id][1], callback=self._ack(client_id)
                )
            except socketio.exceptions.SocketIOError:
                pass  # the connection is gone: the message is simply not acked
            await asyncio.sleep(0.01)  # spread out, so that the kill lands among them

    def _ack(self, client_id: str):
        def record(ack: dict) -> None:
            self.acks[client_id] = ack
            if len(self.acked()) >= self._acks_awaited:
                self.acks_came.set()

        return record

    def acked(self) -> dict[str, dict]:
        return {cid: ack for cid, ack in self.acks.items() if ack.get("ok")}

    def unacked(self) -> dict[str, tuple[str, dict]]:
        return {cid: sent for cid, sent in self.sent.items() if cid not in self.acked()}


async def stored_client_ids(checker: ChatClient, room: str) -> dict[str, str]:
    """The ids of the room's messages in history, by client_id; each client_id once."""
    await checker.join("Checker", room)
    history = [m for m in checker.history() if "client_id" in m]
    twice = [cid for cid, n in Counter(m["client_id"] for m in history).items() if n > 1]
    assert not twice, f"stored more than once in {room}: {twice}"
    return {m["client_id"]: m["id"] for m in history}


async def test_a_killed_process_leaves_no_ghosts_and_its_people_come_back_through_the_proxy(
    killable_cluster, connect
):
    cluster = killable_cluster
    doomed, survivor = cluster.ports
    main, side = unique_room("ghosts"), unique_room("ghosts-side")
    # Pat has a tab on each process: one browser session, one person, who stays.
    pat = await asyncio.to_thread(browser_session, cluster.proxy.url, "Pat", main)
    seats = [("Sam", survivor, main), ("Kim", doomed, main), ("Pat", survivor, main)]
    seats += [("Pat again", doomed, main), ("Kai", doomed, main)]
    seats += [("Sue", survivor, side), ("Ned", doomed, side)]
    people = await take_seats(connect, cluster, seats, {"Pat": pat, "Pat again": pat})
    in_main = {name: people[name] for name in ("Sam", "Kim", "Pat", "Kai")}
    await rosters_become(cluster, in_main, ["Sam", "Kim", "Pat", "Kai"], within=5)
    in_side = {name: people[name] for name in ("Sue", "Ned")}
    await rosters_become(cluster, in_side, ["Sue", "Ned"], within=5)
    victims = {"Kim": main, "Kai": main, "Ned": side}
    outbox = Outbox(acks_awaited=6)
    senders = [asyncio.create_task(outbox.keep_sending(people[n], n, 10)) for n in victims]
    await asyncio.wait_for(outbox.acks_came.wait(), 10)

    cluster.kill(doomed)
    killed_at = time.monotonic()

    await asyncio.gather(*senders)
    for name in [*victims, "Pat again"]:
        await people[name].wait_disconnected(timeout=10)
    stayed = {name: people[name] for name in ("Sam", "Pat")}
    left = GHOSTS_WITHIN - (time.monotonic() - killed_at)
    await asyncio.gather(
        rosters_become(cluster, stayed, ["Sam", "Pat"], within=left),
        rosters_become(cluster, {"Sue": people["Sue"]}, ["Sue"], within=left),
    )
    ghosts_cleared = time.monotonic() - killed_at
    acked, unacked = outbox.acked(), outbox.unacked()
    arrived = {m.get("client_id") for name in ("Sam", "Sue") for m in people[name].messages()}
    print(
        f"\nSIGKILL: ghosts cleared in {ghosts_cleared:.1f} s (TTL {PRESENCE_TTL_SECONDS:g} s); "
        f"of {len(outbox.sent)} messages {len(acked)} were acked, {len(unacked)} were not, "
        f"{len(arrived & set(unacked))} of which had been delivered"
    )

    back = {}
    for name, room in victims.items():
        address = people[name].source_address
        assert cluster.upstream_of(address) == survivor, "nginx did not fail over"
        back[name] = await connect(cluster, address=address)
        await back[name].join(name, room)
    resent = {}
    for client_id, (name, payload) in unacked.items():
        resent[client_id] = await back[name].call(events.SEND_MESSAGE, payload)
        assert resent[client_id]["ok"], resent[client_id]

    in_main = {**stayed, "Kim": back["Kim"], "Kai": back["Kai"]}
    await rosters_become(cluster, in_main, ["Sam", "Pat", "Kim", "Kai"], within=5)
    stored = {}
    for room in (main, side):
        stored |= await stored_client_ids(await connect(cluster, survivor), room)
    assert stored == {client_id: ack["id"] for client_id, ack in (acked | resent).items()}
    for name in ("Sam", "Pat", "Sue"):
        await people[name].send_marker()  # every notice meant for them came before it
    assert disconnected(people["Sam"]) == disconnected(people["Pat"]) == {"Kim": 1, "Kai": 1}
    assert disconnected(people["Sue"]) == {"Ned": 1}
    live = Counter(m["client_id"] for m in people["Sam"].messages() if "client_id" in m)
    assert set(live.values()) == {1}, f"Sam got a message twice: {live}"


async def test_a_process_frozen_past_its_heartbeat_drops_its_connections_when_it_wakes(
    cluster, connect
):
    """The others took it for dead and removed its people; awake, it must not go on serving
    connections that no roster lists: its clients are disconnected, and come back."""
    room = unique_room("frozen")
    frozen, awake = cluster.ports
    ana, bob = await connect(cluster, awake), await connect(cluster, frozen)
    await ana.join("Ana", room)
    await bob.join("Bob", room)
    await rosters_become(cluster, {"Ana": ana, "Bob": bob}, ["Ana", "Bob"], within=5)
    pid = cluster.daphne_pid(frozen)
    os.kill(pid, signal.SIGSTOP)
    try:
        gone = "Bob has disconnected from the chat."
        await arrives(
            ana, events.RECEIVE_MESSAGE, lambda m: m["message"] == gone, "notice", GHOSTS_WITHIN
        )
    finally:
        os.kill(pid, signal.SIGCONT)
    await bob.wait_disconnected(timeout=5)
    back = await connect(cluster, frozen)
    await back.join("Bob", room)
    await rosters_become(cluster, {"Ana": ana, "Bob": back}, ["Ana", "Bob"], within=5)


# 3. Moderation on one process reaches people on the other -------------------------------


async def live_events(staff, cluster: Cluster, port: int):
    """The live rooms view's WebSocket on the process on `port`, as staff."""
    import aiohttp

    cookies = "; ".join(f"{c.name}={c.value}" for c in staff.cookies)
    url = cluster.url(port)
    session = aiohttp.ClientSession()
    connecting = session.ws_connect(
        url.replace("http", "ws") + "/ws/admin/live-rooms/",
        headers={"Origin": url, "Cookie": cookies},
    )
    return session, connecting


async def next_live_event(socket, wanted) -> dict:
    while True:
        event = json.loads((await socket.receive(timeout=5)).data)
        if wanted(event):
            return event


async def test_the_live_rooms_view_of_one_process_shows_the_other_processes_room(
    cluster, staff, connect
):
    room = unique_room("watched")
    watching, other = cluster.ports
    session, connecting = await live_events(staff, cluster, watching)
    async with session, connecting as socket:
        ana = await connect(cluster, other)
        await ana.join("Ana", room)
        presence = await next_live_event(
            socket, lambda e: e["kind"] == "presence" and e["room"] == room
        )
        assert [person["username"] for person in presence["people"]] == ["Ana"]
        ack = await ana.send("counted on the other process")
        posted = await next_live_event(socket, lambda e: e["kind"] == "messages")
        assert posted["rooms"] == [{"room": room, "count": 1, "created_ms": ack["__createdtime__"]}]
    room_pk = await asyncio.to_thread(admin_room_id, staff, cluster.site(watching), room)
    for port in cluster.ports:  # who is in the room, on its Moderate page of either process
        path = f"{cluster.url(port)}/admin/rooms/room/{room_pk}/moderate/"
        page = await asyncio.to_thread(staff.get, path, timeout=5)
        assert page.ok, page.status_code
        assert "Ana" in page.text, f"the Moderate page of {port} does not list Ana"


def admin_messages(page: requests.Response) -> list[str]:
    """The admin's success, warning and error messages on a page."""
    return re.findall(r'<li class="(?:success|warning|error)">(.*?)</li>', page.text)


async def moderate(staff, cluster: Cluster, port: int, room: str, action: str, **fields):
    """A moderator's action on the room's Moderate page of the process on `port`; returns
    the admin's messages after it."""
    site = cluster.site(port)
    room_pk = await asyncio.to_thread(admin_room_id, staff, site, room)
    path = f"/admin/rooms/room/{room_pk}/moderate/"
    page = await asyncio.to_thread(post_form, staff, site, path, {"action": action, **fields})
    assert page.ok, page.status_code
    return admin_messages(page)


async def test_a_person_removed_on_one_process_leaves_the_room_on_the_other(
    cluster, staff, connect
):
    room = unique_room("remove")
    admin_side = cluster.ports[0]
    people = await join_spread(connect, cluster, room, ["Ana", "Bob", "Cem"])  # Bob: the other

    said = await moderate(staff, cluster, admin_side, room, "remove", username="Bob", reason="spam")

    assert f"Removed Bob from {room}." in said, f"the admin on {admin_side} said {said}"
    removed = await arrives(people["Bob"], events.REMOVED_FROM_ROOM, lambda _: True, "removal")
    assert (removed["room"], removed["kind"]) == (room, "removed")
    notice = "Bob was removed from the chat room by a moderator"
    for name in ("Ana", "Cem"):
        await arrives(people[name], events.RECEIVE_MESSAGE, lambda m: m["message"] == notice, name)
    await rosters_become(
        cluster, {"Ana": people["Ana"], "Cem": people["Cem"]}, ["Ana", "Cem"], within=5
    )
    for port in cluster.ports:
        again = await connect(cluster, port)
        refused = await again.call(events.JOIN_ROOM, {"username": "Bob", "room": room})
        assert refused.get("error", {}).get("code") == "banned", f"Bob back on {port}: {refused}"


async def test_a_room_closed_on_one_process_is_emptied_on_the_other(cluster, staff, connect):
    room = unique_room("closing")
    people = await join_spread(connect, cluster, room, ["Ana", "Bob"])
    site = cluster.site(cluster.ports[0])
    room_pk = await asyncio.to_thread(admin_room_id, staff, site, room)
    data = {"action": "close_rooms", "_selected_action": str(room_pk)}

    await asyncio.to_thread(post_form, staff, site, "/admin/rooms/room/", data)

    for name, client in people.items():
        removed = await arrives(client, events.REMOVED_FROM_ROOM, lambda _: True, name)
        assert (removed["room"], removed["kind"]) == (room, "closed")
    latecomer = await connect(cluster, cluster.ports[1])
    refused = await latecomer.call(events.JOIN_ROOM, {"username": "Cem", "room": room})
    assert refused["error"]["code"] == "room_closed"


async def test_an_announcement_made_on_one_process_reaches_the_other_once(cluster, staff, connect):
    room = unique_room("announce")
    people = await join_spread(connect, cluster, room, ["Ana", "Bob"])

    said = await moderate(staff, cluster, cluster.ports[0], room, "announce", text="At 5")

    assert f"Announced in {room}: At 5" in said, said
    for name, client in people.items():
        await arrives(client, events.RECEIVE_MESSAGE, lambda m: m["message"] == "At 5", name)
        await client.send_marker()  # a second copy would have come before it
        heard = [m["message"] for m in client.events_named(events.RECEIVE_MESSAGE)]
        assert heard.count("At 5") == 1, f"{name} got the announcement twice"


async def test_a_message_deleted_on_one_process_leaves_the_other(cluster, staff, connect):
    room = unique_room("delete")
    people = await join_spread(connect, cluster, room, ["Ana", "Bob"])
    doomed = await people["Bob"].send("regrettable")  # sent on the far side
    kept = await people["Bob"].send("fine")

    said = await moderate(staff, cluster, cluster.ports[0], room, "delete", message_id=doomed["id"])

    assert any("regrettable" in text for text in said), said
    for name, client in people.items():
        deleted = await arrives(client, events.MESSAGE_DELETED, lambda _: True, name)
        assert deleted == {"id": doomed["id"], "room": room}
    latecomer = await connect(cluster, cluster.ports[1])
    await latecomer.join("Cem", room)
    assert [m["id"] for m in latecomer.history()] == [kept["id"]]


# 4. Transports through the proxy --------------------------------------------------------


async def test_polling_only_clients_on_both_processes_chat_through_the_proxy(cluster, connect):
    room = unique_room("polling")
    first, second = cluster.ports
    ana = await connect(cluster, first, transports=["polling"])
    bob = await connect(cluster, second, transports=["polling"])
    await ana.join("Ana", room)
    await bob.join("Bob", room)

    for turn in range(3):  # each a new long poll and POST on the process holding the session
        for sender, receiver in ((ana, bob), (bob, ana)):
            ack = await sender.send(f"round {turn}")
            assert ack["ok"], ack
            await receiver.wait_for_messages([ack["id"]])

    assert ana.sio.transport() == bob.sio.transport() == "polling"
    for client, home, away in ((ana, first, second), (bob, second, first)):
        session = client.sio.eio.sid
        assert cluster.requests_of(home, session) >= 6, "its polls went elsewhere"
        assert cluster.requests_of(away, session) == 0, "a poll went to the other process"


async def test_a_websocket_upgrade_works_through_the_proxy_on_both_processes(cluster, connect):
    room = unique_room("upgrade")
    first, second = cluster.ports
    ana = await connect(cluster, first)  # polling first, then the upgrade (within connect)
    bob = await connect(cluster, second)
    await ana.join("Ana", room)
    await bob.join("Bob", room)

    ack = await ana.send("upgraded")

    assert ana.sio.transport() == bob.sio.transport() == "websocket"
    assert ack["ok"], ack
    await bob.wait_for_messages([ack["id"]])
