"""This process's metrics, served at /metrics in Prometheus' text format.

The layers above update these objects where things happen (a counter per batch, not per
delivery, where they can). What is cheaper to read than to track (open connections, people
per room) is read when scraped, from functions plugged in at startup (`install`). Every
number is this process's own: scrape each process, not the proxy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client import REGISTRY, Counter, Gauge, Histogram, disable_created_metrics
from prometheus_client.core import GaugeHistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

disable_created_metrics()  # no `_created` series beside every counter

CONNECTIONS = Gauge("devrooms_connections", "Open Socket.IO connections to this process.")
MESSAGES_STORED = Counter(
    "devrooms_messages_stored", "Chat messages this process wrote to the message store."
)
MESSAGES_DELIVERED = Counter(
    "devrooms_messages_delivered",
    "Stored chat messages this process published to their room (once each, not per recipient).",
)
STORE_SECONDS = Histogram(
    "devrooms_store_seconds",
    "One attempt to store a batch of messages (its idempotency lookup and its insert).",
)
WRITER_QUEUE = Gauge("devrooms_writer_queue", "Messages waiting for the writer to store them.")
HARPERDB_ERRORS = Counter(
    "devrooms_harperdb_errors",
    "HarperDB requests that failed: unavailable (unreachable, timed out, 502-504) or refused.",
    ["kind"],
)
for _kind in ("unavailable", "refused"):
    HARPERDB_ERRORS.labels(_kind)

# People per room as a gauge histogram: how many rooms hold at most `le` people. Fixed
# buckets keep the series bounded however many rooms there are, and no room name (user
# text) becomes a label.
ROOM_PEOPLE_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)


class RoomPeople(Collector):
    """`devrooms_room_people`: rooms by how many people are in them, read when scraped."""

    def __init__(self) -> None:
        self.source: Callable[[], dict[str, int]] | None = None

    def collect(self) -> Iterable[Metric]:
        if self.source is None:
            return []
        return [room_people_family(self.source().values())]


def room_people_family(sizes: Iterable[int]) -> GaugeHistogramMetricFamily:
    """The gauge histogram of these room sizes (`_gcount`: rooms, `_gsum`: people)."""
    sizes = [size for size in sizes if size > 0]
    buckets = [
        (floatToGoString(bound), sum(1 for size in sizes if size <= bound))
        for bound in ROOM_PEOPLE_BUCKETS
    ]
    return GaugeHistogramMetricFamily(
        "devrooms_room_people",
        "Rooms with people in them, by how many people each holds.",
        buckets=[*buckets, ("+Inf", len(sizes))],
        gsum_value=sum(sizes),
    )


ROOM_PEOPLE = RoomPeople()
REGISTRY.register(ROOM_PEOPLE)


def install(*, connections: Callable[[], int], room_people: Callable[[], dict[str, int]]) -> None:
    """Plug in what is read when scraped: open connections, and people per room."""
    CONNECTIONS.set_function(connections)
    ROOM_PEOPLE.source = room_people
