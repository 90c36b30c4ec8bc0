"""Catalogs: every language has exactly English's keys, placeholders and its own plural forms."""

import json
import re

from bilten.i18n import (
    LANGUAGE_NAMES,
    LOCALES_DIR,
    PLURAL_SEPARATOR,
    catalog,
    normalize_locale,
    plural_categories,
    text_direction,
    translate,
)
from bilten.settings import PROJECT_ROOT, SUPPORTED_LOCALES

KEY_IN_CODE = re.compile(
    r"""(?:\bt\[|translate\(|ValidationFailed\(|\bkey = |\btr\()\s*["']([a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+)["']"""
)
PLURAL_KEY_IN_CODE = re.compile(
    r"""(?:translate_plural\(|plural_forms\(|plural_text\()\s*["']([a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+)["']"""
)
PLACEHOLDER = re.compile(r"{(\w+)}")
TRANSLATED_LOCALES = [locale for locale in SUPPORTED_LOCALES if locale != "en"]


def _raw(locale: str) -> dict[str, str]:
    return json.loads((LOCALES_DIR / f"{locale}.json").read_text(encoding="utf-8"))


def _plain(texts: dict[str, str]) -> dict[str, str]:
    return {key: text for key, text in texts.items() if PLURAL_SEPARATOR not in key}


def _plurals(texts: dict[str, str]) -> dict[str, dict[str, str]]:
    forms: dict[str, dict[str, str]] = {}
    for key, text in texts.items():
        if PLURAL_SEPARATOR in key:
            base, category = key.split(PLURAL_SEPARATOR)
            forms.setdefault(base, {})[category] = text
    return forms


def _code() -> str:
    return "\n".join(path.read_text(encoding="utf-8") for path in (PROJECT_ROOT / "bilten").rglob("*.py"))


def test_six_languages_each_named_in_itself():
    assert set(SUPPORTED_LOCALES) == {"en", "ar", "de", "es", "fr", "it"}
    assert {code: LANGUAGE_NAMES[code] for code in ("de", "es", "fr", "it")} == {
        "de": "Deutsch",
        "es": "Español",
        "fr": "Français",
        "it": "Italiano",
    }


def test_every_language_has_exactly_the_english_keys_and_no_empty_text():
    english = _raw("en")
    for locale in SUPPORTED_LOCALES:
        texts = _raw(locale)
        plain = set(_plain(texts))
        assert plain == set(_plain(english)), (
            f"{locale}: missing {set(_plain(english)) - plain}, extra {plain - set(_plain(english))}"
        )
        assert set(_plurals(texts)) == set(_plurals(english)), locale
        assert all(text.strip() for text in texts.values()), locale


def test_counted_texts_have_exactly_the_plural_forms_their_language_needs():
    for locale in SUPPORTED_LOCALES:
        for base, forms in _plurals(_raw(locale)).items():
            assert tuple(sorted(forms)) == tuple(sorted(plural_categories(locale))), (locale, base, sorted(forms))
    assert plural_categories("ar") == ("zero", "one", "two", "few", "many", "other")
    assert plural_categories("en") == plural_categories("de") == ("one", "other")
    assert plural_categories("fr") == plural_categories("es") == plural_categories("it") == ("one", "many", "other")


def test_placeholders_match_across_languages():
    english = _raw("en")
    for locale in SUPPORTED_LOCALES:
        for key, text in _plain(_raw(locale)).items():
            assert set(PLACEHOLDER.findall(text)) == set(PLACEHOLDER.findall(english[key])), (locale, key)
        for base, forms in _plurals(_raw(locale)).items():
            wanted = set(PLACEHOLDER.findall(english[f"{base}{PLURAL_SEPARATOR}other"]))
            assert set(PLACEHOLDER.findall(forms["other"])) == wanted, (locale, base)
            for category, text in forms.items():
                # "one" or "two" may spell the number out ("فعاليتان"): only {count} may go.
                assert wanted - {"count"} <= set(PLACEHOLDER.findall(text)) <= wanted, (locale, base, category)


def test_every_key_used_in_the_code_exists():
    code = _code()
    used, used_plural = set(KEY_IN_CODE.findall(code)), set(PLURAL_KEY_IN_CODE.findall(code))
    assert len(used) > 20 and len(used_plural) >= 4
    assert used - set(_raw("en")) == set()
    assert used_plural - set(_plurals(_raw("en"))) == set()


def test_every_language_is_really_translated():
    english = _raw("en")
    for locale in TRANSLATED_LOCALES:
        texts = _raw(locale)
        same = [key for key, text in texts.items() if text == english.get(key) and re.search("[a-z]{5}", text)]
        assert len(same) <= len(texts) // 20, (locale, same)
    assert text_direction("ar") == "rtl" and all(
        text_direction(code) == "ltr" for code in ("en", "de", "es", "fr", "it")
    )


def test_missing_key_falls_back_to_english_and_then_to_the_key(caplog):
    assert translate("error.generic", "xx") == translate("error.generic", "en")
    assert translate("no.such.key", "ar") == "no.such.key"
    assert "missing translation" in caplog.text
    assert catalog("ar")["error.generic"] == _raw("ar")["error.generic"]
    assert catalog("de")["error.generic"] == _raw("de")["error.generic"]


def test_parameters_are_filled_in():
    assert "10" in translate("error.password_too_short", "en", min=10)
    assert translate("error.password_too_short", "de", min=10) == "Das Passwort muss mindestens 10 Zeichen haben."


def test_accept_language_header_is_understood():
    assert normalize_locale("ar-EG,ar;q=0.9,en;q=0.8") == "ar"
    assert normalize_locale("de-DE,en;q=0.5") == "de"
    assert normalize_locale("es-419,es;q=0.9") == "es"
    assert normalize_locale("fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5") == "fr"
    assert normalize_locale("it_IT") == "it"
    assert normalize_locale("en;q=0.3,fr;q=0.9") == "fr"  # the weights decide, not the order
    assert normalize_locale("pt-BR,nl;q=0.8") == "en"
    assert normalize_locale("de;q=0", default="ar") == "ar"  # q=0 means "not this one"
    assert normalize_locale("", default="ar") == "ar"
