"""`python -m chatsite.serve` runs Daphne on uvloop and the flushing reactor unless told not
to, with a listen backlog."""

import os
import subprocess
import sys

import pytest

from chatsite.serve import with_backlog


def python(code: str, environment: dict[str, str]) -> subprocess.CompletedProcess:
    """`code` run by this Python in a process of its own (the loop policy, the reactor and
    the collector are process-wide)."""
    return subprocess.run(
        [sys.executable, "-c", code], env=environment, capture_output=True, text=True, check=True
    )


LOOP_AFTER_SETUP = (
    "import asyncio; from chatsite import serve; serve._use_uvloop(); "
    "print(type(asyncio.new_event_loop()).__module__)"
)


@pytest.mark.parametrize(("setting", "loop_module"), [("true", "uvloop"), ("false", "asyncio")])
def test_the_event_loop_is_uvloop_unless_chat_uvloop_is_off(setting, loop_module):
    completed = python(LOOP_AFTER_SETUP, {"CHAT_UVLOOP": setting, "PATH": "/usr/bin:/bin"})
    assert completed.stdout.strip().startswith(loop_module)


REACTOR_DAPHNE_RUNS_ON = (
    "from chatsite import serve; serve._use_uvloop(); serve._install_reactor(); "
    "import daphne.server; from twisted.internet import reactor; "
    "print(type(reactor).__name__, type(reactor._asyncioEventloop).__module__)"
)


@pytest.mark.parametrize(
    ("setting", "reactor_class"),
    [("true", "FlushingAsyncioReactor"), ("false", "AsyncioSelectorReactor")],
)
def test_daphne_runs_on_the_flushing_reactor_unless_it_is_off(setting, reactor_class):
    environment = {"CHAT_FLUSHING_REACTOR": setting, "PATH": "/usr/bin:/bin"}
    completed = python(REACTOR_DAPHNE_RUNS_ON, environment)
    assert completed.stdout.split() == [reactor_class, "uvloop"]
    assert "non-asyncio Twisted reactor" not in completed.stderr


GC_AFTER_SETUP = (
    "import gc; from chatsite import serve; serve._use_uvloop(); serve._install_reactor(); "
    "serve._tune_gc(); print(gc.get_threshold()[0], gc.get_freeze_count() > 0)"
)


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({}, "20000 True"),
        ({"CHAT_GC_FREEZE": "false", "CHAT_GC_YOUNG_THRESHOLD": "700"}, "700 False"),
    ],
)
def test_the_app_is_loaded_then_left_out_of_garbage_collections_unless_told(settings, expected):
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("CHAT_GC_")}
    environment = {**inherited, "DJANGO_SETTINGS_MODULE": "chatsite.test_settings", **settings}
    completed = python(GC_AFTER_SETUP, environment)
    assert completed.stdout.split()[-2:] == expected.split()


APP = "chatsite.asgi:application"


def test_host_and_port_become_one_endpoint_with_the_backlog():
    arguments = ["-b", "127.0.0.1", "-p", "8001", "--proxy-headers", APP]
    assert with_backlog(arguments, 1024) == [
        "-e",
        "tcp:port=8001:interface=127.0.0.1:backlog=1024",
        "--proxy-headers",
        APP,
    ]


def test_an_ipv6_host_is_escaped_as_daphne_does():
    assert with_backlog(["--bind", "::1", "--port", "8001", APP], 64)[:2] == [
        "-e",
        r"tcp:port=8001:interface=\:\:1:backlog=64",
    ]


def test_other_ways_of_listening_are_left_to_daphne():
    for arguments in (["-u", "/run/devrooms.sock", APP], ["--fd", "3", APP], [APP]):
        assert with_backlog(arguments, 1024) == arguments
