"""Translations and locale-aware formatting (dates in the event's time zone, money, direction).

Catalogs live in `locales/<locale>.json` as flat `key -> text` maps with `{name}` placeholders.
A key missing from a language falls back to English and is logged once.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel.dates import format_datetime as babel_format_datetime
from babel.numbers import format_currency, get_currency_precision

from bilten.settings import PROJECT_ROOT, SUPPORTED_LOCALES

LOCALES_DIR = PROJECT_ROOT / "locales"
FALLBACK_LOCALE = "en"
RTL_LOCALES = frozenset({"ar"})
LANGUAGE_NAMES = {"en": "English", "ar": "العربية"}

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
    """Pick a supported locale from a stored choice or an Accept-Language header."""
    for part in (value or "").split(","):
        code = part.split(";")[0].strip().lower().replace("_", "-").split("-")[0]
        if code in SUPPORTED_LOCALES:
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
    return text.format(**params) if params else text


@lru_cache
def _load_cached(locale: str) -> dict[str, str]:
    if locale not in SUPPORTED_LOCALES:
        locale = FALLBACK_LOCALE
    return _load(locale)


def is_rtl(locale: str) -> bool:
    return locale in RTL_LOCALES


def text_direction(locale: str) -> str:
    return "rtl" if is_rtl(locale) else "ltr"


def format_datetime(moment: datetime, timezone: str, locale: str) -> str:
    """A moment as the people at the venue read it: in the event's time zone, in the reader's language."""
    local = moment.astimezone(ZoneInfo(timezone))
    return babel_format_datetime(local, format="medium", tzinfo=ZoneInfo(timezone), locale=locale)


def format_money(amount_minor: int, currency: str, locale: str) -> str:
    precision = get_currency_precision(currency)
    amount = Decimal(amount_minor) / (Decimal(10) ** precision)
    return format_currency(amount, currency, locale=locale)
