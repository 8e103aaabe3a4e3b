"""Stopping a server that was started in a process group of its own (tests, benchmarks)."""

from __future__ import annotations

import os
import signal
import subprocess


def stop_process_group(process: subprocess.Popen, *, timeout: float = 20.0) -> bool:
    """SIGTERM to the process, then SIGKILL to its whole group if it has not exited within
    `timeout` seconds (what it started goes with it). True when it had to be killed."""
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=timeout)
        return False
    except subprocess.TimeoutExpired:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()
        return True
