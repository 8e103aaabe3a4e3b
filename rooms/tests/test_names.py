"""Look-alike names: normalised, invisible characters refused, compared by confusable skeleton."""

import pytest
from confusable_homoglyphs.confusables import confusables_data

from chatsite.errors import ChatError
from rooms.names import (
    INVALID_ROOM,
    INVALID_USERNAME,
    is_reserved,
    name_key,
    room_name_clean,
    same_name,
    username_clean,
)
from rooms.presence import InProcessPresence
from rooms.services import room_get_or_create

INVISIBLE = {
    "combining grapheme joiner": "\u034f",
    "hangul filler": "\u3164",
    "braille blank": "\u2800",
    "mongolian variation selector": "\u180b",
    "variation selector 16": "\ufe0f",
    "variation selector 17": "\U000e0100",
    "zero width space": "\u200b",
    "byte order mark": "\ufeff",
    "hangul choseong filler": "\u115f",
    "hangul jungseong filler": "\u1160",
    "halfwidth hangul filler": "\uffa0",
    "word joiner": "\u2060",
    "tag space": "\U000e0020",
}
ALICE_LOOKALIKES = {
    "cyrillic A": "\u0410lice",
    "fullwidth A": "\uff21lice",
    "capital i for l": "AIice",
    "lower case": "alice",
    "greek alpha": "\u0391lice",
}
CHATBOT_LOOKALIKES = [
    "ChatBot",
    "chatbot",
    "ChatB\u043et",  # Cyrillic o
    "\uff23\uff48\uff41\uff54\uff22\uff4f\uff54",  # fullwidth
    "Chat Bot",
    "Chat_Bot",
    "Chat-B0t",
    "\u0421hat\u0412ot",  # Cyrillic es and ve
]


@pytest.mark.parametrize("character", INVISIBLE.values(), ids=INVISIBLE.keys())
def test_a_username_with_an_invisible_character_is_refused(character):
    with pytest.raises(ChatError) as raised:
        username_clean(f"Alice{character}")
    assert (raised.value.code, raised.value.message) == ("invalid_username", INVALID_USERNAME)


@pytest.mark.parametrize("character", INVISIBLE.values(), ids=INVISIBLE.keys())
def test_a_room_name_with_an_invisible_character_is_refused(character):
    with pytest.raises(ChatError) as raised:
        room_name_clean(f"Gen{character}eral")
    assert (raised.value.code, raised.value.message) == ("invalid_room", INVALID_ROOM)


@pytest.mark.parametrize(("raw", "shown"), [("\uff21lice", "Alice"), ("\u3000Ana\u3000", "Ana")])
def test_a_username_is_kept_in_its_nfkc_form(raw, shown):
    assert username_clean(raw) == shown


def test_a_room_name_is_kept_in_its_nfkc_form_however_its_accents_are_composed():
    assert room_name_clean("Ge\u0301neral") == room_name_clean("G\u00e9neral") == "G\u00e9neral"


@pytest.mark.parametrize("lookalike", [*ALICE_LOOKALIKES.values(), "\u0410LICE"])
def test_a_username_that_looks_like_another_or_differs_in_letter_case_is_the_same(lookalike):
    assert same_name(lookalike, "Alice")


@pytest.mark.parametrize(("one", "other"), [("Alice", "Alicia"), ("alice", "aiice")])
def test_usernames_that_look_different_are_different(one, other):
    assert not same_name(one, other)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("G\u00e9neral", "Ge\u0301neral"),  # é precomposed or combining
        ("G\u0435neral", "General"),  # Cyrillic e
        ("JAVASCRIPT", "JavaScript"),
    ],
)
def test_room_names_that_are_the_same_to_the_eye_in_any_letter_case_have_one_key(one, other):
    assert name_key(one) == name_key(other)


@pytest.mark.parametrize(("one", "other"), [("General", "G\u00e9neral"), ("C++", "C#")])
def test_room_names_that_look_different_have_different_keys(one, other):
    assert name_key(one) != name_key(other)


@pytest.mark.parametrize("raw", CHATBOT_LOOKALIKES)
def test_a_username_that_looks_like_chatbot_is_refused(raw):
    assert is_reserved(raw)
    with pytest.raises(ChatError) as raised:
        username_clean(raw)
    assert raised.value.code == "invalid_username"


@pytest.mark.parametrize("raw", ["Chat", "Bot", "ChatBotFan", "Chatty Bob"])
def test_a_username_that_only_contains_part_of_chatbot_is_accepted(raw):
    assert username_clean(raw) == raw


@pytest.mark.parametrize("lookalike", ALICE_LOOKALIKES.values(), ids=ALICE_LOOKALIKES.keys())
async def test_a_lookalike_of_a_name_held_in_the_room_is_taken(lookalike):
    presence = InProcessPresence()
    await presence.join(
        room="React", username="Alice", person_key="session:alice", connection="c-1"
    )
    with pytest.raises(ChatError) as raised:
        await presence.ensure_available(room="React", username=lookalike, person_key="session:eve")
    assert raised.value.code == "username_taken"


def test_the_confusables_data_pairs_each_character_with_one_prototype():
    """names._prototypes reads the library's two-way pairs this way: a character listing
    several others is a prototype, and each of those lists only it."""
    for character, entries in confusables_data.items():
        if len(entries) > 1:
            for entry in entries:
                assert [back["c"] for back in confusables_data.get(entry["c"], [])] in (
                    [],
                    [character],
                )


@pytest.mark.django_db
@pytest.mark.parametrize("lookalike", ["G\u0435neral", "GENERAL", "\uff27eneral"])
def test_joining_a_room_by_a_lookalike_name_finds_the_room(lookalike):
    general = room_get_or_create(name="General")
    assert room_get_or_create(name=lookalike) == general


@pytest.mark.django_db
def test_a_room_name_with_an_accent_is_one_room_however_the_accent_is_composed():
    assert room_get_or_create(name="G\u00e9neral") == room_get_or_create(name="Ge\u0301neral")
