"""Daphne on uvloop and the flushing reactor: `python -m chatsite.serve [daphne's arguments]`.

Daphne builds its event loop when `daphne.server` is first imported (Twisted's asyncio
reactor runs on it), so the loop policy is set, and `chatsite.reactor` installed, before
that import; Daphne keeps an asyncio reactor it finds installed. Everything after is
Daphne's own command line. CHAT_UVLOOP=false (or uvloop missing) keeps asyncio's own loop;
CHAT_FLUSHING_REACTOR=false keeps Twisted's stock reactor. The app is loaded before Daphne
starts, so that garbage collection can leave it alone (`_tune_gc`).

`-b HOST -p PORT` become the same TCP endpoint with a listen backlog of CHAT_LISTEN_BACKLOG
(1024): with Twisted's default of 50, hundreds of clients connecting at once (a restart, a
proxy failing over) overflow the queue, and each dropped client waits a second for its
SYN to be sent again.
"""

import argparse
import asyncio
import gc
import os
import sys
from importlib import import_module

import environ

from chatsite.local_env import env_file_path

OFF = ("0", "false", "no", "off")


def _use_uvloop() -> bool:
    if os.environ.get("CHAT_UVLOOP", "true").lower() in OFF:
        return False
    try:
        import uvloop
    except ImportError:
        return False
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return True


def with_backlog(arguments: list[str], backlog: int) -> list[str]:
    """Daphne's arguments, with `-b/--bind` and `-p/--port` given as an endpoint that has
    this listen backlog (Daphne's CLI has no option for it)."""
    from daphne.endpoints import build_endpoint_description_strings

    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("-b", "--bind")
    parser.add_argument("-p", "--port", type=int)
    known, rest = parser.parse_known_args(arguments)
    if known.bind is None or known.port is None:
        return arguments
    [endpoint] = build_endpoint_description_strings(host=known.bind, port=known.port)
    return ["-e", f"{endpoint}:backlog={backlog}", *rest]


def _install_reactor() -> None:
    """The flushing reactor (`chatsite.reactor`) on a new loop, where Daphne would install
    the stock one; CHAT_FLUSHING_REACTOR=false leaves that to Daphne."""
    if os.environ.get("CHAT_FLUSHING_REACTOR", "true").lower() in OFF:
        return
    from chatsite import reactor

    reactor.install(asyncio.new_event_loop())


def _tune_gc() -> None:
    """Fewer, shorter garbage collections while serving. Python's young-generation threshold
    (700 net new container objects) ran a collection about every 45 ms at 1,500 messages/s,
    and its full collections walked everything Django and the app had loaded: one took
    117 ms, a pause every connection felt. So the app is loaded first, and what it loaded
    is frozen out of collections (`gc.freeze`); then CHAT_GC_YOUNG_THRESHOLD (20000) net
    new objects start a collection. Most objects die by reference counting and never count;
    cycles wait for the next collection. CHAT_GC_FREEZE=false / CHAT_GC_YOUNG_THRESHOLD=700
    give Python's own behaviour back."""
    import_module("chatsite.asgi")
    if os.environ.get("CHAT_GC_FREEZE", "true").lower() not in OFF:
        gc.freeze()
    _young, older, oldest = gc.get_threshold()
    gc.set_threshold(int(os.environ.get("CHAT_GC_YOUNG_THRESHOLD", "20000")), older, oldest)


def main() -> None:
    # Django reads its settings later; these switches may also stand in the local env file.
    environ.Env.read_env(env_file_path())
    _use_uvloop()
    _install_reactor()
    _tune_gc()
    from daphne.cli import CommandLineInterface

    backlog = int(os.environ.get("CHAT_LISTEN_BACKLOG", "1024"))
    CommandLineInterface().run(with_backlog(sys.argv[1:], backlog))


if __name__ == "__main__":
    main()
