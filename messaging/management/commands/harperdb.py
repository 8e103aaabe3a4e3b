"""`python manage.py harperdb start|stop|status|setup`: the local HarperDB and its table."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from messaging import local_harperdb
from messaging.harperdb import HarperDBError, configured_url
from messaging.store import harperdb_store


class Command(BaseCommand):
    help = "Start, stop or inspect the local HarperDB; `setup` creates the database and table."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["start", "stop", "status", "setup"])

    def handle(self, *args, action: str, **options):
        try:
            if action == "setup":
                harperdb_store().bootstrap()
                self.stdout.write(
                    f"HarperDB {settings.HARPERDB_DATABASE}.{settings.HARPERDB_TABLE} is ready."
                )
                return
            if settings.HARPERDB_URL:
                self.stdout.write(f"HARPERDB_URL is set ({configured_url()}): nothing to {action}.")
                return
            local = local_harperdb.from_settings()
            if action == "start":
                started = local.start()
                verb = "started" if started else "already running"
                self.stdout.write(f"HarperDB {verb} on {local.url} (data in {local.root}).")
            elif action == "stop":
                stopped = local.stop()
                self.stdout.write("HarperDB stopped." if stopped else "HarperDB was not running.")
            else:
                state = "answering" if local.answers() else "not answering"
                self.stdout.write(f"HarperDB on {local.url}: {state}; PID {local.pid() or '-'}.")
        except (HarperDBError, local_harperdb.LocalHarperDBError) as error:
            raise CommandError(str(error)) from error
