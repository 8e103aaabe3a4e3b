"""The LOGGING setting: each log line is written once, at the level DJANGO_LOG_LEVEL sets."""

import logging
import runpy
from pathlib import Path

import engineio
import pytest
import socketio
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.log import configure_logging

SETTINGS_FILE = Path(__file__).resolve().parent.parent / "settings.py"

# (logger, level): what writes under `make run` and under `daphne chatsite.asgi:application`.
LOG_SOURCES = [
    ("django.channels.server", logging.INFO),  # Daphne's access lines under runserver
    ("django.utils.autoreload", logging.INFO),  # "Watching for file changes ..."
    ("django.request", logging.WARNING),  # "Not Found: /..."
    ("django.server", logging.INFO),  # runserver --noasgi
    ("daphne.server", logging.INFO),  # "Listening on TCP address ..."
    ("realtime.handlers", logging.ERROR),
    ("messaging.writer", logging.WARNING),
    ("socketio.server", logging.ERROR),
    ("engineio.server", logging.ERROR),
]


def handlers_in_reach(logger: logging.Logger) -> list[logging.Handler]:
    """The handlers a record from `logger` is offered to, as Logger.callHandlers walks them;
    pytest's own capturing handlers left out."""
    found = []
    current = logger
    while current:
        found.extend(h for h in current.handlers if not type(h).__module__.startswith("_pytest"))
        if not current.propagate:
            break
        current = current.parent
    return found


@pytest.fixture
def project_logging():
    """Logging configured from the settings, as django.setup() does, then Socket.IO and
    Engine.IO servers created, as chatsite.asgi creates them (they may add handlers then)."""
    configure_logging(settings.LOGGING_CONFIG, settings.LOGGING)
    socketio.AsyncServer(async_mode="asgi")
    engineio.AsyncServer(async_mode="asgi")


@pytest.mark.parametrize("debug", [True, False], ids=["debug", "no-debug"])
@pytest.mark.parametrize(("name", "level"), LOG_SOURCES, ids=[name for name, _ in LOG_SOURCES])
def test_a_record_is_emitted_by_exactly_one_handler(
    project_logging, settings, monkeypatch, debug, name, level
):
    settings.DEBUG = debug  # Django's default "django" handler filters on it at emit time
    logger = logging.getLogger(name)
    emitted = []
    for handler in handlers_in_reach(logger):
        monkeypatch.setattr(handler, "emit", lambda record, h=handler: emitted.append(h))

    logger.log(level, "one line")

    assert len(emitted) == 1, f"{name}: emitted by {emitted}"


def settings_with(monkeypatch, log_level: str | None) -> dict:
    """The settings module's names, run afresh with DJANGO_LOG_LEVEL set (or not)."""
    monkeypatch.setenv("DJANGO_SECRET_KEY", "tests-only-not-a-secret")
    if log_level is None:
        monkeypatch.delenv("DJANGO_LOG_LEVEL", raising=False)
    else:
        monkeypatch.setenv("DJANGO_LOG_LEVEL", log_level)
    return runpy.run_path(str(SETTINGS_FILE))


@pytest.mark.parametrize(
    ("log_level", "level", "socketio_level"),
    [
        (None, "INFO", "ERROR"),
        ("debug", "DEBUG", "ERROR"),
        ("WARNING", "WARNING", "ERROR"),
        ("CRITICAL", "CRITICAL", "CRITICAL"),
    ],
)
def test_django_log_level_sets_the_levels(monkeypatch, log_level, level, socketio_level):
    logging_setting = settings_with(monkeypatch, log_level)["LOGGING"]

    assert logging_setting["root"]["level"] == level
    assert logging_setting["loggers"]["django"]["level"] == level
    assert logging_setting["loggers"]["socketio.server"]["level"] == socketio_level


def test_an_unknown_django_log_level_is_refused(monkeypatch):
    with pytest.raises(ImproperlyConfigured, match="DJANGO_LOG_LEVEL"):
        settings_with(monkeypatch, "LOUD")
