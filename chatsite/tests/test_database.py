"""Django's database as the settings open it."""

import pytest
from django.db import connection
from django.db.backends.sqlite3.base import DatabaseWrapper


@pytest.mark.skipif(connection.vendor != "sqlite", reason="DATABASE_URL is not SQLite")
def test_a_sqlite_database_file_is_opened_with_a_write_ahead_log(tmp_path, django_db_blocker):
    opened = DatabaseWrapper({**connection.settings_dict, "NAME": str(tmp_path / "db.sqlite3")})
    try:
        with django_db_blocker.unblock(), opened.cursor() as cursor:
            cursor.execute("PRAGMA journal_mode")
            assert cursor.fetchone() == ("wal",)
    finally:
        opened.close()
