"""Event content in several languages: the one rule for which text a reader gets, and the input
rules for the texts organizers give per language.

An event has a main language (`Event.main_language`); its texts in that language stay in their own
columns (`Event.title`, `TicketType.name`, ...), so everything that reads them keeps working. The
other languages live in one JSON column per row, `{field: {locale: text}}` (as pretix's
LazyI18nString keeps `{"en": ..., "de": ...}`, but with the main language in the column):

    Event.translations       {"title": {"de": "..."}, "description": {...}, "venue_notes": {...}}
    TicketType.translations  {"name": {"de": "..."}, "description": {...}}

A reader gets the text in their language when the organizer gave one, else the main-language
text: field by field, so a German title with no German description shows the German title and the
main-language description. Keys are only Bilten's languages (settings.SUPPORTED_LOCALES), texts
follow the same cleaning and length limits as the main fields, empty texts mean "none".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bilten.services.errors import ValidationFailed
from bilten.services.markdown import MAX_DESCRIPTION_LENGTH
from bilten.services.text import clean_text
from bilten.settings import SUPPORTED_LOCALES

Translations = dict[str, dict[str, str]]
MAX_VENUE_NOTES_LENGTH = 2_000


@dataclass(frozen=True)
class TextRule:
    max_length: int
    multiline: bool


EVENT_TEXTS: dict[str, TextRule] = {
    "title": TextRule(max_length=200, multiline=False),
    "description": TextRule(max_length=MAX_DESCRIPTION_LENGTH, multiline=True),
    "venue_notes": TextRule(max_length=MAX_VENUE_NOTES_LENGTH, multiline=True),
}
TICKET_TYPE_TEXTS: dict[str, TextRule] = {
    "name": TextRule(max_length=120, multiline=False),
    "description": TextRule(max_length=500, multiline=True),
}


def localized(main_text: str, texts: Mapping[str, str] | None, locale: str, main_language: str) -> str:
    """The text for a reader of `locale`: the organizer's text in that language, else the
    main-language text (`main_text`)."""
    if locale != main_language and texts:
        text = texts.get(locale)
        if text:
            return text
    return main_text


def field_text(row: Any, field: str, locale: str, main_language: str) -> str:
    """`localized` for one field of an Event or TicketType row (or anything with `translations`)."""
    texts = (getattr(row, "translations", None) or {}).get(field)
    return localized(getattr(row, field), texts, locale, main_language)


def served_language(translations: Mapping[str, Mapping[str, str]] | None, locale: str, main_language: str) -> str:
    """The language a reader of `locale` gets the event in: theirs when it is the main language or
    the event's title exists in it, else the main language."""
    if locale == main_language or ((translations or {}).get("title") or {}).get(locale):
        return locale
    return main_language


def clean_language(value: Any) -> str:
    """A main language: one of Bilten's languages."""
    code = value.strip().lower() if isinstance(value, str) else ""
    if code not in SUPPORTED_LOCALES:
        raise ValidationFailed(
            "error.main_language_unknown", language=str(value)[:16], languages=", ".join(SUPPORTED_LOCALES)
        )
    return code


def clean_translations(raw: Any, rules: Mapping[str, TextRule], *, main_language: str) -> Translations:
    """`{field: {locale: text}}` checked: known fields and languages only, texts cleaned like the
    main fields and within their limits. Empty texts, and texts in the main language (that one is
    the field itself), are left out."""
    if not isinstance(raw, Mapping):
        raise ValidationFailed("error.translations_invalid")
    cleaned: Translations = {}
    for field, texts in raw.items():
        rule = rules.get(field) if isinstance(field, str) else None
        if rule is None:
            raise ValidationFailed("error.translation_field_unknown", field=str(field)[:40], fields=", ".join(rules))
        if not isinstance(texts, Mapping):
            raise ValidationFailed("error.translations_invalid")
        kept: dict[str, str] = {}
        for locale, text in texts.items():
            if not isinstance(locale, str) or locale not in SUPPORTED_LOCALES:
                raise ValidationFailed(
                    "error.translation_language_unknown",
                    language=str(locale)[:16],
                    languages=", ".join(SUPPORTED_LOCALES),
                )
            if text is None:
                continue
            if not isinstance(text, str):
                raise ValidationFailed("error.translations_invalid")
            try:
                value = clean_text(text, max_length=rule.max_length, multiline=rule.multiline)
            except ValidationFailed as exc:
                raise ValidationFailed(
                    "error.translation_too_long", field=field, language=locale, max=rule.max_length
                ) from exc
            if value and locale != main_language:
                kept[locale] = value
        if kept:
            cleaned[field] = dict(sorted(kept.items()))
    return cleaned


def merge_translations(
    current: Mapping[str, Mapping[str, str]] | None, given: Translations, named: set[str]
) -> Translations:
    """The stored translations after a change that named the fields `named`: each named field is
    replaced by what was given (none given: removed), the others stay."""
    merged = {field: dict(texts) for field, texts in (current or {}).items() if field not in named}
    merged.update(given)
    return {field: merged[field] for field in sorted(merged) if merged[field]}


def copy_translations(translations: Mapping[str, Mapping[str, str]] | None) -> Translations:
    """A copy that shares no dict with the original (a JSON column is only saved when reassigned)."""
    return {field: dict(texts) for field, texts in (translations or {}).items()}
