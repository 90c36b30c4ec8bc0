"""Event content in several languages: which text a reader gets, what organizers may give, and
that the editor, the public page and the listing follow the rule."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from bilten.i18n import translate
from bilten.models import AuditEntry, Event, Role, TicketType
from bilten.services import event_admin, events
from bilten.services.errors import ValidationFailed
from bilten.services.event_admin import EventFields, TicketTypeFields
from bilten.services.translations import (
    EVENT_TEXTS,
    MAX_VENUE_NOTES_LENGTH,
    clean_translations,
    localized,
    merge_translations,
    served_language,
)
from bilten.settings import SUPPORTED_LOCALES
from tests.factories import make_event, make_organization, make_user

# -- the fallback rule ---------------------------------------------------------------------------


def test_a_reader_gets_their_language_when_the_organizer_gave_it():
    assert localized("Concert", {"de": "Konzert", "fr": "Concert (fr)"}, "de", "en") == "Konzert"


def test_a_reader_of_a_language_without_text_gets_the_main_language():
    assert localized("Concert", {"de": "Konzert"}, "it", "en") == "Concert"
    assert localized("Concert", None, "it", "en") == "Concert"
    assert localized("Concert", {"it": ""}, "it", "en") == "Concert"


def test_the_main_language_text_is_the_field_itself_not_a_stale_translation():
    """After the main language changed to German, an old German translation does not hide the
    German text the organizer now keeps in the field."""
    assert localized("Konzert am Hafen", {"de": "Konzert (alt)"}, "de", "de") == "Konzert am Hafen"


def test_the_served_language_follows_the_title():
    translations = {"title": {"de": "Konzert"}, "description": {"fr": "Une soirée"}}
    assert served_language(translations, "de", "en") == "de"
    assert served_language(translations, "fr", "en") == "en"  # a French description, no French title
    assert served_language(translations, "en", "en") == "en"
    assert served_language({}, "ar", "ar") == "ar"


# -- what organizers may give --------------------------------------------------------------------


def test_texts_are_cleaned_like_the_main_fields_and_empty_ones_dropped():
    cleaned = clean_translations(
        {
            "title": {"de": "  Konzert\u202e  am   Hafen ", "fr": "", "it": None},
            "description": {"es": "Línea 1\r\nLínea 2"},
        },
        EVENT_TEXTS,
        main_language="en",
    )
    assert cleaned == {"title": {"de": "Konzert am Hafen"}, "description": {"es": "Línea 1\nLínea 2"}}


def test_a_text_in_the_main_language_is_not_kept_as_a_translation():
    assert clean_translations({"title": {"en": "Concert", "de": "Konzert"}}, EVENT_TEXTS, main_language="en") == {
        "title": {"de": "Konzert"}
    }


@pytest.mark.parametrize("code", ["xx", "pt", "DE", "de-DE", ""])
def test_only_biltens_languages_are_accepted(code):
    with pytest.raises(ValidationFailed) as refused:
        clean_translations({"title": {code: "Titel"}}, EVENT_TEXTS, main_language="en")
    assert refused.value.key == "error.translation_language_unknown"
    message = translate(refused.value.key, "en", **refused.value.params)
    assert f"“{code}”" in message and ", ".join(SUPPORTED_LOCALES) in message


def test_an_unknown_field_or_a_wrong_shape_is_refused():
    with pytest.raises(ValidationFailed) as unknown:
        clean_translations({"city": {"de": "München"}}, EVENT_TEXTS, main_language="en")
    assert unknown.value.key == "error.translation_field_unknown"
    assert "title, description, venue_notes" in translate(unknown.value.key, "de", **unknown.value.params)
    for shape in (["de"], {"title": "Konzert"}, {"title": {"de": 3}}):
        with pytest.raises(ValidationFailed) as wrong:
            clean_translations(shape, EVENT_TEXTS, main_language="en")
        assert wrong.value.key == "error.translations_invalid"


@pytest.mark.parametrize(
    ("field", "limit"), [("title", 200), ("description", 20_000), ("venue_notes", MAX_VENUE_NOTES_LENGTH)]
)
def test_texts_in_other_languages_have_the_main_fields_limits(field, limit):
    assert clean_translations({field: {"fr": "é" * limit}}, EVENT_TEXTS, main_language="en") == {
        field: {"fr": "é" * limit}
    }
    with pytest.raises(ValidationFailed) as refused:
        clean_translations({field: {"fr": "é" * (limit + 1)}}, EVENT_TEXTS, main_language="en")
    assert refused.value.key == "error.translation_too_long"
    assert refused.value.params == {"field": field, "language": "fr", "max": limit}


def test_a_change_replaces_the_fields_it_names_and_keeps_the_others():
    stored = {"title": {"de": "Konzert", "fr": "Concert"}, "description": {"de": "Abend"}}
    assert merge_translations(stored, {"title": {"it": "Concerto"}}, {"title"}) == {
        "description": {"de": "Abend"},
        "title": {"it": "Concerto"},
    }
    assert merge_translations(stored, {}, {"description"}) == {"title": {"de": "Konzert", "fr": "Concert"}}


# -- through the services ------------------------------------------------------------------------


@pytest.fixture
def organizer(session, now):
    owner = make_user(session, role=Role.ORGANIZER, now=now)
    org = make_organization(session, members=(owner,), now=now)
    return owner, org


def _new_event(session, now, owner, org, **fields):
    base = {
        "title": "Harbour Lights",
        "description": "Boats and music",
        "timezone": "Europe/Berlin",
        "starts_at": now + timedelta(days=5),
        "ends_at": now + timedelta(days=5, hours=3),
    }
    return event_admin.create_event(
        session, actor=owner, organization_id=org.id, fields=EventFields(**{**base, **fields}), now=now
    )


def test_an_event_keeps_its_main_language_notes_and_translations(session, now, organizer):
    owner, org = organizer
    event = _new_event(
        session,
        now,
        owner,
        org,
        venue_notes="Door B, no parking.",
        translations={"title": {"de": "Hafenlichter"}, "venue_notes": {"de": "Tür B, keine Parkplätze."}},
    )
    detail = event_admin.get_event_for_editing(session, actor=owner, event_id=event.id)
    assert detail.main_language == "en"  # the platform's DEFAULT_LOCALE
    assert detail.venue_notes == "Door B, no parking."
    assert detail.translations == {"title": {"de": "Hafenlichter"}, "venue_notes": {"de": "Tür B, keine Parkplätze."}}

    # A change naming only the description keeps the German title.
    event_admin.update_event(
        session,
        actor=owner,
        event_id=event.id,
        fields=EventFields(translations={"description": {"fr": "Bateaux et musique"}}),
        now=now,
    )
    stored = session.get(Event, event.id)
    session.refresh(stored)
    assert stored.translations == {
        "description": {"fr": "Bateaux et musique"},
        "title": {"de": "Hafenlichter"},
        "venue_notes": {"de": "Tür B, keine Parkplätze."},
    }
    audit = session.exec(select(AuditEntry).where(AuditEntry.action == "event.updated")).one()
    assert audit.data == {"fields": ["translations"]}


def test_a_refused_translation_changes_nothing(session, now, organizer):
    owner, org = organizer
    event = _new_event(session, now, owner, org, translations={"title": {"de": "Hafenlichter"}})
    with pytest.raises(ValidationFailed):
        event_admin.update_event(
            session,
            actor=owner,
            event_id=event.id,
            fields=EventFields(title="Changed", translations={"title": {"klingon": "x"}}),
            now=now,
        )
    session.expire_all()
    stored = session.get(Event, event.id)
    assert (stored.title, stored.translations) == ("Harbour Lights", {"title": {"de": "Hafenlichter"}})


def test_an_unknown_main_language_is_refused(session, now, organizer):
    owner, org = organizer
    with pytest.raises(ValidationFailed) as refused:
        _new_event(session, now, owner, org, main_language="pt")
    assert refused.value.key == "error.main_language_unknown"


def test_buyers_read_the_event_and_its_ticket_types_in_their_language(session, now, organizer):
    owner, org = organizer
    event = _new_event(
        session,
        now,
        owner,
        org,
        main_language="fr",
        title="Lumières du port",
        translations={"title": {"de": "Hafenlichter"}, "description": {"it": "Barche e musica"}},
    )
    ticket_type = event_admin.create_ticket_type(
        session,
        actor=owner,
        event_id=event.id,
        fields=TicketTypeFields(
            name="Pont", price_minor=1000, currency="EUR", quantity=10, translations={"name": {"de": "Deck"}}
        ),
        now=now,
    )
    assert session.get(TicketType, ticket_type.id).translations == {"name": {"de": "Deck"}}
    event_admin.publish_event(session, actor=owner, event_id=event.id, now=now)

    german = events.get_public_event(session, event_id=event.id, locale="de")
    assert (german.title, german.description, german.language) == ("Hafenlichter", "Boats and music", "de")
    assert german.ticket_types[0].name == "Deck"
    italian = events.get_public_event(session, event_id=event.id, locale="it")
    assert (italian.title, italian.description, italian.language) == ("Lumières du port", "Barche e musica", "fr")
    assert italian.ticket_types[0].name == "Pont"
    unspecified = events.get_public_event(session, event_id=event.id)
    assert (unspecified.title, unspecified.language) == ("Lumières du port", "fr")

    listed = events.list_upcoming_events(session, now=now, locale="de")
    assert [(e.title, e.language, e.main_language) for e in listed] == [("Hafenlichter", "de", "fr")]
    # A search finds an event by a word of its texts in another language too.
    assert [e.id for e in events.list_upcoming_events(session, now=now, text="hafenlicht")] == [event.id]
    # ... but not by the names the texts are stored under.
    assert events.list_upcoming_events(session, now=now, text="title") == []
    assert events.list_upcoming_events(session, now=now, text='"de"') == []


def test_a_duplicate_keeps_the_languages(session, now, organizer):
    owner, org = organizer
    event = _new_event(session, now, owner, org, main_language="de", translations={"title": {"en": "Harbour"}})
    copy = event_admin.duplicate_event(session, actor=owner, event_id=event.id, now=now)
    assert (copy.main_language, copy.translations) == ("de", {"title": {"en": "Harbour"}})


def test_existing_events_read_in_their_main_language(session, now):
    """Events made before languages existed (no translations at all) read as before."""
    org = make_organization(session, now=now)
    event = make_event(session, organization=org, now=now, title="Plain")
    assert events.get_public_event(session, event_id=event.id, locale="ar").title == "Plain"
