"""How many Socket.IO connections one client address, and the whole process, may hold.

Past a cap a new connection is refused at connect with a reason the client sees
(`connect_error`); those already connected keep being served.
"""

from __future__ import annotations

from collections import Counter

from django.conf import settings
from socketio.exceptions import ConnectionRefusedError

TOO_MANY_FROM_ADDRESS = "Too many connections from your address; close some tabs and retry."
SERVER_FULL = "The chat server is full right now; please retry in a minute."


class ConnectionCaps:
    def __init__(self) -> None:
        self.open: Counter[str] = Counter()

    def admit(self, address: str) -> None:
        """Count a new connection from `address`, or refuse it."""
        if self.open.total() >= settings.CHAT_MAX_CONNECTIONS:
            raise ConnectionRefusedError(SERVER_FULL)
        if self.open[address] >= settings.CHAT_MAX_CONNECTIONS_PER_IP:
            raise ConnectionRefusedError(TOO_MANY_FROM_ADDRESS)
        self.open[address] += 1

    def release(self, address: str) -> None:
        self.open[address] -= 1
        if self.open[address] <= 0:
            del self.open[address]


connection_caps = ConnectionCaps()
