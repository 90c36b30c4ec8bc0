"""Event content in several languages through the REST API on PostgreSQL: organizers give texts
per language, buyers read their language (Accept-Language or ?lang=) with the main language as the
fallback, and refusals are explained and change nothing."""

from __future__ import annotations

import pytest
from sqlmodel import select

from bilten import cache
from bilten.i18n import translate
from bilten.models import Event, Membership, Role, TeamRole, TicketType
from bilten.services import orders
from tests.factories import make_event, make_organization, make_user
from tests.integration.test_api_organizer_events import bearer, event_body, snapshot, type_body
from tests.integration.test_scanning import device_headers
from tests.scanning_helpers import door_with_tickets


@pytest.fixture
def world(pg_session, clock):
    """An organization with its owner and a viewer; a stranger organizing elsewhere."""
    now = clock.now
    owner, viewer, stranger = (make_user(pg_session, role=Role.ORGANIZER, now=now) for _ in range(3))
    org = make_organization(pg_session, members=(owner,), now=now)
    other_org = make_organization(pg_session, members=(stranger,), now=now)
    pg_session.add(Membership(organization_id=org.id, user_id=viewer.id, team_role=TeamRole.VIEWER, created_at=now))
    pg_session.commit()
    return {"owner": owner, "viewer": viewer, "stranger": stranger, "org": org, "other_org": other_org, "now": now}


TRANSLATIONS = {
    "title": {"de": "Hafenlichter", "ar": "أضواء الميناء"},
    "description": {"de": "Boote und **Musik**"},
    "venue_notes": {"de": "Eingang über Tor B."},
}


def create_published(client, world, headers, **changes) -> dict:
    body = event_body(world, venue_notes="Enter through gate B.", translations=TRANSLATIONS, **changes)
    created = client.post("/api/v1/events", json=body, headers=headers)
    assert created.status_code == 201, created.text
    event = created.json()
    deck = client.post(
        f"/api/v1/events/{event['id']}/ticket-types",
        json=type_body(translations={"name": {"de": "Oberdeck"}, "description": {"fr": "Vue sur le fleuve"}}),
        headers=headers,
    )
    assert deck.status_code == 201, deck.text
    assert deck.json()["translations"] == {"description": {"fr": "Vue sur le fleuve"}, "name": {"de": "Oberdeck"}}
    published = client.post(f"/api/v1/events/{event['id']}/publish", headers=headers)
    assert published.status_code == 200, published.text
    return published.json()


def test_organizers_give_texts_per_language_and_read_them_all_back(client, world):
    headers = bearer(client, world["owner"])
    event = create_published(client, world, headers)
    assert event["main_language"] == "en" and event["venue_notes"] == "Enter through gate B."
    assert event["translations"] == TRANSLATIONS
    managed = client.get(f"/api/v1/events/{event['id']}/manage", headers=headers).json()
    assert managed["translations"] == TRANSLATIONS
    assert managed["ticket_types"][0]["translations"]["name"] == {"de": "Oberdeck"}

    # A PATCH naming one field replaces that field's languages only; {} removes them.
    changed = client.patch(
        f"/api/v1/events/{event['id']}",
        json={"translations": {"title": {"fr": "Lumières du port"}, "venue_notes": {}}},
        headers=headers,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["translations"] == {
        "description": {"de": "Boote und **Musik**"},
        "title": {"fr": "Lumières du port"},
    }


def test_buyers_read_their_language_and_fall_back_to_the_main_language(client, world):
    event = create_published(client, world, bearer(client, world["owner"]))
    url = f"/api/v1/events/{event['id']}"

    german = client.get(url, headers={"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"})
    assert german.status_code == 200
    body = german.json()
    assert (body["title"], body["description"], body["venue_notes"]) == (
        "Hafenlichter",
        "Boote und **Musik**",
        "Eingang über Tor B.",
    )
    assert (body["language"], body["main_language"]) == ("de", "en")
    assert body["ticket_types"][0]["name"] == "Oberdeck"
    assert german.headers["content-language"] == "de"

    french = client.get(url, headers={"Accept-Language": "fr"}).json()  # no French title: English
    assert (french["title"], french["language"]) == ("Harbour Lights", "en")
    assert french["description"].startswith("Boats")
    # Field by field: the ticket type has a French description but no French name.
    assert (french["ticket_types"][0]["name"], french["ticket_types"][0]["description"]) == (
        "Deck",
        "Vue sur le fleuve",
    )

    # ?lang= wins over the header; nothing usable means the event's main language.
    assert client.get(url, params={"lang": "ar"}, headers={"Accept-Language": "de"}).json()["title"] == "أضواء الميناء"
    plain = client.get(url, headers={"Accept-Language": "pt-BR"}).json()
    assert (plain["title"], plain["language"]) == ("Harbour Lights", "en")

    listed = client.get("/api/v1/events", headers={"Accept-Language": "de"}).json()
    assert [(e["title"], e["language"]) for e in listed] == [("Hafenlichter", "de")]
    assert [e["title"] for e in client.get("/api/v1/events", params={"lang": "it"}).json()] == ["Harbour Lights"]
    # A German word finds the event whatever the reader's language.
    found = client.get("/api/v1/events", params={"q": "über tor"}).json()
    assert [e["id"] for e in found] == [event["id"]]


def test_an_event_in_another_main_language(client, world, pg_session):
    headers = bearer(client, world["owner"])
    body = event_body(world, title="Lumières du port", main_language="fr", translations={"title": {"en": "Harbour"}})
    created = client.post("/api/v1/events", json=body, headers=headers)
    assert created.status_code == 201, created.text
    stored = pg_session.exec(select(Event).where(Event.id == created.json()["id"])).one()
    assert (stored.main_language, stored.title, stored.translations) == (
        "fr",
        "Lumières du port",
        {"title": {"en": "Harbour"}},
    )


def test_bad_languages_and_fields_are_refused_clearly_and_change_nothing(client, world, pg_session):
    headers = bearer(client, world["owner"])
    event = create_published(client, world, headers)
    type_id = event["ticket_types"][0]["id"]
    before = snapshot(pg_session)
    attempts = {
        "error.translation_language_unknown": client.patch(
            f"/api/v1/events/{event['id']}",
            json={"title": "Changed", "translations": {"title": {"klingon": "Qapla'"}}},
            headers={**headers, "Accept-Language": "de"},
        ),
        "error.translation_field_unknown": client.patch(
            f"/api/v1/events/{event['id']}", json={"translations": {"city": {"de": "Lissabon"}}}, headers=headers
        ),
        "error.translation_too_long": client.patch(
            f"/api/v1/events/{event['id']}/ticket-types/{type_id}",
            json={"translations": {"name": {"it": "x" * 121}}},
            headers=headers,
        ),
        "error.main_language_unknown": client.patch(
            f"/api/v1/events/{event['id']}", json={"main_language": "pt"}, headers=headers
        ),
    }
    for key, response in attempts.items():
        assert response.status_code == 422, (key, response.text)
        assert response.json()["error"]["code"] == "validation_error"
    assert attempts["error.translation_language_unknown"].json()["error"]["message"] == translate(
        "error.translation_language_unknown", "de", language="klingon", languages="en, ar, de, es, fr, it"
    )
    assert "120" in attempts["error.translation_too_long"].json()["error"]["message"]
    # Not a map of texts per language: the request itself is refused.
    shape = client.patch(f"/api/v1/events/{event['id']}", json={"translations": {"title": "Hi"}}, headers=headers)
    assert shape.status_code == 422 and "translations" in shape.json()["error"]["message"]
    assert snapshot(pg_session) == before
    pg_session.rollback()
    assert pg_session.get(Event, event["id"]).translations == TRANSLATIONS


def test_organizers_of_another_organization_cannot_change_the_texts(client, world, pg_session):
    event = create_published(client, world, bearer(client, world["owner"]))
    type_id = event["ticket_types"][0]["id"]
    before = snapshot(pg_session)
    for who in ("stranger", "viewer"):
        headers = bearer(client, world[who])
        attempts = [
            client.patch(
                f"/api/v1/events/{event['id']}", json={"translations": {"title": {"de": "Meins"}}}, headers=headers
            ),
            client.patch(
                f"/api/v1/events/{event['id']}/ticket-types/{type_id}",
                json={"translations": {"name": {"de": "Meins"}}},
                headers=headers,
            ),
            client.get(f"/api/v1/events/{event['id']}/manage", headers=headers),
        ]
        assert [r.status_code for r in attempts] == [403, 403, 403], [r.text for r in attempts]
    pg_session.rollback()
    assert pg_session.get(Event, event["id"]).translations == TRANSLATIONS
    assert snapshot(pg_session)[:2] == before[:2]


def test_the_door_reads_the_ticket_type_in_the_scanners_language(client, pg_session, clock):
    cache.clear_local()  # no "already in" left over from another test
    door = door_with_tickets(pg_session, now=clock.now, count=1)
    ticket_type = pg_session.exec(select(TicketType).where(TicketType.event_id == door.event.id)).one()
    ticket_type.translations = {"name": {"de": "Stehplatz"}}
    pg_session.add(ticket_type)
    pg_session.commit()
    headers, _ = device_headers(client, door.staff)
    body = {"code": door.tickets[0].code, "event_id": str(door.event.id), "nonce": "door-1"}
    german = client.post("/api/v1/orders/validate", json=body, headers={**headers, "Accept-Language": "de"}).json()
    assert (german["result"], german["ticket"]["ticket_type"]) == ("valid", "Stehplatz")
    again = {**body, "nonce": "door-2"}
    italian = client.post("/api/v1/orders/validate", json=again, headers={**headers, "Accept-Language": "it"}).json()
    assert (italian["result"], italian["ticket"]["ticket_type"]) == ("already_used", "Type 0")


def test_my_orders_name_the_event_and_tickets_in_the_callers_language(client, pg_session, clock):
    buyer = make_user(pg_session, role=Role.ATTENDEE, now=clock.now)
    event = make_event(
        pg_session, organization=make_organization(pg_session, now=clock.now), now=clock.now, prices=(0,)
    )
    event.translations = {"title": {"de": "Hafenlichter"}}
    ticket_type = pg_session.exec(select(TicketType).where(TicketType.event_id == event.id)).one()
    ticket_type.translations = {"name": {"de": "Stehplatz"}}
    pg_session.add_all([event, ticket_type])
    pg_session.commit()
    orders.place_order(pg_session, items=[(ticket_type.id, 2)], email=buyer.email, phone="", user=buyer, now=clock.now)
    headers = bearer(client, buyer)

    (german,) = client.get("/api/v1/me/orders", headers={**headers, "Accept-Language": "de"}).json()
    assert german["event_title"] == "Hafenlichter"
    assert [line["ticket_type"] for line in german["lines"]] == ["Stehplatz"]
    assert {t["ticket_type"] for t in german["tickets"]} == {"Stehplatz"} and len(german["tickets"]) == 2
    assert "event_title_texts" not in german and "ticket_type_texts" not in german["lines"][0]
    (spanish,) = client.get("/api/v1/me/orders", headers={**headers, "Accept-Language": "es"}).json()
    assert (spanish["event_title"], spanish["tickets"][0]["ticket_type"]) == ("Concert", "Type 0")
