"""Daphne on uvloop: `python -m chatsite.serve [daphne's arguments]`.

Daphne builds its event loop when `daphne.server` is first imported (Twisted's asyncio
reactor runs on it), so the loop policy is set before that import. Everything after is
Daphne's own command line. CHAT_UVLOOP=false (or uvloop missing) keeps asyncio's own loop.
"""

import asyncio
import os

import environ

from chatsite.local_env import env_file_path


def _use_uvloop() -> bool:
    # Settings are read later, by Django; CHAT_UVLOOP may also stand in the local env file.
    environ.Env.read_env(env_file_path())
    if os.environ.get("CHAT_UVLOOP", "true").lower() in ("0", "false", "no", "off"):
        return False
    try:
        import uvloop
    except ImportError:
        return False
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return True


def main() -> None:
    _use_uvloop()
    from daphne.cli import CommandLineInterface

    CommandLineInterface.entrypoint()


if __name__ == "__main__":
    main()
