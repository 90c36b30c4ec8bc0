"""One rule for the free text people type: what is stored is what readers will see.

Control characters (NUL, C0 and C1 controls, DEL), bidirectional overrides and isolates (U+202A-
U+202E, U+2066-U+2069, the marks U+200E/U+200F/U+061C) and lone surrogates are invisible, and the
bidi ones make a name or title display as something else ("txt.exe" shown for "exe.txt"), so
display text drops them; identifiers (email addresses) that carry any of them are refused
instead, since a silently changed identifier would name someone else. Everything is normalised to
NFC, so the same name typed on two keyboards is the same string. Joiners (U+200C, U+200D) stay:
Persian and emoji need them.
"""

from __future__ import annotations

import unicodedata

from bilten.services.errors import ValidationFailed

BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
LINE_BREAKS = frozenset("\n\r\u2028\u2029\x85")


def _is_hidden(char: str) -> bool:
    return char in BIDI_CONTROLS or unicodedata.category(char) in ("Cc", "Cs")


def has_hidden_characters(value: str) -> bool:
    return any(_is_hidden(char) for char in value)


def clean_text(
    value: str, *, max_length: int, multiline: bool = False, too_long_key: str = "error.name_too_long"
) -> str:
    """Display text, cleaned: hidden characters dropped, NFC. One line: every run of whitespace
    becomes one space. Multiline (descriptions): line breaks become "\\n", tabs stay, and the
    ends are trimmed. Longer than `max_length` after cleaning: refused with `too_long_key`."""
    value = unicodedata.normalize("NFC", value or "")
    if multiline:
        value = value.replace("\r\n", "\n")
        kept = "".join(
            "\n" if char in LINE_BREAKS else char
            for char in value
            if char in LINE_BREAKS or char == "\t" or not _is_hidden(char)
        )
        cleaned = kept.strip()
    else:
        spaced = "".join(" " if char in LINE_BREAKS or char == "\t" else char for char in value)
        cleaned = " ".join("".join(char for char in spaced if not _is_hidden(char)).split())
    if len(cleaned) > max_length:
        raise ValidationFailed(too_long_key, max=max_length)
    return cleaned


def refuse_hidden_characters(value: str) -> str:
    """An identifier as typed, NFC; refused when it carries a hidden character."""
    if has_hidden_characters(value or ""):
        raise ValidationFailed("error.invalid_characters")
    return unicodedata.normalize("NFC", value or "")
