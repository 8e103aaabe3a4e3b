"""python-socketio's packets are read and written with orjson, as the standard library would."""

import json

import pytest

from realtime.json_codec import OrjsonCodec

PAYLOADS = [
    {"message": "héllo 😀 <b>", "client_id": "c-1"},
    ["join_room", {"username": "Ana", "room": "日本語"}],
    {"limit": 50, "typing": True, "nothing": None},
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_what_is_written_reads_back_the_same_with_either_library(payload):
    text = OrjsonCodec.dumps(payload, separators=(",", ":"))
    assert json.loads(text) == payload
    assert OrjsonCodec.loads(text) == payload


def test_a_lone_surrogate_is_read_and_written_as_the_standard_library_does():
    text = '{"message": "a\\ud800b"}'
    payload = OrjsonCodec.loads(text)
    assert payload == json.loads(text)
    assert json.loads(OrjsonCodec.dumps(payload)) == payload


def test_an_integer_past_64_bits_is_no_whole_number_any_more():
    assert isinstance(
        OrjsonCodec.loads('{"limit": 123456789012345678901234567890}')["limit"], float
    )


def test_text_that_is_not_json_is_refused_as_the_standard_library_refuses_it():
    with pytest.raises(json.JSONDecodeError):
        OrjsonCodec.loads("{not json")
