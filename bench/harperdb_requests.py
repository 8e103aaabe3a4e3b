"""How many HarperDB requests the group-commit writer makes per 1,000 messages.

Starts its own HarperDB on free ports (or uses HARPERDB_URL), then posts messages through the
real writer and store: once as a burst (every message submitted at once, as many people
sending together), once one at a time (low load). Prints requests, batches and rates; then
the CPU time one HarperDB request costs this process (the client) and, when it started
HarperDB itself, HarperDB, over --lookups client_id lookups made one after another.

    .venv/bin/python bench/harperdb_requests.py [--messages 1000] [--senders 50] [--lookups 2000]
"""

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.test_settings")

import django

django.setup()

from harness import process_cpu_seconds  # noqa: E402

from messaging.backend import in_harperdb_pool  # noqa: E402
from messaging.harperdb import HarperDBClient  # noqa: E402
from messaging.local_harperdb import LocalHarperDB  # noqa: E402
from messaging.store import HarperDBMessageStore, Message, MessageIdClock  # noqa: E402
from messaging.writer import MessageWriter  # noqa: E402


async def post(writer: MessageWriter, clock: MessageIdClock, room: str, number: int, sender: int):
    message = Message.compose(
        room=room,
        username=f"sender{sender}",
        text=f"message {number} " + "lorem ipsum " * 8,
        client_id=f"{room}-{number}",
        clock=clock,
    )
    return await writer.submit(message)


async def measure(client: HarperDBClient, store, *, messages: int, senders: int, burst: bool):
    delivered = []

    async def deliver(message):
        delivered.append(message)

    writer = MessageWriter(
        store=store,
        deliver=deliver,
        run_blocking=in_harperdb_pool,
        retry_seconds=30,
        queue_max=100_000,
    )
    clock = MessageIdClock()
    room = f"bench-{time.time_ns()}"
    before = client.requests_sent
    started = time.perf_counter()
    if burst:
        await asyncio.gather(*(post(writer, clock, room, n, n % senders) for n in range(messages)))
    else:
        for n in range(messages):
            await post(writer, clock, room, n, 0)
    elapsed = time.perf_counter() - started
    requests = client.requests_sent - before
    assert len(delivered) == messages
    assert len(store.latest(room=room, limit=messages)) == messages
    label = f"burst of {messages} from {senders} senders" if burst else f"{messages} one at a time"
    print(
        f"{label:<34} requests={requests:>5}  batches={writer.batches_stored:>5}  "
        f"requests/1000 msgs={requests * 1000 / messages:>7.1f}  "
        f"msgs/s={messages / elapsed:>8.0f}  elapsed={elapsed:.2f}s"
    )


def measure_request_cpu(store, *, lookups: int, harperdb_pid: int | None) -> None:
    for number in range(lookups):  # warm up the connection and HarperDB (its JIT)
        store.find_by_client_keys([f"warmup-{number}"])
    harperdb_before = process_cpu_seconds(harperdb_pid) if harperdb_pid else None
    client_before, started = time.process_time(), time.perf_counter()
    for number in range(lookups):
        store.find_by_client_keys([f"absent-{number}"])
    client_us = (time.process_time() - client_before) * 1e6 / lookups
    wall_us = (time.perf_counter() - started) * 1e6 / lookups
    harperdb_us = (
        f"{(process_cpu_seconds(harperdb_pid) - harperdb_before) * 1e6 / lookups:.0f}"
        if harperdb_pid
        else "-"
    )
    print(
        f"{lookups} lookups one at a time: client CPU {client_us:.0f} us/request, "
        f"HarperDB CPU {harperdb_us} us/request, {wall_us:.0f} us/request wall"
    )


async def main(arguments) -> None:
    with tempfile.TemporaryDirectory() as folder:
        harperdb = None
        if os.environ.get("HARPERDB_URL"):
            if not os.environ.get("HARPERDB_PASSWORD"):
                raise SystemExit("HARPERDB_URL is set: set HARPERDB_PASSWORD (and _USERNAME) too.")
            client = HarperDBClient(
                url=os.environ["HARPERDB_URL"],
                username=os.environ.get("HARPERDB_USERNAME", "devrooms"),
                password=os.environ["HARPERDB_PASSWORD"],
            )
        else:
            harperdb = LocalHarperDB.on_free_ports(
                Path(folder), username="bench", password="bench-password"
            )
            harperdb.start()
            client = harperdb.client()
            client.timeout = 10
        try:
            store = HarperDBMessageStore(client, database="devrooms_bench", table="messages")
            store.bootstrap()
            await measure(
                client, store, messages=arguments.messages, senders=arguments.senders, burst=True
            )
            await measure(
                client, store, messages=min(arguments.messages, 200), senders=1, burst=False
            )
            measure_request_cpu(
                store,
                lookups=arguments.lookups,
                harperdb_pid=harperdb.pid() if harperdb is not None else None,
            )
        finally:
            if harperdb is not None:
                harperdb.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--senders", type=int, default=50)
    parser.add_argument("--lookups", type=int, default=2000)
    asyncio.run(main(parser.parse_args()))
