"""The JSON python-socketio encodes and decodes packets with: orjson, behind the `dumps` /
`loads` pair python-socketio's documented `json` option expects.

orjson refuses some text the standard library takes (a lone surrogate in a string, which a
client can send as `\\ud800`); such packets go through the standard library both ways, so
every client is answered as before. orjson reads an integer past 64 bits as a float; the
payload checks refuse a float wherever a whole number is wanted.
"""

from __future__ import annotations

import json
from typing import Any

import orjson


class OrjsonCodec:
    @staticmethod
    def dumps(data: Any, *args: Any, **kwargs: Any) -> str:
        """Compact JSON (python-socketio asks for compact separators: orjson's own)."""
        try:
            return orjson.dumps(data).decode()
        except orjson.JSONEncodeError:
            return json.dumps(data, separators=(",", ":"))

    @staticmethod
    def loads(text: str | bytes, *args: Any, **kwargs: Any) -> Any:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            return json.loads(text)
