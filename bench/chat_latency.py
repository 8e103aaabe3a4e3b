"""End-to-end chat speed: messages through Daphne, the writer and a real HarperDB.

Starts its own HarperDB and DevRooms server on free ports, connects `--clients` socket.io
clients to one room, and lets each send `--messages` messages (each waits for its ack
before the next). Prints the throughput and the delay from send to every member's receipt.

    .venv/bin/python bench/chat_latency.py [--clients 20] [--messages 50]
"""

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.test_settings")

import django

django.setup()

from messaging.local_harperdb import LocalHarperDB
from messaging.store import HarperDBMessageStore
from tests.chat_client import ChatClient
from tests.live_server import start_chat_server


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def run(url: str, clients: int, messages: int) -> None:
    room = f"bench-{time.time_ns()}"
    members = [ChatClient(url) for _ in range(clients)]
    for number, member in enumerate(members):
        await member.connect(transports=["websocket"])
        await member.join(f"member{number}", room)
    sent_at: dict[str, float] = {}

    async def talk(member: ChatClient, number: int) -> None:
        for sequence in range(messages):
            text = f"{number}-{sequence}"
            sent_at[text] = time.perf_counter()
            ack = await member.send(text)
            assert ack["ok"], ack

    started = time.perf_counter()
    await asyncio.gather(*(talk(member, number) for number, member in enumerate(members)))
    total = clients * messages
    while min(len(m.messages()) for m in members) < total:
        await asyncio.sleep(0.05)
    elapsed = time.perf_counter() - started
    delays = [
        (arrived - sent_at[data["message"]]) * 1000
        for member in members
        for arrived, data in member.arrivals
    ]
    print(f"clients={clients} messages={total} deliveries={len(delays)}")
    print(
        f"throughput: {total / elapsed:.0f} messages/s stored and fanned out "
        f"({len(delays) / elapsed:.0f} deliveries/s) in {elapsed:.2f}s"
    )
    print(
        f"send -> receipt ms: p50={statistics.median(delays):.1f} "
        f"p95={percentile(delays, 0.95):.1f} p99={percentile(delays, 0.99):.1f} "
        f"max={max(delays):.1f}"
    )
    for member in members:
        await member.disconnect()


def main(arguments) -> None:
    with tempfile.TemporaryDirectory() as folder:
        harperdb = LocalHarperDB.on_free_ports(
            Path(folder) / "harperdb", username="bench", password="bench-password"
        )
        harperdb.start()
        server = None
        try:
            HarperDBMessageStore(
                harperdb.client(), database="devrooms_bench", table="messages"
            ).bootstrap()
            server = start_chat_server(
                Path(folder) / "server",
                {
                    "HARPERDB_URL": harperdb.url,
                    "HARPERDB_USERNAME": "bench",
                    "HARPERDB_PASSWORD": "bench-password",
                    "HARPERDB_DATABASE": "devrooms_bench",
                },
                DJANGO_LOG_LEVEL="WARNING",
            )
            asyncio.run(run(server.url, arguments.clients, arguments.messages))
        finally:
            if server is not None:
                server.stop()
            harperdb.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--messages", type=int, default=50)
    main(parser.parse_args())
