"""Catalogs: every language has every key the code uses; formatting follows the locale."""

import json
import re
from datetime import UTC, datetime

from bilten.i18n import LOCALES_DIR, catalog, format_datetime, format_money, normalize_locale, text_direction, translate
from bilten.settings import PROJECT_ROOT, SUPPORTED_LOCALES

KEY_IN_CODE = re.compile(
    r"""(?:\bt\[|translate\(|ValidationFailed\(|\bkey = |\btr\()\s*["']([a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+)["']"""
)


def _raw(locale: str) -> dict[str, str]:
    return json.loads((LOCALES_DIR / f"{locale}.json").read_text(encoding="utf-8"))


def _keys_used_in_code() -> set[str]:
    keys = set()
    for path in (PROJECT_ROOT / "bilten").rglob("*.py"):
        keys |= set(KEY_IN_CODE.findall(path.read_text(encoding="utf-8")))
    return keys


def test_every_language_has_the_same_keys_and_no_empty_text():
    english = _raw("en")
    for locale in SUPPORTED_LOCALES:
        texts = _raw(locale)
        assert set(texts) == set(english), f"{locale}: {set(texts) ^ set(english)}"
        assert all(value.strip() for value in texts.values())


def test_placeholders_match_across_languages():
    english = _raw("en")
    for locale in SUPPORTED_LOCALES:
        for key, text in _raw(locale).items():
            assert set(re.findall(r"{(\w+)}", text)) == set(re.findall(r"{(\w+)}", english[key])), (locale, key)


def test_every_key_used_in_the_code_exists():
    used = _keys_used_in_code()
    assert len(used) > 20
    assert used - set(_raw("en")) == set()


def test_arabic_is_translated_and_right_to_left():
    arabic = _raw("ar")
    untranslated = [key for key, text in arabic.items() if text == _raw("en")[key] and re.search("[a-z]{4}", text)]
    assert len(untranslated) <= len(arabic) // 20, untranslated
    assert text_direction("ar") == "rtl" and text_direction("en") == "ltr"


def test_missing_key_falls_back_to_english_and_then_to_the_key(caplog):
    assert translate("error.generic", "xx") == translate("error.generic", "en")
    assert translate("no.such.key", "ar") == "no.such.key"
    assert "missing translation" in caplog.text
    assert catalog("ar")["error.generic"] == _raw("ar")["error.generic"]


def test_parameters_are_filled_in():
    assert "10" in translate("error.password_too_short", "en", min=10)


def test_accept_language_header_is_understood():
    assert normalize_locale("ar-EG,ar;q=0.9,en;q=0.8") == "ar"
    assert normalize_locale("de-DE,en;q=0.5") == "en"
    assert normalize_locale("", default="ar") == "ar"


def test_dates_show_in_the_event_time_zone_and_money_in_the_readers_format():
    moment = datetime(2026, 12, 1, 18, 30, tzinfo=UTC)
    assert "19:30" in format_datetime(moment, "Europe/Berlin", "en") or "7:30" in format_datetime(
        moment, "Europe/Berlin", "en"
    )
    assert "22:30" in format_datetime(moment, "Asia/Dubai", "en") or "10:30" in format_datetime(
        moment, "Asia/Dubai", "en"
    )
    assert format_money(2500, "EUR", "en") == "€25.00"
    assert format_money(1000, "JPY", "en") == "¥1,000"
    assert "٢٥" in format_money(2500, "EUR", "ar") or "25" in format_money(2500, "EUR", "ar")
