"""The pages' protocol module names exactly what the server sends and accepts."""

import re
from pathlib import Path

from chatsite import events
from chatsite.errors import ErrorCode

PROTOCOL_JS = Path(__file__).resolve().parent.parent / "static" / "devrooms" / "protocol.js"


def js_constants() -> dict[str, str]:
    return dict(re.findall(r'^export const (\w+) = "([^"]*)";', PROTOCOL_JS.read_text(), re.M))


def js_enum(name: str) -> dict[str, str]:
    block = PROTOCOL_JS.read_text().split(f"{name} = Object.freeze({{", 1)[1].split("})", 1)[0]
    return dict(re.findall(r'(\w+): "([^"]*)"', block))


def test_every_event_name_and_the_chatbot_name_are_the_servers():
    server = {
        name: value
        for name, value in vars(events).items()
        if name.isupper() and isinstance(value, str)
    }
    assert js_constants() == server


def test_every_error_code_is_the_servers():
    assert js_enum("ErrorCode") == {code.name: code.value for code in ErrorCode}


def test_every_kind_of_removal_is_the_servers():
    assert js_enum("RemovalKind") == {kind.name: kind.value for kind in events.Removal}
