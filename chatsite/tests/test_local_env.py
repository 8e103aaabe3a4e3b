"""The local `.env` of a first run: debug on and a generated secret key, added without
touching what is there, so that the README's `manage.py` commands work as typed."""

import stat
import subprocess
import sys
from pathlib import Path

from chatsite.local_env import env_file_add_missing, env_file_values, local_env_first_run

PROJECT_DIR = Path(__file__).resolve().parents[2]
SECRET_KEY_MISSING = "Set DJANGO_SECRET_KEY, or DJANGO_DEBUG=true locally."


def test_a_first_run_writes_debug_on_and_a_long_generated_secret_key(tmp_path):
    env_file = tmp_path / ".env"
    assert local_env_first_run(env_file) == ["DJANGO_DEBUG", "DJANGO_SECRET_KEY"]
    values = env_file_values(env_file, ["DJANGO_DEBUG", "DJANGO_SECRET_KEY"])
    assert values["DJANGO_DEBUG"] == "true"
    assert len(values["DJANGO_SECRET_KEY"]) >= 50
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600


def test_two_first_runs_make_two_different_secret_keys(tmp_path):
    local_env_first_run(tmp_path / "a.env")
    local_env_first_run(tmp_path / "b.env")
    keys = [env_file_values(tmp_path / name, ["DJANGO_SECRET_KEY"]) for name in ("a.env", "b.env")]
    assert keys[0] != keys[1]


def test_a_later_run_changes_nothing(tmp_path):
    env_file = tmp_path / ".env"
    local_env_first_run(env_file)
    written = env_file.read_text()
    assert local_env_first_run(env_file) == []
    assert env_file.read_text() == written


def test_settings_already_there_are_kept_and_other_lines_left_as_they_are(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text(
        "# mine\nexport DJANGO_DEBUG=false\nHARPERDB_PASSWORD='kept'\nDJANGO_SECRET_KEY=\n"
    )
    assert local_env_first_run(env_file) == ["DJANGO_SECRET_KEY"]
    lines = env_file.read_text().splitlines()
    assert lines[:3] == ["# mine", "export DJANGO_DEBUG=false", "HARPERDB_PASSWORD='kept'"]
    assert lines[3].startswith("DJANGO_SECRET_KEY=")
    assert len(lines[3]) > 60
    assert len(lines) == 4


def test_a_missing_setting_is_appended_and_its_value_returned_with_the_others(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text('A="one"\n')
    values = env_file_add_missing(env_file, {"A": lambda: "new", "B": lambda: "two"})
    assert values == {"A": "one", "B": "two"}
    assert env_file.read_text() == 'A="one"\nB=two\n'


def run(*command: str, env_file: Path, **extra: str) -> subprocess.CompletedProcess:
    """A command as a new user types it: no DJANGO_* in the environment, the project's
    settings reading `env_file` instead of the project's own `.env`."""
    return subprocess.run(
        [sys.executable, *command],
        cwd=PROJECT_DIR,
        env={"PATH": "/usr/bin:/bin", "DJANGO_ENV_FILE": str(env_file), **extra},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_after_make_runs_set_up_step_the_readmes_createsuperuser_works_as_typed(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text(f"DATABASE_URL=sqlite:///{tmp_path / 'db.sqlite3'}\n")
    before = run("manage.py", "check", env_file=env_file)
    assert before.returncode != 0
    assert SECRET_KEY_MISSING in before.stderr

    set_up = run("-m", "chatsite.local_env", env_file=env_file)
    assert set_up.returncode == 0, set_up.stderr
    assert "DJANGO_SECRET_KEY" in set_up.stdout
    for command in (["check"], ["migrate", "--noinput", "-v", "0"]):
        completed = run("manage.py", *command, env_file=env_file)
        assert completed.returncode == 0, completed.stderr
    created = run(
        "manage.py",
        "createsuperuser",
        "--noinput",
        "--username=ada",
        "--email=ada@example.com",
        env_file=env_file,
        DJANGO_SUPERUSER_PASSWORD="a long enough password",
    )
    assert created.returncode == 0, created.stderr
    assert "Superuser created successfully." in created.stdout
