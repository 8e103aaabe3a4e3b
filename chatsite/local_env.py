"""The local `.env` file: where it is, and the settings a first run writes into it.

Plain Python, no Django: it runs before the settings can load (they need a secret key).
Settings are only ever added (a missing one appended, an empty one filled in where it
stands); lines already there are never changed. Once a generated value is written, the file
is readable by its owner only. `python -m chatsite.local_env` is `make run`'s first step.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Callable, Mapping
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
ENV_FILE_SETTING = "DJANGO_ENV_FILE"

# What a first local run needs so that every `manage.py` command works as typed.
FIRST_RUN: dict[str, Callable[[], str]] = {
    "DJANGO_DEBUG": lambda: "true",
    "DJANGO_SECRET_KEY": lambda: secrets.token_urlsafe(50),
}


def env_file_path() -> Path:
    """`DJANGO_ENV_FILE` when set, otherwise `.env` beside manage.py."""
    return Path(os.environ.get(ENV_FILE_SETTING) or BASE_DIR / ".env")


def _setting_line(name: str) -> re.Pattern[str]:
    return re.compile(rf"^\s*(?:export\s+)?{re.escape(name)}\s*=\s*(.*?)\s*$")


def env_file_values(env_file: Path, names: list[str]) -> dict[str, str]:
    """The non-empty values `env_file` gives these settings (quotes removed)."""
    lines = env_file.read_text().splitlines() if env_file.exists() else []
    values = {}
    for name in names:
        pattern = _setting_line(name)
        for line in lines:
            if (match := pattern.match(line)) and (value := match.group(1).strip("'\"")):
                values[name] = value
                break
    return values


def env_file_add_missing(
    env_file: Path, settings: Mapping[str, Callable[[], str]]
) -> dict[str, str]:
    """Each setting's value in `env_file`; one missing or empty there gets the value its
    function makes, written in place of its empty line or at the end."""
    lines = env_file.read_text().splitlines() if env_file.exists() else []
    values = env_file_values(env_file, list(settings))
    missing = [name for name in settings if name not in values]
    for name in missing:
        values[name] = settings[name]()
        line = f"{name}={values[name]}"
        pattern = _setting_line(name)
        empty = next((n for n, text in enumerate(lines) if pattern.match(text)), None)
        if empty is None:
            lines.append(line)
        else:
            lines[empty] = line
    if missing:
        env_file.touch(mode=0o600)
        env_file.chmod(0o600)  # it holds a generated secret from now on
        env_file.write_text("\n".join(lines) + "\n")
    return values


def local_env_first_run(env_file: Path) -> list[str]:
    """Give a local `.env` debug on and a generated secret key unless it sets them already;
    returns the names it wrote."""
    missing = [name for name in FIRST_RUN if name not in env_file_values(env_file, [*FIRST_RUN])]
    env_file_add_missing(env_file, FIRST_RUN)
    return missing


if __name__ == "__main__":
    path = env_file_path()
    if written := local_env_first_run(path):
        print(f"{path}: wrote {', '.join(written)} (local use only; never commit it).")
