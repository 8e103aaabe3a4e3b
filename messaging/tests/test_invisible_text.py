"""A message made only of characters that show nothing is empty."""

import pytest

from chatsite.errors import ChatError
from chatsite.text import is_blank, is_invisible
from messaging.services import MESSAGE_EMPTY, message_validate_text

INVISIBLE_ONLY = ["\u200b", "\u3164", "\u2800", "\u034f", "\ufeff", " \u200b\u3164 \u2800\n"]


@pytest.mark.parametrize("text", INVISIBLE_ONLY)
def test_a_message_of_only_invisible_characters_is_refused_as_empty(text):
    with pytest.raises(ChatError) as raised:
        message_validate_text(text)
    assert (raised.value.code, raised.value.message) == ("message_empty", MESSAGE_EMPTY)


@pytest.mark.parametrize("text", ["hi\u200b", "\u2764\ufe0f", "\U0001f469\u200d\U0001f4bb"])
def test_a_message_with_visible_text_among_invisible_characters_is_accepted(text):
    message_validate_text(text)


@pytest.mark.parametrize(
    ("text", "blank"),
    [("", True), (" \t\n\x1f", True), ("  x ", False), ("\u200b \u3164", True), ("\u200bx", False)],
)
def test_ascii_and_other_text_are_blank_by_the_same_rule(text, blank):
    assert is_blank(text) is blank
    assert is_blank(text) is all(c.isspace() or is_invisible(c) for c in text)
