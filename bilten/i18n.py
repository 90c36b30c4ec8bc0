"""Translations and locale-aware formatting (dates in the event's time zone, money, numbers, plurals, direction).

Catalogs live in `locales/<locale>.json` as flat `key -> text` maps with `{name}` placeholders.
A key missing from a language falls back to English and is logged once.

Counted texts are stored once per CLDR plural category of the language, as `key#category`
(`"event.left#one"`, `"event.left#other"`; Arabic also has `#zero`, `#two`, `#few`, `#many`);
`translate_plural` picks the category with Babel's plural rules, so French says "0 billet" and
Arabic uses its six forms. Digits are always Latin (0-9), Arabic included: see README, "Languages".
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date as babel_format_date
from babel.dates import format_time as babel_format_time
from babel.dates import get_datetime_format
from babel.numbers import format_currency, format_decimal, get_currency_precision

from bilten.settings import PROJECT_ROOT, SUPPORTED_LOCALES

LOCALES_DIR = PROJECT_ROOT / "locales"
FALLBACK_LOCALE = "en"
RTL_LOCALES = frozenset({"ar"})
# Each language named in itself, as the language switch shows it.
LANGUAGE_NAMES = {
    "en": "English",
    "ar": "العربية",
    "de": "Deutsch",
    "es": "Español",
    "fr": "Français",
    "it": "Italiano",
}
PLURAL_SEPARATOR = "#"
PLURAL_CATEGORIES = ("zero", "one", "two", "few", "many", "other")  # CLDR's, in its order
# Latin digits everywhere (Babel's CLDR default for these six locales): ticket references, order
# ids and codes are Latin, and one script for all figures keeps a page readable. Named here so the
# choice is explicit and cannot change under a Babel upgrade.
NUMBERING_SYSTEM = "latn"

logger = logging.getLogger(__name__)
_reported_missing: set[tuple[str, str]] = set()


@lru_cache
def catalog(locale: str) -> dict[str, str]:
    """The whole catalog of a locale, English filling every gap."""
    english = _load(FALLBACK_LOCALE)
    if locale == FALLBACK_LOCALE or locale not in SUPPORTED_LOCALES:
        return english
    return {**english, **_load(locale)}


def _load(locale: str) -> dict[str, str]:
    with open(LOCALES_DIR / f"{locale}.json", encoding="utf-8") as f:
        return json.load(f)


def normalize_locale(value: str | None, default: str = FALLBACK_LOCALE) -> str:
    """Pick a supported locale from a stored choice or an Accept-Language header (by its q weights)."""
    choices: list[tuple[float, int, str]] = []
    for position, part in enumerate((value or "").split(",")):
        code, _, params = part.partition(";")
        weight = 1.0
        for param in params.split(";"):
            name, _, number = param.strip().partition("=")
            if name == "q":
                try:
                    weight = float(number)
                except ValueError:
                    weight = 0.0
        choices.append((-weight, position, code.strip().lower().replace("_", "-").split("-")[0]))
    for negative_weight, _, code in sorted(choices):
        if negative_weight < 0 and code in SUPPORTED_LOCALES:
            return code
    return default


def translate(key: str, locale: str = FALLBACK_LOCALE, **params: object) -> str:
    texts = _load_cached(locale)
    text = texts.get(key)
    if text is None:
        if (locale, key) not in _reported_missing:
            _reported_missing.add((locale, key))
            logger.warning("missing translation %r for locale %s", key, locale)
        text = _load_cached(FALLBACK_LOCALE).get(key, key)
    return text.format(**localized_params(params, locale)) if params else text


def localized_params(params: dict[str, object], locale: str) -> dict[str, object]:
    """Message parameters as the reader writes them: whole numbers get the language's separators
    ("1,234 / 1.234 / 1 234"); text (names, codes, ids) stays as it is."""
    return {
        name: format_number(value, locale) if isinstance(value, int) and not isinstance(value, bool) else value
        for name, value in params.items()
    }


def plural_category(count: int, locale: str) -> str:
    """CLDR's plural category of a count in a language: "one", "few", ... or "other"."""
    return _plural_rule(locale if locale in SUPPORTED_LOCALES else FALLBACK_LOCALE)(count)


@lru_cache
def _plural_rule(locale: str):  # noqa: ANN202 - babel.plural.PluralRule
    return Locale.parse(locale).plural_form


def plural_categories(locale: str) -> tuple[str, ...]:
    """The categories a language's catalog holds for every counted text (always with "other")."""
    tags = _plural_rule(locale).tags | {"other"}
    return tuple(category for category in PLURAL_CATEGORIES if category in tags)


def translate_plural(key: str, count: int, locale: str = FALLBACK_LOCALE, **params: object) -> str:
    """The form of `key` that fits `count` in the reader's language; `{count}` shows the number
    with the language's separators. Falls back to the "other" form, then to English."""
    texts = _load_cached(locale)
    category = plural_category(count, locale)
    text = texts.get(f"{key}{PLURAL_SEPARATOR}{category}") or texts.get(f"{key}{PLURAL_SEPARATOR}other")
    if text is None:
        if (locale, key) not in _reported_missing:
            _reported_missing.add((locale, key))
            logger.warning("missing plural translation %r for locale %s", key, locale)
        return translate_plural(key, count, FALLBACK_LOCALE, **params) if locale != FALLBACK_LOCALE else key
    return text.format(**localized_params({**params, "count": count}, locale))


@lru_cache
def _load_cached(locale: str) -> dict[str, str]:
    if locale not in SUPPORTED_LOCALES:
        locale = FALLBACK_LOCALE
    return _load(locale)


def is_rtl(locale: str) -> bool:
    return locale in RTL_LOCALES


def text_direction(locale: str) -> str:
    return "rtl" if is_rtl(locale) else "ltr"


def _babel_locale(locale: str) -> str:
    return locale if locale in SUPPORTED_LOCALES else FALLBACK_LOCALE


def format_datetime(moment: datetime, timezone: str, locale: str) -> str:
    """A moment as the people at the venue read it: in the event's time zone, in the reader's
    language, to the minute ("Dec 1, 2026, 7:30 PM", "01.12.2026, 19:30"): seconds only distract."""
    locale = _babel_locale(locale)
    local = moment.astimezone(ZoneInfo(timezone))
    pattern = get_datetime_format("medium", locale=locale)
    return pattern.replace("{1}", format_date_only(local, timezone, locale)).replace(
        "{0}", format_time(local, timezone, locale)
    )


def format_date_only(moment: datetime, timezone: str, locale: str) -> str:
    """The day of a moment in the given time zone, in the reader's language ("Dec 1, 2026")."""
    return babel_format_date(moment.astimezone(ZoneInfo(timezone)), format="medium", locale=_babel_locale(locale))


def format_time(moment: datetime, timezone: str, locale: str) -> str:
    """The time of day of a moment in the given time zone, without seconds ("7:30 PM", "19:30")."""
    zone = ZoneInfo(timezone)
    return babel_format_time(moment.astimezone(zone), format="short", tzinfo=zone, locale=_babel_locale(locale))


def format_number(value: int | float | Decimal, locale: str) -> str:
    """A number with the language's separators ("12,345", "12.345", "12 345"), in Latin digits."""
    return format_decimal(value, locale=_babel_locale(locale), numbering_system=NUMBERING_SYSTEM)


def format_money(amount_minor: int, currency: str, locale: str) -> str:
    """Integer minor units as the reader writes money: the currency's symbol and decimals, the
    language's separators and symbol position ("€25.00", "25,00 €", "¥1,000")."""
    precision = get_currency_precision(currency)
    amount = Decimal(amount_minor) / (Decimal(10) ** precision)
    return format_currency(amount, currency, locale=_babel_locale(locale), numbering_system=NUMBERING_SYSTEM)
