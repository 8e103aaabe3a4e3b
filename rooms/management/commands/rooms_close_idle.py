"""`manage.py rooms_close_idle`: close the rooms visitors made that nobody uses.

Run it daily (cron or a systemd timer). It reads who joined from the database, since who is in
a room right now is known only inside the server process: a room counts as used when someone
joined it (rooms.services refreshes `last_joined_at` at most hourly) or posted in it within
the period.
"""

from datetime import timedelta

from asgiref.sync import async_to_sync
from django.conf import settings
from django.core.management.base import BaseCommand
from django.db.models import Q
from django.utils import timezone

from messaging.selectors import message_rooms_stats
from rooms.models import Room
from rooms.services import room_close


def idle_rooms(*, days: int) -> list[Room]:
    """Open rooms made by visitors over `days` ago that nobody joined or posted in since.

    Their messages are read in one HarperDB request per hundred rooms."""
    cutoff = timezone.now() - timedelta(days=days)
    candidates = list(
        Room.objects.filter(is_closed=False, created_at__lt=cutoff)
        .exclude(creator_key="")
        .filter(Q(last_joined_at__isnull=True) | Q(last_joined_at__lt=cutoff))
    )
    cutoff_ms = int(cutoff.timestamp() * 1000)
    stats = async_to_sync(message_rooms_stats)(
        rooms=[room.name for room in candidates], now_ms=cutoff_ms
    )
    return [room for room in candidates if (stats[room.name].last_message_ms or 0) < cutoff_ms]


class Command(BaseCommand):
    help = "Close rooms made by visitors that nobody joined or posted in for CHAT_ROOM_IDLE_DAYS."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--days", type=int, help="instead of CHAT_ROOM_IDLE_DAYS")
        parser.add_argument("--dry-run", action="store_true", help="list them, close none")

    def handle(self, *args, days: int | None, dry_run: bool, **options) -> None:
        idle = idle_rooms(days=settings.CHAT_ROOM_IDLE_DAYS if days is None else days)
        for room in idle:
            if not dry_run:
                room_close(room_id=room.pk)
            self.stdout.write(f"{'Idle' if dry_run else 'Closed'}: {room.name}")
        self.stdout.write(f"{len(idle)} idle rooms{'' if dry_run else ' closed'}.")
