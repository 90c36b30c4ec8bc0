import uuid
from datetime import timedelta

import pytest

from bilten.models import EventStatus
from bilten.services.demo import DEMO_ACCOUNTS, seed_demo
from bilten.services.errors import NotFound
from bilten.services.events import get_public_event, list_upcoming_events
from tests.factories import make_event, make_organization


def test_listing_shows_published_upcoming_events_soonest_first_with_lowest_price(session, now):
    org = make_organization(session, now=now)
    later = make_event(session, organization=org, now=now, title="Later", days_ahead=20, prices=(5000, 1500))
    sooner = make_event(session, organization=org, now=now, title="Sooner", days_ahead=2, prices=(0,))
    make_event(session, organization=org, now=now, title="Draft", status=EventStatus.DRAFT)
    make_event(session, organization=org, now=now, title="Cancelled", status=EventStatus.CANCELLED)
    make_event(session, organization=org, now=now, title="Over", days_ahead=-3)
    listed = list_upcoming_events(session, now=now)
    assert [e.title for e in listed] == ["Sooner", "Later"]
    assert [e.id for e in listed] == [sooner.id, later.id]
    assert listed[1].lowest_price_minor == 1500 and listed[0].lowest_price_minor == 0


def test_listing_filters_by_text_city_and_dates(session, now):
    org = make_organization(session, now=now)
    make_event(session, organization=org, now=now, title="Jazz Night", city="Berlin", days_ahead=3)
    make_event(session, organization=org, now=now, title="Rock Night", city="Lisbon", days_ahead=30)
    assert [e.title for e in list_upcoming_events(session, now=now, text="jazz")] == ["Jazz Night"]
    assert [e.title for e in list_upcoming_events(session, now=now, city="lisbon")] == ["Rock Night"]
    assert [e.title for e in list_upcoming_events(session, now=now, starts_from=now + timedelta(days=10))] == [
        "Rock Night"
    ]
    assert [e.title for e in list_upcoming_events(session, now=now, starts_until=now + timedelta(days=10))] == [
        "Jazz Night"
    ]
    assert list_upcoming_events(session, now=now, text="%") == []  # no wildcard injection surprises


def test_event_page_shows_ticket_types_with_what_is_left(session, now):
    org = make_organization(session, now=now)
    event = make_event(session, organization=org, now=now, prices=(2500, 4500), quantity=50)
    detail = get_public_event(session, event_id=event.id)
    assert [t.price_minor for t in detail.ticket_types] == [2500, 4500]
    assert all(t.available == 50 for t in detail.ticket_types)


def test_draft_and_unknown_events_are_not_found(session, now):
    org = make_organization(session, now=now)
    draft = make_event(session, organization=org, now=now, status=EventStatus.DRAFT)
    for event_id in (draft.id, uuid.uuid4()):
        with pytest.raises(NotFound):
            get_public_event(session, event_id=event_id)


def test_demo_seed_loads_once(session, now):
    accounts = seed_demo(session, now=now)
    assert {a.email for a in accounts} == {a.email for a in DEMO_ACCOUNTS}
    titles = [e.title for e in list_upcoming_events(session, now=now)]
    assert "Riverside Jazz Night" in titles and "Secret Warehouse Party" not in titles
    assert seed_demo(session, now=now) == []
