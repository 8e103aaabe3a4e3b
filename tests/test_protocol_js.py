"""The pages' protocol module names exactly what the server sends and accepts."""

import re
from pathlib import Path

from chatsite import events
from chatsite.errors import ErrorCode

PROTOCOL_JS = Path(__file__).resolve().parent.parent / "static" / "devrooms" / "protocol.js"


def js_constants() -> dict[str, str]:
    return dict(re.findall(r'^export const (\w+) = "([^"]*)";', PROTOCOL_JS.read_text(), re.M))


def js_error_codes() -> dict[str, str]:
    block = PROTOCOL_JS.read_text().split("ErrorCode = Object.freeze({", 1)[1].split("})", 1)[0]
    return dict(re.findall(r'(\w+): "([^"]*)"', block))


def test_every_event_name_and_the_chatbot_name_are_the_servers():
    server = {
        name: value
        for name, value in vars(events).items()
        if name.isupper() and isinstance(value, str)
    }
    assert js_constants() == server


def test_every_error_code_is_the_servers():
    assert js_error_codes() == {code.name: code.value for code in ErrorCode}
