"""Characters that show nothing: used by names (refused) and messages (not counted as text)."""

# Unicode's Default_Ignorable_Code_Point ranges (DerivedCoreProperties.txt, Unicode 15.1):
# joiners, variation selectors, fillers, bidi controls, tags. Python's unicodedata lacks the
# property, and it is stable (Unicode may add code points to it, never take them out).
_DEFAULT_IGNORABLE = (
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x061C, 0x061C),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)
# Not default-ignorable, but drawn as nothing in every font.
_BLANK = frozenset({"\u2800"})  # BRAILLE PATTERN BLANK


def is_invisible(character: str) -> bool:
    """True for a character that shows nothing and is not whitespace."""
    if character in _BLANK:
        return True
    point = ord(character)
    return any(low <= point <= high for low, high in _DEFAULT_IGNORABLE)


def has_invisible(text: str) -> bool:
    return any(is_invisible(character) for character in text)


def is_blank(text: str) -> bool:
    """True when `text` shows nothing: only whitespace and invisible characters (or none)."""
    if text.isascii():  # no ASCII character is invisible: the common case, without a loop
        return not text.strip()
    return all(character.isspace() or is_invisible(character) for character in text)
