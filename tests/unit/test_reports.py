"""Dashboards: an event's and an organization's figures, sales over time, and who may see them."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bilten.models import Membership, Organization, Role, TeamRole, TicketType
from bilten.services import checkins, orders, reports
from bilten.services.errors import Forbidden, NotAuthenticated, NotFound
from tests.factories import make_event, make_organization, make_user
from tests.scanning_helpers import door_with_tickets

BERLIN = ZoneInfo("Europe/Berlin")


def link(order_id):
    return orders.order_access_token(order_id)


@pytest.fixture
def door(session, now):
    """An event with a paid order of 3 tickets at 25.00 EUR (Berlin time zone)."""
    return door_with_tickets(session, now=now, count=3, price=2500)


def member(session, organization_id, role, now):
    user = make_user(session, role=Role.ORGANIZER, now=now)
    session.add(Membership(organization_id=organization_id, user_id=user.id, team_role=role, created_at=now))
    session.commit()
    return user


def buy(session, ticket_type_id, now, *, quantity=1, pay=True):
    placed = orders.place_order(
        session, items=[(ticket_type_id, quantity)], email="b@example.org", phone="+4930123", name="B", now=now
    )
    orders.start_payment(session, order_id=placed.order.id, now=now, access_token=link(placed.order.id))
    if pay:
        orders.pay_with_test_provider(
            session, order_id=placed.order.id, succeeded=True, now=now, access_token=link(placed.order.id)
        )
    return placed.order


def types_of(session, event):
    return session.exec(select(TicketType).where(TicketType.event_id == event.id).order_by(TicketType.position)).all()


def test_event_stats_sold_held_remaining_revenue_and_check_ins(session, now, door):
    (ticket_type,) = types_of(session, door.event)
    buy(session, ticket_type.id, now + timedelta(minutes=5), quantity=2, pay=False)  # held
    refunded = buy(session, ticket_type.id, now + timedelta(minutes=6), quantity=1)
    orders.cancel_order(session, order_id=refunded.id, now=now, actor=door.organizer)
    checkins.check_in_manually(session, actor=door.organizer, ticket_id=door.tickets[0].id, now=now, gate="North")
    checkins.check_in_manually(session, actor=door.organizer, ticket_id=door.tickets[1].id, now=now, gate="North")
    checkins.check_in_manually(session, actor=door.organizer, ticket_id=door.tickets[2].id, now=now, gate="South")

    stats = reports.event_stats(session, actor=door.organizer, event_id=door.event.id, now=now)

    assert (stats.sold, stats.held, stats.capacity, stats.remaining) == (3, 2, 100, 95)
    assert stats.revenue == {"EUR": 7500} and stats.paid_orders == 1
    (row,) = stats.ticket_types
    assert (row.name, row.sold, row.held, row.remaining, row.revenue_minor) == ("Type 0", 3, 2, 95, 7500)
    assert (stats.checked_in, stats.expected) == (3, 3)
    assert [(g.gate, g.checked_in) for g in stats.by_gate] == [("North", 2), ("South", 1)]


def test_revenue_per_currency_and_sales_per_hour_in_the_event_time_zone(session, now):
    organizer = make_user(session, role=Role.ORGANIZER, now=now)
    org = make_organization(session, members=(organizer,), now=now)
    event = make_event(session, organization=org, now=now, prices=(1000,), quantity=50, timezone="Europe/Berlin")
    usd = TicketType(event_id=event.id, name="VIP", price_minor=5000, currency="USD", quantity=5, position=1)
    session.add(usd)
    session.commit()
    eur = types_of(session, event)[0]
    buy(session, eur.id, now, quantity=2)  # `now` is on a whole hour
    buy(session, eur.id, now + timedelta(minutes=20), quantity=1)
    buy(session, usd.id, now + timedelta(hours=3), quantity=1)

    stats = reports.event_stats(session, actor=organizer, event_id=event.id, now=now)

    assert stats.revenue == {"EUR": 3000, "USD": 5000} and stats.sold == 4
    assert stats.bucket == reports.HOUR
    series = [(b.start, b.tickets, b.revenue) for b in stats.sales_over_time]
    berlin_hour = [f"{(now + timedelta(hours=h)).astimezone(BERLIN):%Y-%m-%dT%H:00}" for h in range(4)]
    assert series == [
        (berlin_hour[0], 3, {"EUR": 3000}),
        (berlin_hour[1], 0, {}),  # empty hours are filled in: an even time axis
        (berlin_hour[2], 0, {}),
        (berlin_hour[3], 1, {"USD": 5000}),
    ]
    assert sum(b.tickets for b in stats.sales_over_time) == stats.sold


def test_sales_spread_over_days_are_charted_per_day(session, now, door):
    (ticket_type,) = types_of(session, door.event)
    buy(session, ticket_type.id, now + timedelta(days=3), quantity=2)
    stats = reports.event_stats(session, actor=door.organizer, event_id=door.event.id, now=now)
    assert stats.bucket == reports.DAY
    series = [(b.start, b.tickets) for b in stats.sales_over_time]
    first_day = now.astimezone(BERLIN).date()
    days = [(first_day + timedelta(days=n)).isoformat() for n in range(4)]
    assert series == [(days[0], 3), (days[1], 0), (days[2], 0), (days[3], 2)]


def test_an_event_without_sales_has_an_empty_chart(session, now):
    organizer = make_user(session, role=Role.ORGANIZER, now=now)
    org = make_organization(session, members=(organizer,), now=now)
    event = make_event(session, organization=org, now=now)
    stats = reports.event_stats(session, actor=organizer, event_id=event.id, now=now)
    assert stats.sales_over_time == [] and stats.sold == 0 and stats.revenue == {"EUR": 0}
    assert stats.by_gate == [] and stats.checked_in == 0


def test_organization_stats_add_up_its_events_only(session, now, door):
    org_id = door.event.organization_id
    organization = session.get(Organization, org_id)
    second = make_event(session, organization=organization, now=now, title="Second", prices=(1000,), quantity=10)
    buy(session, types_of(session, second)[0].id, now, quantity=4)
    door_with_tickets(session, now=now, count=5, price=900)  # another organization's sale

    stats = reports.organization_stats(session, actor=door.organizer, organization_id=org_id, now=now)

    assert (stats.sold, stats.capacity, stats.remaining, stats.held) == (7, 110, 103, 0)
    assert stats.revenue == {"EUR": 7500 + 4000}
    assert {row.title: (row.sold, row.revenue) for row in stats.events} == {
        "Concert": (3, {"EUR": 7500}),
        "Second": (4, {"EUR": 4000}),
    }
    assert sum(b.tickets for b in stats.sales_over_time) == 7


def test_dashboard_organizations_lists_where_the_user_may_look(session, now, door):
    viewer = member(session, door.event.organization_id, TeamRole.VIEWER, now)
    staff = member(session, door.event.organization_id, TeamRole.STAFF, now)
    assert [o.id for o in reports.dashboard_organizations(session, actor=viewer)] == [door.event.organization_id]
    assert reports.dashboard_organizations(session, actor=staff) == []
    admin = make_user(session, role=Role.ADMIN, now=now)
    assert door.event.organization_id in {o.id for o in reports.dashboard_organizations(session, actor=admin)}


def test_viewers_see_the_dashboards_staff_strangers_and_buyers_do_not(session, now, door):
    org_id = door.event.organization_id
    viewer = member(session, org_id, TeamRole.VIEWER, now)
    assert reports.event_stats(session, actor=viewer, event_id=door.event.id).sold == 3
    assert reports.organization_stats(session, actor=viewer, organization_id=org_id).sold == 3
    stranger = door_with_tickets(session, now=now, count=1).organizer
    team_staff = member(session, org_id, TeamRole.STAFF, now)
    attendee = make_user(session, role=Role.ATTENDEE, now=now)
    for actor in (stranger, door.staff, team_staff, attendee):
        with pytest.raises(Forbidden):
            reports.event_stats(session, actor=actor, event_id=door.event.id)
        with pytest.raises(Forbidden):
            reports.organization_stats(session, actor=actor, organization_id=org_id)
    with pytest.raises(NotAuthenticated):
        reports.event_stats(session, actor=None, event_id=door.event.id)
    admin = make_user(session, role=Role.ADMIN, now=now)
    assert reports.organization_stats(session, actor=admin, organization_id=org_id).sold == 3
    with pytest.raises(NotFound):
        reports.event_stats(session, actor=admin, event_id=org_id)  # no such event
    with pytest.raises(NotFound):
        reports.organization_stats(session, actor=admin, organization_id=door.event.id)  # no such organization
