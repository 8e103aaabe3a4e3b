"""`python -m chatsite.serve` runs Daphne on uvloop unless told not to."""

import subprocess
import sys

import pytest

LOOP_AFTER_SETUP = (
    "import asyncio; from chatsite import serve; serve._use_uvloop(); "
    "print(type(asyncio.new_event_loop()).__module__)"
)


@pytest.mark.parametrize(("setting", "loop_module"), [("true", "uvloop"), ("false", "asyncio")])
def test_the_event_loop_is_uvloop_unless_chat_uvloop_is_off(setting, loop_module):
    completed = subprocess.run(
        [sys.executable, "-c", LOOP_AFTER_SETUP],
        env={"CHAT_UVLOOP": setting, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert completed.stdout.strip().startswith(loop_module)
