import uuid

import pytest

from messaging.store import Message
from messaging.writer import MessageWriter


class ServerClock:
    """Stands in for the server's wall clock; `ms` is the current time in milliseconds."""

    def __init__(self, ms: int):
        self.ms = ms

    def time(self) -> float:
        # Half a millisecond in, as a real clock would be, so float rounding never
        # lands on the previous millisecond.
        return (self.ms + 0.5) / 1000


@pytest.fixture
def server_clock(monkeypatch) -> ServerClock:
    clock = ServerClock(ms=1_750_000_000_000)
    monkeypatch.setattr("messaging.store.time", clock)
    return clock


@pytest.fixture
def room() -> str:
    """A room of this test only (the HarperDB table is shared by the whole session)."""
    return f"room-{uuid.uuid4()}"


async def run_directly(function, /, *args, **kwargs):
    return function(*args, **kwargs)


@pytest.fixture
def delivered() -> list[Message]:
    return []


@pytest.fixture
def start_writer(delivered):
    """Starts MessageWriters over a given store; what they deliver lands in `delivered`."""
    writers = []

    async def deliver_to_room(message: Message) -> None:
        delivered.append(message)

    def start(
        store,
        *,
        deliver=deliver_to_room,
        run_blocking=run_directly,
        retry_seconds=0.3,
        queue_max=1_000,
    ):
        writer = MessageWriter(
            store=store,
            deliver=deliver,
            run_blocking=run_blocking,
            retry_seconds=retry_seconds,
            queue_max=queue_max,
        )
        writers.append(writer)
        return writer

    yield start
    for writer in writers:  # the writer's loop runs forever; the test's event loop does not
        if writer._task is not None:
            writer._task.cancel()
