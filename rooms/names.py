"""Usernames and room names: which are accepted, how they are spelled, when two are the same.

A name is kept in Unicode's NFKC form (a fullwidth A is an A), with no control, format or
invisible characters. Names are compared by their confusable skeleton (Unicode TS #39): `Alice`,
`alice`, `Alice` with a Cyrillic A and `AIice` with a capital i are one username, and `Géneral`
is one room however its é is composed. The skeleton's data is Unicode's confusables.txt as the
confusable-homoglyphs package ships it.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from confusable_homoglyphs.confusables import confusables_data

from chatsite import events
from chatsite.errors import ChatError, ErrorCode
from chatsite.text import has_invisible, is_invisible

USERNAME_MAX_LENGTH = 32
ROOM_NAME_MAX_LENGTH = 64
USERNAME_EMPTY = "Pick a username."
USERNAME_TOO_LONG = "A username can be at most {limit} characters long; this one has {length}."
USERNAME_RESERVED = "ChatBot is the chat's own name; pick another."
INVALID_USERNAME = "A username cannot contain control or invisible characters."
ROOM_NAME_EMPTY = "A room needs a name."
ROOM_NAME_TOO_LONG = "A room name can be at most {limit} characters long; this one has {length}."
INVALID_ROOM = "A room name cannot contain control or invisible characters."


def _has_control_characters(text: str) -> bool:
    return any(unicodedata.category(character) in ("Cc", "Cf", "Zl", "Zp") for character in text)


def _normalized(raw: str) -> str:
    return unicodedata.normalize("NFKC", raw).strip()


def _problem(name: str, max_length: int, *, empty: str, too_long: str, unseen: str) -> str | None:
    """What is wrong with a normalised name, in words for people; None when nothing is."""
    if not name:
        return empty
    if len(name) > max_length:
        return too_long.format(limit=max_length, length=len(name))
    if _has_control_characters(name) or has_invisible(name):
        return unseen
    return None


def username_clean(raw: str) -> str:
    """The username as it will be shown (NFKC, trimmed), or `invalid_username` saying why."""
    username = _normalized(raw)
    problem = _problem(
        username,
        USERNAME_MAX_LENGTH,
        empty=USERNAME_EMPTY,
        too_long=USERNAME_TOO_LONG,
        unseen=INVALID_USERNAME,
    )
    if problem is None and is_reserved(username):
        problem = USERNAME_RESERVED
    if problem is not None:
        raise ChatError(ErrorCode.INVALID_USERNAME, problem)
    return username


def room_name_clean(raw: str) -> str:
    """The room name as it will be shown (NFKC, trimmed), or `invalid_room` saying why."""
    name = _normalized(raw)
    problem = _problem(
        name,
        ROOM_NAME_MAX_LENGTH,
        empty=ROOM_NAME_EMPTY,
        too_long=ROOM_NAME_TOO_LONG,
        unseen=INVALID_ROOM,
    )
    if problem is not None:
        raise ChatError(ErrorCode.INVALID_ROOM, problem)
    return name


def _prototypes() -> dict[str, str]:
    """Each confusable character's prototype, the spelling it is compared by.

    confusable-homoglyphs records each line `character ; prototype` of confusables.txt both
    ways: a character that has a prototype lists only that, and a prototype lists every
    character that has it. Of two characters that list only each other, either can stand
    for both (rooms/tests/test_names.py checks that the data has this shape).
    """
    found: dict[str, str] = {}
    for character, entries in confusables_data.items():
        if len(character) != 1 or len(entries) != 1:
            continue
        other = entries[0]["c"]
        if len(other) > 1 or len(confusables_data.get(other, ())) > 1:
            found[character] = other
        else:
            found[character] = min(character, other)
    # A prototype of several characters is spelled with prototypes, like any other text.
    return {
        character: "".join(found.get(part, part) for part in prototype)
        for character, prototype in found.items()
    }


_PROTOTYPES = _prototypes()


def _skeleton(text: str) -> str:
    """TS #39's skeleton: decompose, drop invisible characters, replace each confusable
    character by its prototype, decompose again."""
    return unicodedata.normalize(
        "NFD",
        "".join(
            _PROTOTYPES.get(character, character)
            for character in unicodedata.normalize("NFD", text)
            if not is_invisible(character)
        ),
    )


@lru_cache(maxsize=8192)
def name_key(name: str) -> str:
    """Equal for names that are the same in any letter case, look-alike lower-case letters
    included (`General` with a Cyrillic e is `General`): one room per key."""
    return _skeleton(unicodedata.normalize("NFKC", name).casefold())


@lru_cache(maxsize=8192)
def look_key(name: str) -> str:
    """Equal for names that look the same as written, capitals included: `AIice` (capital
    i) and `Alice`, `Bob` with a Cyrillic capital ve and `Bob`, which case folding would tell
    apart."""
    return _skeleton(unicodedata.normalize("NFKC", name))


def same_name(one: str, other: str) -> bool:
    """Whether two usernames count as one: the same in any letter case, or alike to the eye."""
    return name_key(one) == name_key(other) or look_key(one) == look_key(other)


def _reserved_forms(username: str) -> set[str]:
    """The name's letters and digits, by both keys, in any letter case."""
    return {
        "".join(character for character in key.casefold() if character.isalnum())
        for key in (name_key(username), look_key(username))
    }


_CHATBOT_FORMS = _reserved_forms(events.CHATBOT)


def is_reserved(username: str) -> bool:
    """ChatBot's name, however spelled: letter case, look-alikes and characters between its
    letters (`Chat Bot`, `Chat_B0t`) aside."""
    return not _reserved_forms(username).isdisjoint(_CHATBOT_FORMS)
