"""Organizers' events and ticket types: every rule, every refusal (nothing changes), every audit."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import update
from sqlmodel import Session, func, select

from bilten.models import (
    AuditEntry,
    Event,
    EventStatus,
    Membership,
    Notification,
    Order,
    OrderStatus,
    OutboxEvent,
    Payment,
    PaymentStatus,
    Role,
    TeamRole,
    Ticket,
    TicketStatus,
    TicketType,
)
from bilten.notifications.outbox import dispatch_outbox
from bilten.notifications.rendering import render_notification
from bilten.payments import get_provider
from bilten.payments.base import ProviderUnavailable
from bilten.services import event_admin, events, orders
from bilten.services.errors import EventCancelled, Forbidden, NotAuthenticated, NotFound, ValidationFailed
from bilten.services.event_admin import UNSET, EventFields, TicketTypeFields
from bilten.services.markdown import render_markdown
from bilten.services.ticket_codes import load_private_key
from tests.factories import make_event, make_organization, make_user


@pytest.fixture
def team(session, now):
    """One organization with an owner, a manager, a viewer and a staff member; another organizer
    from another organization; and an attendee."""
    owner = make_user(session, role=Role.ORGANIZER, now=now)
    org = make_organization(session, members=(owner,), now=now)
    people = {"owner": owner, "org": org}
    for role in (TeamRole.MANAGER, TeamRole.VIEWER, TeamRole.STAFF):
        user = make_user(session, role=Role.ORGANIZER if role != TeamRole.STAFF else Role.STAFF, now=now)
        session.add(Membership(organization_id=org.id, user_id=user.id, team_role=role, created_at=now))
        people[role.value] = user
    people["stranger"] = make_user(session, role=Role.ORGANIZER, now=now)
    people["other_org"] = make_organization(session, members=(people["stranger"],), now=now)
    people["attendee"] = make_user(session, role=Role.ATTENDEE, now=now)
    people["admin"] = make_user(session, role=Role.ADMIN, now=now)
    session.commit()
    return people


def fields(now, **changes) -> EventFields:
    values = {
        "title": "Jazz Night",
        "description": "An evening of **jazz**.",
        "venue_name": "Spree Hall",
        "city": "Berlin",
        "timezone": "Europe/Berlin",
        "starts_at": now + timedelta(days=10),
        "ends_at": now + timedelta(days=10, hours=4),
    }
    values.update(changes)
    return EventFields(**values)


def type_fields(**changes) -> TicketTypeFields:
    values = {"name": "Standing", "price_minor": 2500, "currency": "EUR", "quantity": 100}
    values.update(changes)
    return TicketTypeFields(**values)


def counts(session: Session) -> tuple[int, int, int]:
    session.rollback()
    return (
        session.exec(select(func.count(Event.id))).one(),
        session.exec(select(func.count(TicketType.id))).one(),
        session.exec(select(func.count(AuditEntry.id))).one(),
    )


def new_event(session, team, now, **changes) -> Event:
    return event_admin.create_event(
        session, actor=team["owner"], organization_id=team["org"].id, fields=fields(now, **changes), now=now
    )


# -- creating and editing events ----------------------------------------------------------------


def test_owner_creates_a_draft_with_its_own_signing_key_and_an_audit_entry(session, team, now):
    event = new_event(session, team, now)
    assert event.status == EventStatus.DRAFT and event.title == "Jazz Night" and event.slug == "jazz-night"
    assert event.signing_public_key and event.signing_private_key_sealed
    load_private_key(event.signing_private_key_sealed)  # decrypts: a usable key
    entry = session.exec(select(AuditEntry).where(AuditEntry.action == "event.created")).one()
    assert entry.actor_user_id == team["owner"].id and entry.object_id == str(event.id)


def test_manager_creates_events_too_and_naive_times_are_read_in_the_event_time_zone(session, team, now):
    local_start = datetime.combine((now + timedelta(days=20)).date(), time(19, 30))  # naive: no zone given
    event = event_admin.create_event(
        session,
        actor=team["manager"],
        organization_id=team["org"].id,
        fields=fields(now, timezone="Asia/Dubai", starts_at=local_start, ends_at=local_start + timedelta(hours=2)),
        now=now,
    )
    assert event.starts_at == local_start.replace(hour=15, tzinfo=UTC)  # Dubai is UTC+4


@pytest.mark.parametrize("who", ["viewer", "staff", "stranger", "attendee"])
def test_viewers_staff_and_other_organizations_cannot_create_events(session, team, now, who):
    before = counts(session)
    with pytest.raises(Forbidden):
        event_admin.create_event(session, actor=team[who], organization_id=team["org"].id, fields=fields(now), now=now)
    assert counts(session) == before


def test_nobody_signed_in_cannot_create(session, team, now):
    with pytest.raises(NotAuthenticated):
        event_admin.create_event(session, actor=None, organization_id=team["org"].id, fields=fields(now), now=now)


def test_admin_may_create_in_any_organization(session, team, now):
    event = event_admin.create_event(
        session, actor=team["admin"], organization_id=team["other_org"].id, fields=fields(now), now=now
    )
    assert event.organization_id == team["other_org"].id


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"title": "   "}, "error.event_title_required"),
        ({"title": "x" * 201}, "error.name_too_long"),
        ({"timezone": "Mars/Olympus"}, "error.timezone_invalid"),
        ({"timezone": "../../etc/passwd"}, "error.timezone_invalid"),
        ({"ends_at": UNSET}, "error.event_dates_required"),
        ({"description": "x" * 20_001}, "error.description_too_long"),
    ],
)
def test_bad_event_input_is_refused_and_nothing_is_created(session, team, now, changes, key):
    before = counts(session)
    with pytest.raises(ValidationFailed) as refused:
        new_event(session, team, now, **changes)
    assert refused.value.key == key
    assert counts(session) == before


def test_an_event_ending_before_it_starts_or_already_over_is_refused(session, team, now):
    with pytest.raises(ValidationFailed) as refused:
        new_event(session, team, now, ends_at=now + timedelta(days=9))
    assert refused.value.key == "error.event_ends_before_start"
    with pytest.raises(ValidationFailed) as refused:
        new_event(session, team, now, starts_at=now - timedelta(days=2), ends_at=now - timedelta(days=1))
    assert refused.value.key == "error.event_in_past"
    assert counts(session)[0] == 0


def test_creating_needs_an_organization(session, team, now):
    with pytest.raises(ValidationFailed) as refused:
        event_admin.create_event(session, actor=team["owner"], organization_id=None, fields=fields(now), now=now)
    assert refused.value.key == "error.organization_required"


def test_update_changes_only_what_is_given_and_audits_the_fields(session, team, now):
    event = new_event(session, team, now)
    updated = event_admin.update_event(
        session,
        actor=team["manager"],
        event_id=event.id,
        fields=EventFields(city="Hamburg", title="Jazz Night II"),
        now=now,
    )
    assert updated.city == "Hamburg" and updated.venue_name == "Spree Hall" and updated.slug == "jazz-night-ii"
    entry = session.exec(select(AuditEntry).where(AuditEntry.action == "event.updated")).one()
    assert entry.data["fields"] == ["city", "title"]


@pytest.mark.parametrize("who", ["viewer", "staff", "stranger", "attendee"])
def test_others_cannot_edit_publish_duplicate_or_cancel(session, team, now, who):
    event = new_event(session, team, now)
    event_admin.create_ticket_type(session, actor=team["owner"], event_id=event.id, fields=type_fields(), now=now)
    before = counts(session)
    actor = team[who]
    for call in (
        lambda: event_admin.update_event(
            session, actor=actor, event_id=event.id, fields=EventFields(title="X"), now=now
        ),
        lambda: event_admin.publish_event(session, actor=actor, event_id=event.id, now=now),
        lambda: event_admin.duplicate_event(session, actor=actor, event_id=event.id, now=now),
        lambda: event_admin.cancel_event(session, actor=actor, event_id=event.id, now=now),
        lambda: event_admin.get_event_for_editing(session, actor=actor, event_id=event.id),
        lambda: event_admin.create_ticket_type(session, actor=actor, event_id=event.id, fields=type_fields(), now=now),
        lambda: event_admin.check_event_image_allowed(session, actor=actor, event_id=event.id),
        lambda: event_admin.set_event_image(session, actor=actor, event_id=event.id, name="0" * 32 + ".png", now=now),
    ):
        with pytest.raises(Forbidden):
            call()
    assert counts(session) == before
    session.refresh(event)
    assert event.title == "Jazz Night" and event.status == EventStatus.DRAFT


def test_an_unknown_event_is_not_found(session, team, now):
    with pytest.raises(NotFound):
        event_admin.update_event(session, actor=team["owner"], event_id=uuid.uuid4(), fields=EventFields(), now=now)


def test_moving_the_event_end_before_a_sales_window_end_is_refused(session, team, now):
    event = new_event(session, team, now)
    event_admin.create_ticket_type(
        session,
        actor=team["owner"],
        event_id=event.id,
        fields=type_fields(sales_end=now + timedelta(days=10, hours=3)),
        now=now,
    )
    with pytest.raises(ValidationFailed) as refused:
        event_admin.update_event(
            session,
            actor=team["owner"],
            event_id=event.id,
            fields=EventFields(ends_at=now + timedelta(days=10, hours=2)),
            now=now,
        )
    assert refused.value.key == "error.sales_after_event"
    session.refresh(event)
    assert event.ends_at == now + timedelta(days=10, hours=4)


# -- publishing ---------------------------------------------------------------------------------


def test_publish_needs_a_visible_ticket_type_then_the_event_is_listed(session, team, now):
    event = new_event(session, team, now)
    with pytest.raises(ValidationFailed) as refused:
        event_admin.publish_event(session, actor=team["owner"], event_id=event.id, now=now)
    assert refused.value.key == "error.event_needs_ticket_types"
    event_admin.create_ticket_type(
        session, actor=team["owner"], event_id=event.id, fields=type_fields(name="Guest list", is_hidden=True), now=now
    )
    with pytest.raises(ValidationFailed):
        event_admin.publish_event(session, actor=team["owner"], event_id=event.id, now=now)
    event_admin.create_ticket_type(session, actor=team["owner"], event_id=event.id, fields=type_fields(), now=now)
    published = event_admin.publish_event(session, actor=team["owner"], event_id=event.id, now=now)
    assert published.status == EventStatus.PUBLISHED
    listed = events.list_upcoming_events(session, now=now)
    assert [e.id for e in listed] == [event.id]
    detail = events.get_public_event(session, event_id=event.id)
    assert [t.name for t in detail.ticket_types] == ["Standing"]  # the hidden type is not shown

    draft = event_admin.unpublish_event(session, actor=team["owner"], event_id=event.id, now=now)
    assert draft.status == EventStatus.DRAFT and events.list_upcoming_events(session, now=now) == []
    actions = session.exec(select(AuditEntry.action).where(AuditEntry.object_id == str(event.id))).all()
    assert "event.published" in actions and "event.unpublished" in actions


def test_an_event_that_is_over_cannot_be_published(session, team, now):
    event = new_event(session, team, now)
    event_admin.create_ticket_type(session, actor=team["owner"], event_id=event.id, fields=type_fields(), now=now)
    with pytest.raises(ValidationFailed) as refused:
        event_admin.publish_event(session, actor=team["owner"], event_id=event.id, now=now + timedelta(days=11))
    assert refused.value.key == "error.event_in_past"


# -- duplicating --------------------------------------------------------------------------------


def test_duplicate_copies_details_and_types_as_a_draft_with_nothing_sold_and_a_new_key(session, team, now):
    org = team["org"]
    source = make_event(session, organization=org, now=now, prices=(2500, 4000), quantity=5)
    first = session.exec(select(TicketType).where(TicketType.event_id == source.id)).first()
    session.exec(update(TicketType).where(TicketType.id == first.id).values(reserved=3))
    session.commit()

    copy = event_admin.duplicate_event(session, actor=team["manager"], event_id=source.id, now=now)
    assert copy.status == EventStatus.DRAFT and copy.title == "Concert (copy)" and copy.id != source.id
    assert copy.signing_public_key != source.signing_public_key
    types = session.exec(select(TicketType).where(TicketType.event_id == copy.id).order_by(TicketType.position)).all()
    assert [(t.price_minor, t.quantity, t.reserved) for t in types] == [(2500, 5, 0), (4000, 5, 0)]
    entry = session.exec(select(AuditEntry).where(AuditEntry.action == "event.duplicated")).one()
    assert entry.data["source_event_id"] == str(source.id)


# -- ticket types -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"price_minor": -1}, "error.price_negative"),
        ({"price_minor": 10**12}, "error.price_too_high"),
        ({"price_minor": "12"}, "error.price_invalid"),
        ({"currency": "ABC"}, "error.currency_unknown"),
        ({"currency": "XXX"}, "error.currency_unknown"),
        ({"name": ""}, "error.ticket_name_required"),
        ({"quantity": -5}, "error.ticket_quantity_invalid"),
        ({"min_per_order": 0}, "error.order_limits_invalid"),
        ({"min_per_order": 5, "max_per_order": 2}, "error.order_limits_invalid"),
        ({"max_per_order": 1000}, "error.order_limits_invalid"),
    ],
)
def test_bad_ticket_type_input_is_refused(session, team, now, changes, key):
    event = new_event(session, team, now)
    before = counts(session)
    with pytest.raises(ValidationFailed) as refused:
        event_admin.create_ticket_type(
            session, actor=team["owner"], event_id=event.id, fields=type_fields(**changes), now=now
        )
    assert refused.value.key == key
    assert counts(session) == before


def test_sales_window_must_be_ordered_and_end_by_the_event_end(session, team, now):
    event = new_event(session, team, now)
    for start, end, key in (
        (now + timedelta(days=2), now + timedelta(days=1), "error.sales_window_invalid"),
        (now, now + timedelta(days=11), "error.sales_after_event"),
        (now + timedelta(days=12), None, "error.sales_after_event"),
    ):
        with pytest.raises(ValidationFailed) as refused:
            event_admin.create_ticket_type(
                session,
                actor=team["owner"],
                event_id=event.id,
                fields=type_fields(sales_start=start, sales_end=end),
                now=now,
            )
        assert refused.value.key == key
    ok = event_admin.create_ticket_type(
        session,
        actor=team["owner"],
        event_id=event.id,
        fields=type_fields(sales_start=now, sales_end=now + timedelta(days=10)),
        now=now,
    )
    assert ok.sales_end == now + timedelta(days=10)


def test_one_currency_per_event(session, team, now):
    event = new_event(session, team, now)
    event_admin.create_ticket_type(session, actor=team["owner"], event_id=event.id, fields=type_fields(), now=now)
    with pytest.raises(ValidationFailed) as refused:
        event_admin.create_ticket_type(
            session, actor=team["owner"], event_id=event.id, fields=type_fields(currency="USD"), now=now
        )
    assert refused.value.key == "error.currency_mixed"
    second = event_admin.create_ticket_type(
        session, actor=team["owner"], event_id=event.id, fields=type_fields(name="VIP", currency="eur"), now=now
    )
    assert second.currency == "EUR" and second.position == 1


def test_update_ticket_type_changes_fields_and_audits(session, team, now):
    event = new_event(session, team, now)
    ticket_type = event_admin.create_ticket_type(
        session, actor=team["owner"], event_id=event.id, fields=type_fields(), now=now
    )
    changed = event_admin.update_ticket_type(
        session,
        actor=team["manager"],
        event_id=event.id,
        ticket_type_id=ticket_type.id,
        fields=TicketTypeFields(price_minor=3000, is_hidden=True),
        now=now,
    )
    assert changed.price_minor == 3000 and changed.is_hidden and changed.name == "Standing"
    entry = session.exec(select(AuditEntry).where(AuditEntry.action == "ticket_type.updated")).one()
    assert entry.data["fields"] == ["is_hidden", "price_minor"]


def test_a_ticket_type_of_another_event_is_not_found(session, team, now):
    event = new_event(session, team, now)
    other = make_event(session, organization=team["org"], now=now)
    other_type = session.exec(select(TicketType).where(TicketType.event_id == other.id)).one()
    with pytest.raises(NotFound):
        event_admin.update_ticket_type(
            session,
            actor=team["owner"],
            event_id=event.id,
            ticket_type_id=other_type.id,
            fields=TicketTypeFields(quantity=1),
            now=now,
        )


def _buy(session, ticket_type_id, quantity, now, *, pay=True):
    placed = orders.place_order(
        session, items=[(ticket_type_id, quantity)], email="fan@example.org", phone="+49 30 1234567", now=now
    )
    token = orders.order_access_token(placed.order.id)
    if placed.order.total_minor and pay:
        orders.start_payment(session, order_id=placed.order.id, now=now, access_token=token)
        orders.pay_with_test_provider(session, order_id=placed.order.id, succeeded=True, now=now, access_token=token)
    elif placed.order.total_minor:
        orders.start_payment(session, order_id=placed.order.id, now=now, access_token=token)
    return placed.order


def test_quantity_never_goes_below_what_is_sold(session, team, now):
    event = make_event(session, organization=team["org"], now=now, quantity=10)
    ticket_type = session.exec(select(TicketType).where(TicketType.event_id == event.id)).one()
    _buy(session, ticket_type.id, 4, now)
    with pytest.raises(ValidationFailed) as refused:
        event_admin.update_ticket_type(
            session,
            actor=team["owner"],
            event_id=event.id,
            ticket_type_id=ticket_type.id,
            fields=TicketTypeFields(quantity=3, name="Renamed"),
            now=now,
        )
    assert refused.value.key == "error.ticket_quantity_below_sold" and refused.value.params["sold"] == 4
    session.refresh(ticket_type)
    assert (ticket_type.quantity, ticket_type.name) == (10, "Type 0")  # nothing changed
    lowered = event_admin.update_ticket_type(
        session,
        actor=team["owner"],
        event_id=event.id,
        ticket_type_id=ticket_type.id,
        fields=TicketTypeFields(quantity=4),
        now=now,
    )
    assert lowered.quantity == 4 and lowered.reserved == 4


def test_lowering_is_guarded_by_the_update_itself_when_a_reservation_lands_after_the_checks(
    sqlite_engine, team, session, now
):
    """The editor's session read the type with nothing sold; a buyer's session then reserved seats.
    The guarded UPDATE sees the real counter and refuses (no check-then-act gap)."""
    event = make_event(session, organization=team["org"], now=now, quantity=10)
    ticket_type = session.exec(select(TicketType).where(TicketType.event_id == event.id)).one()
    assert ticket_type.reserved == 0  # loaded, and kept in this session's identity map
    with Session(sqlite_engine, expire_on_commit=False) as buyer:
        buyer.exec(update(TicketType).where(TicketType.id == ticket_type.id).values(reserved=6))
        buyer.commit()
    assert ticket_type.reserved == 0  # stale copy in the editor's session
    with pytest.raises(ValidationFailed) as refused:
        event_admin.update_ticket_type(
            session,
            actor=team["owner"],
            event_id=event.id,
            ticket_type_id=ticket_type.id,
            fields=TicketTypeFields(quantity=5),
            now=now,
        )
    assert refused.value.params["sold"] == 6
    with Session(sqlite_engine) as fresh:
        assert fresh.get(TicketType, ticket_type.id).quantity == 10


def test_hidden_types_cannot_be_bought_publicly(session, team, now):
    event = make_event(session, organization=team["org"], now=now)
    hidden = event_admin.create_ticket_type(
        session, actor=team["owner"], event_id=event.id, fields=type_fields(name="Crew", is_hidden=True), now=now
    )
    from bilten.services.errors import UnknownTicketType

    with pytest.raises(UnknownTicketType):
        orders.place_order(session, items=[(hidden.id, 1)], email="a@example.org", phone="+49 30 1234567", now=now)


def test_price_and_time_helpers(now):
    assert event_admin.price_to_minor("25.50", "EUR") == 2550
    assert event_admin.price_to_minor("25,5", "eur") == 2550
    assert event_admin.price_to_minor("1500", "JPY") == 1500
    assert event_admin.price_to_minor("", "EUR") == 0
    for text, currency, key in (
        ("-1", "EUR", "error.price_negative"),
        ("abc", "EUR", "error.price_invalid"),
        ("NaN", "EUR", "error.price_invalid"),
        ("1.234", "EUR", "error.price_precision"),
        ("10.5", "JPY", "error.price_precision"),
        ("10", "ZZZ", "error.currency_unknown"),
    ):
        with pytest.raises(ValidationFailed) as refused:
            event_admin.price_to_minor(text, currency)
        assert refused.value.key == key
    assert event_admin.minor_to_price_text(2550, "EUR") == "25.50"
    assert event_admin.minor_to_price_text(1500, "JPY") == "1500"
    moment = event_admin.parse_local_datetime("2026-07-01T20:00", "Europe/Berlin")
    assert moment == datetime(2026, 7, 1, 18, 0, tzinfo=UTC)  # summer time: UTC+2
    assert event_admin.local_input_value(moment, "Europe/Berlin") == "2026-07-01T20:00"
    assert event_admin.parse_local_datetime("", "UTC") is None
    with pytest.raises(ValidationFailed):
        event_admin.parse_local_datetime("tomorrow", "UTC")


# -- cancelling ---------------------------------------------------------------------------------


def test_cancel_stops_sales_refunds_paid_cancels_pending_and_emails_each_buyer_once(session, team, now):
    event = make_event(session, organization=team["org"], now=now, quantity=20)
    ticket_type = session.exec(select(TicketType).where(TicketType.event_id == event.id)).one()
    paid = _buy(session, ticket_type.id, 2, now)
    pending = _buy(session, ticket_type.id, 1, now, pay=False)

    report = event_admin.cancel_event(session, actor=team["manager"], event_id=event.id, now=now)
    assert (report.refunded, report.cancelled, report.failed) == (1, 1, [])
    session.refresh(event)
    assert event.status == EventStatus.CANCELLED
    assert session.get(Order, paid.id).status == OrderStatus.REFUNDED
    assert session.get(Order, pending.id).status == OrderStatus.CANCELLED
    assert {t.status for t in session.exec(select(Ticket).where(Ticket.order_id == paid.id))} == {TicketStatus.REFUNDED}
    assert session.exec(select(Payment).where(Payment.order_id == paid.id)).one().status == PaymentStatus.REFUNDED
    session.refresh(ticket_type)
    assert ticket_type.reserved == 0
    with pytest.raises(Exception) as not_on_sale:
        _buy(session, ticket_type.id, 1, now)
    assert not_on_sale.value.code == "event_not_on_sale"

    dispatch_outbox(session, now=now)
    notifications = session.exec(select(Notification).order_by(Notification.idempotency_key)).all()
    cancel_mails = [n for n in notifications if n.idempotency_key.startswith("event.cancelled:")]
    assert sorted(n.idempotency_key for n in cancel_mails) == sorted(
        f"event.cancelled:{order_id}:email" for order_id in (paid.id, pending.id)
    )
    assert not [n for n in notifications if n.idempotency_key.startswith("order.cancelled:")]  # one email each
    rendered = {
        n.idempotency_key: render_notification(session, n, public_url="http://localhost:3000") for n in cancel_mails
    }
    paid_mail = rendered[f"event.cancelled:{paid.id}:email"]
    assert "Cancelled: Concert" == paid_mail.subject and "has been refunded" in paid_mail.text
    assert "not been charged" in rendered[f"event.cancelled:{pending.id}:email"].text
    arabic = next(n for n in cancel_mails if str(paid.id) in n.idempotency_key)
    arabic.locale = "ar"
    assert "أُلغيت" in render_notification(session, arabic, public_url="http://x").subject

    actions = session.exec(select(AuditEntry.action).where(AuditEntry.object_id == str(event.id))).all()
    assert "event.cancelled" in actions
    with pytest.raises(EventCancelled):
        event_admin.update_event(
            session, actor=team["owner"], event_id=event.id, fields=EventFields(title="X"), now=now
        )
    with pytest.raises(EventCancelled):
        event_admin.publish_event(session, actor=team["owner"], event_id=event.id, now=now)


def test_a_failing_refund_does_not_undo_the_others_and_a_second_run_resumes(session, team, now, monkeypatch):
    event = make_event(session, organization=team["org"], now=now, quantity=20)
    ticket_type = session.exec(select(TicketType).where(TicketType.event_id == event.id)).one()
    first, second, third = (_buy(session, ticket_type.id, 1, now + timedelta(seconds=i)) for i in range(3))
    provider = get_provider("test")
    real_refund = provider.refund
    second_payment = session.exec(select(Payment).where(Payment.order_id == second.id)).one()
    failing = {f"refund-{second_payment.id}"}

    def flaky_refund(*, provider_payment_id, amount_minor, idempotency_key):  # noqa: ANN202
        if idempotency_key in failing:
            raise ProviderUnavailable("down")
        return real_refund(
            provider_payment_id=provider_payment_id, amount_minor=amount_minor, idempotency_key=idempotency_key
        )

    monkeypatch.setattr(provider, "refund", flaky_refund)
    report = event_admin.cancel_event(session, actor=team["owner"], event_id=event.id, now=now)
    assert report.refunded == 2 and report.failed == [second.id]
    assert session.get(Order, second.id).status == OrderStatus.PAID
    emails_before = session.exec(select(func.count(OutboxEvent.id)).where(OutboxEvent.topic == "event.cancelled")).one()

    failing.clear()
    again = event_admin.cancel_event(session, actor=team["owner"], event_id=event.id, now=now)
    assert (again.refunded, again.failed) == (1, [])
    assert {session.get(Order, o.id).status for o in (first, second, third)} == {OrderStatus.REFUNDED}
    emails_after = session.exec(select(func.count(OutboxEvent.id)).where(OutboxEvent.topic == "event.cancelled")).one()
    assert emails_before == emails_after == 3  # the re-run queues no second email


# -- markdown -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert(1)</script>",
        "Hello <img src=x onerror=alert(1)> world",
        "<iframe src='https://evil.example'></iframe>",
        '<a href="javascript:alert(1)">click</a>',
        "<div onclick='steal()'>raw</div>",
    ],
)
def test_markdown_never_lets_raw_html_through(text):
    html = render_markdown(text)
    assert set(re.findall(r"<(/?[a-zA-Z]+)", html)) == {"p", "/p"}  # only the paragraph it made
    assert "&lt;" in html  # the raw HTML is shown as text


@pytest.mark.parametrize(
    "link",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "java\tscript:alert(1)",
        " javascript:alert(1)",
        "data:text/html;base64,PHNjcmlwdD4=",
        "vbscript:msgbox(1)",
        "file:///etc/passwd",
        "//evil.example/x",
    ],
)
def test_markdown_drops_unsafe_links(link):
    html = render_markdown(f"[click me]({link}) and <{link}>")
    assert "href" not in html and "<a" not in html


def test_markdown_keeps_formatting_and_safe_links():
    html = render_markdown(
        "# Line-up\n\n**Bold** and *soft*\n\n- one\n- two\n\n[Site](https://example.org) [mail](mailto:a@b.org)"
    )
    assert "<h1>Line-up</h1>" in html and "<strong>Bold</strong>" in html and "<li>one</li>" in html
    assert '<a href="https://example.org" rel="nofollow noopener noreferrer" target="_blank">Site</a>' in html
    assert 'href="mailto:a@b.org"' in html
    assert render_markdown("") == "" and render_markdown("   ") == ""
    assert render_markdown("![pic](https://tracker.example/p.png)").count("<img") == 0


def test_editor_sees_hidden_types_and_open_order_counts(session, team, now):
    event = make_event(session, organization=team["org"], now=now, quantity=20)
    ticket_type = session.exec(select(TicketType).where(TicketType.event_id == event.id)).one()
    event_admin.create_ticket_type(
        session, actor=team["owner"], event_id=event.id, fields=type_fields(name="Crew", is_hidden=True), now=now
    )
    _buy(session, ticket_type.id, 1, now)
    _buy(session, ticket_type.id, 1, now, pay=False)
    detail = event_admin.get_event_for_editing(session, actor=team["manager"], event_id=event.id)
    assert [t.name for t in detail.ticket_types] == ["Type 0", "Crew"]
    assert (detail.paid_orders, detail.pending_orders) == (1, 1)
    assert [o.name for o in event_admin.manageable_organizations(session, actor=team["manager"])] == [team["org"].name]
    assert event_admin.manageable_organizations(session, actor=team["viewer"]) == []
