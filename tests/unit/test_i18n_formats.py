"""Plurals, dates, times, money and numbers follow CLDR (through Babel) in each of the six languages."""

import re
from datetime import UTC, datetime

import pytest

from bilten.i18n import (
    format_datetime,
    format_money,
    format_number,
    format_time,
    plural_category,
    translate,
    translate_plural,
)
from bilten.settings import SUPPORTED_LOCALES

SECONDS = re.compile(r"\d:\d\d:\d\d")
EVENING = datetime(2026, 12, 1, 18, 30, 15, tzinfo=UTC)  # 19:30:15 in Berlin, 22:30:15 in Dubai


def test_arabic_has_six_plural_categories():
    assert [plural_category(n, "ar") for n in (0, 1, 2, 3, 10, 11, 99, 100, 102)] == [
        "zero",
        "one",
        "two",
        "few",
        "few",
        "many",
        "many",
        "other",
        "other",
    ]


def test_french_counts_zero_as_singular_unlike_english_german_spanish_italian():
    assert plural_category(0, "fr") == plural_category(1, "fr") == "one"
    assert plural_category(2, "fr") == "other"
    for locale in ("en", "de", "es", "it"):
        assert plural_category(0, locale) == "other"
        assert plural_category(1, locale) == "one"
        assert plural_category(2, locale) == "other"
    assert plural_category(1_000_000, "fr") == plural_category(1_000_000, "es") == "many"


def test_counts_are_worded_in_the_right_form():
    assert [translate_plural("home.result_count", n, "en") for n in (0, 1, 2)] == ["0 events", "1 event", "2 events"]
    assert translate_plural("home.result_count", 1, "de") == "1 Veranstaltung"
    assert translate_plural("home.result_count", 0, "fr") == "0 événement"
    assert translate_plural("home.result_count", 2, "fr") == "2 événements"
    assert translate_plural("home.result_count", 1, "es") == "1 evento"
    assert translate_plural("home.result_count", 1_000_000, "es") == "1.000.000 de eventos"
    assert translate_plural("home.result_count", 5, "it") == "5 eventi"
    arabic = [translate_plural("home.result_count", n, "ar") for n in (0, 1, 2, 3, 11, 100)]
    assert arabic == ["لا توجد فعاليات", "فعالية واحدة", "فعاليتان", "3 فعاليات", "11 فعالية", "100 فعالية"]
    assert len(set(arabic[:5])) == 5


def test_counted_texts_keep_their_other_placeholders_and_format_the_count():
    assert translate_plural("office.page_of", 1, "en", page=1, pages=1) == "Page 1 of 1 · 1 order"
    assert translate_plural("office.page_of", 1234, "de", page=2, pages=50) == "Seite 2 von 50 · 1.234 Bestellungen"
    assert translate_plural("exports.rows_done", 1, "fr", done=0) == "0 sur 1 ligne"


def test_a_missing_language_falls_back_to_english_forms():
    assert translate_plural("home.result_count", 1, "xx") == "1 event"


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_times_show_no_seconds_in_any_language(locale):
    shown = format_datetime(EVENING, "Europe/Berlin", locale)
    assert not SECONDS.search(shown), shown
    assert ":15" not in shown
    assert ("7:30" if locale in ("en", "ar") else "19:30") in shown
    assert "2026" in shown
    assert not SECONDS.search(format_time(EVENING, "Asia/Dubai", locale))


def test_dates_are_in_the_event_time_zone_and_the_readers_language():
    assert format_datetime(EVENING, "Europe/Berlin", "en") == "Dec 1, 2026, 7:30\u202fPM"
    assert format_datetime(EVENING, "Europe/Berlin", "de") == "01.12.2026, 19:30"
    assert format_datetime(EVENING, "Europe/Paris", "fr") == "1 déc. 2026, 19:30"
    assert format_datetime(EVENING, "Asia/Dubai", "es") == "1 dic 2026, 22:30"
    assert format_datetime(EVENING, "Asia/Dubai", "it") == "1 dic 2026, 22:30"
    assert format_datetime(datetime(2026, 12, 31, 23, 30, tzinfo=UTC), "Asia/Tokyo", "de").startswith("01.01.2027")


def test_money_has_the_currencys_symbol_and_decimals_in_the_readers_format():
    assert format_money(2500, "EUR", "en") == "€25.00"
    assert format_money(2500, "EUR", "de") == "25,00\xa0€"
    assert format_money(2500, "EUR", "fr") == "25,00\xa0€"
    assert format_money(123456, "EUR", "it") == "1.234,56\xa0€"
    assert format_money(123456, "EUR", "es") == "1.234,56\xa0€"
    assert format_money(1000, "JPY", "en") == "¥1,000"
    assert format_money(1000, "JPY", "de") == "1.000\xa0¥"
    assert format_money(1234, "KWD", "en").endswith("1.234")  # three decimals
    assert "25.00" in format_money(2500, "EUR", "ar") and "€" in format_money(2500, "EUR", "ar")


def test_numbers_have_the_languages_separators_and_latin_digits():
    assert format_number(1234567, "en") == "1,234,567"
    assert format_number(1234567, "de") == "1.234.567"
    assert format_number(1234567, "fr") == "1\u202f234\u202f567"
    assert format_number(1234567, "it") == "1.234.567"
    assert format_number(1234567, "ar") == "1,234,567"  # Latin digits, on purpose (README: Languages)
    for locale in SUPPORTED_LOCALES:
        assert not re.search(
            "[\u0660-\u0669\u06f0-\u06f9]", format_money(123456, "EUR", locale) + format_number(99, locale)
        )


def test_numbers_in_messages_get_the_languages_separators_but_text_stays():
    assert translate("error.ticket_quantity_invalid", "en", min=1, max=100000).endswith("from 1 to 100,000.")
    assert "100.000" in translate("error.ticket_quantity_invalid", "de", min=1, max=100000)
    assert "100\u202f000" in translate("error.ticket_quantity_invalid", "fr", min=1, max=100000)
    assert translate("office.tickets_resent", "en", email="a1000@example.org").endswith("a1000@example.org again.")
