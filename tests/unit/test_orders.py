"""Selling on SQLite: reservation rules, payment state machine, expiry, cancellation."""

from datetime import timedelta

import pytest
from sqlmodel import func, select

from bilten.models import (
    AuditEntry,
    Event,
    EventStatus,
    Order,
    OrderStatus,
    OutboxEvent,
    Payment,
    PaymentStatus,
    Role,
    Ticket,
    TicketStatus,
    TicketType,
)
from bilten.payments.base import PaymentUpdate, UpdateKind
from bilten.services import orders
from bilten.services.errors import (
    AmountMismatch,
    EventNotOnSale,
    InvalidQuantity,
    NotFound,
    OrderNotCancellable,
    OrderNotPayable,
    QuantityOutOfRange,
    SalesClosed,
    SalesNotOpen,
    SoldOut,
    UnknownOrder,
    UnknownTicketType,
    ValidationFailed,
)
from bilten.services.ticket_codes import load_public_key, verify_ticket_code
from tests.factories import make_event, make_organization, make_user


def link(order_id):
    """The buyer's signed link token for an order."""
    return orders.order_access_token(order_id)


@pytest.fixture
def shop(session, now):
    organizer = make_user(session, role=Role.ORGANIZER, now=now)
    org = make_organization(session, members=(organizer,), now=now)
    event = make_event(session, organization=org, now=now, prices=(2500, 0), quantity=5)
    standard, free = session.exec(
        select(TicketType).where(TicketType.event_id == event.id).order_by(TicketType.position)
    ).all()
    return {"organizer": organizer, "org": org, "event": event, "standard": standard, "free": free}


def place(session, now, items, **kwargs):
    return orders.place_order(
        session,
        items=items,
        email=kwargs.pop("email", "buyer@example.org"),
        phone=kwargs.pop("phone", "+49 30 1234567"),
        now=now,
        **kwargs,
    )


def counts(session):
    return {
        "orders": session.exec(select(func.count()).select_from(Order)).one(),
        "tickets": session.exec(select(func.count()).select_from(Ticket)).one(),
        "reserved": session.exec(select(func.sum(TicketType.reserved))).one(),
    }


def paid_order(session, now, shop, quantity=2):
    placed = place(session, now, [(shop["standard"].id, quantity)])
    orders.start_payment(session, order_id=placed.order.id, now=now, access_token=link(placed.order.id))
    orders.pay_with_test_provider(
        session, order_id=placed.order.id, succeeded=True, now=now, access_token=link(placed.order.id)
    )
    return session.get(Order, placed.order.id)


def test_place_order_holds_seats_for_fifteen_minutes(session, now, shop):
    placed = place(session, now, [(shop["standard"].id, 2)], name="Lina")
    order = placed.order
    assert order.status == OrderStatus.PENDING and order.total_minor == 5000 and order.currency == "EUR"
    assert order.hold_expires_at == now + timedelta(minutes=15)
    assert session.get(TicketType, shop["standard"].id).reserved == 2
    assert placed.access_token == orders.order_access_token(order.id)
    assert session.exec(select(AuditEntry).where(AuditEntry.action == "order.placed")).one()


def test_free_order_is_paid_at_once_with_signed_tickets(session, now, shop):
    order = place(session, now, [(shop["free"].id, 2)]).order
    assert order.status == OrderStatus.PAID
    tickets = session.exec(select(Ticket).where(Ticket.order_id == order.id)).all()
    assert len(tickets) == 2 and len({t.code for t in tickets}) == 2
    public = load_public_key(shop["event"].signing_public_key)
    assert {verify_ticket_code(t.code, public).ticket_id for t in tickets} == {t.id for t in tickets}
    assert session.exec(select(OutboxEvent).where(OutboxEvent.topic == "order.paid")).one().payload == {
        "order_id": str(order.id)
    }


@pytest.mark.parametrize("quantity", [0, -1, 101, 2.5, True, "2"])
def test_bad_quantities_change_nothing(session, now, shop, quantity):
    before = counts(session)
    with pytest.raises(InvalidQuantity):
        place(session, now, [(shop["standard"].id, quantity)])
    assert counts(session) == before


def test_above_maximum_and_below_minimum(session, now, shop):
    shop["standard"].max_per_order = 3
    shop["standard"].min_per_order = 2
    session.add(shop["standard"])
    session.commit()
    with pytest.raises(QuantityOutOfRange):
        place(session, now, [(shop["standard"].id, 4)])
    with pytest.raises(QuantityOutOfRange):
        place(session, now, [(shop["standard"].id, 1)])
    assert counts(session)["orders"] == 0


def test_more_than_left_is_sold_out_and_leaves_no_hold(session, now, shop):
    place(session, now, [(shop["standard"].id, 4)])
    with pytest.raises(SoldOut) as caught:
        place(session, now, [(shop["free"].id, 1), (shop["standard"].id, 2)])
    assert caught.value.params["available"] == 1
    assert session.get(TicketType, shop["free"].id).reserved == 0  # the other line was rolled back too
    assert counts(session)["orders"] == 1


def test_ticket_type_of_another_event_or_unknown(session, now, shop):
    other = make_event(session, organization=shop["org"], now=now, title="Other")
    other_type = session.exec(select(TicketType).where(TicketType.event_id == other.id)).one()
    with pytest.raises(UnknownTicketType):
        place(session, now, [(shop["standard"].id, 1), (other_type.id, 1)])
    with pytest.raises(UnknownTicketType):
        place(session, now, [(other_type.id, 1)], event_id=shop["event"].id)
    import uuid

    with pytest.raises(UnknownTicketType):
        place(session, now, [(uuid.uuid4(), 1)])
    assert counts(session)["orders"] == 0


def test_sales_window_and_event_status(session, now, shop):
    standard = shop["standard"]
    standard.sales_start = now + timedelta(days=1)
    session.add(standard)
    session.commit()
    with pytest.raises(SalesNotOpen):
        place(session, now, [(standard.id, 1)])
    standard.sales_start, standard.sales_end = None, now
    session.add(standard)
    session.commit()
    with pytest.raises(SalesClosed):
        place(session, now, [(standard.id, 1)])
    for status in (EventStatus.DRAFT, EventStatus.CANCELLED):
        shop["event"].status = status
        session.add(shop["event"])
        session.commit()
        with pytest.raises(EventNotOnSale):
            place(session, now, [(shop["free"].id, 1)])
    assert counts(session)["orders"] == 0


@pytest.mark.parametrize(
    ("email", "phone"), [("nope", "+49 30 1234567"), ("a@example.org", "call me"), ("a@example.org", "")]
)
def test_guest_needs_valid_email_and_phone(session, now, shop, email, phone):
    with pytest.raises(ValidationFailed):
        place(session, now, [(shop["standard"].id, 1)], email=email, phone=phone)
    assert counts(session)["orders"] == 0


def test_logged_in_buyer_may_leave_phone_empty(session, now, shop):
    user = make_user(session, now=now)
    order = place(session, now, [(shop["standard"].id, 1)], phone="", user=user).order
    assert order.user_id == user.id


def test_test_payment_confirms_and_issues_tickets_once(session, now, shop):
    order = paid_order(session, now, shop)
    assert order.status == OrderStatus.PAID and order.hold_expires_at is None
    assert len(session.exec(select(Ticket).where(Ticket.order_id == order.id)).all()) == 2
    with pytest.raises(OrderNotPayable):  # already paid
        orders.pay_with_test_provider(session, order_id=order.id, succeeded=True, now=now, access_token=link(order.id))
    assert len(session.exec(select(Ticket)).all()) == 2


def test_declined_test_payment_keeps_the_hold_for_another_try(session, now, shop):
    order = place(session, now, [(shop["standard"].id, 1)]).order
    orders.start_payment(session, order_id=order.id, now=now, access_token=link(order.id))
    outcome = orders.pay_with_test_provider(
        session, order_id=order.id, succeeded=False, now=now, access_token=link(order.id)
    )
    assert outcome.result == "failed"
    assert session.get(Order, order.id).status == OrderStatus.PENDING
    orders.start_payment(session, order_id=order.id, now=now + timedelta(minutes=1), access_token=link(order.id))
    assert (
        orders.pay_with_test_provider(
            session, order_id=order.id, succeeded=True, now=now, access_token=link(order.id)
        ).result
        == "paid"
    )


def test_expired_hold_returns_seats_and_cannot_be_paid(session, now, shop):
    order = place(session, now, [(shop["standard"].id, 3)]).order
    orders.start_payment(session, order_id=order.id, now=now, access_token=link(order.id))
    assert orders.expire_holds(session, now=now + timedelta(minutes=14)) == []
    expired = orders.expire_holds(session, now=now + timedelta(minutes=15))
    assert [e.order_id for e in expired] == [order.id] and expired[0].open_checkouts[0][0] == "test"
    assert session.get(Order, order.id).status == OrderStatus.EXPIRED
    assert session.get(TicketType, shop["standard"].id).reserved == 0
    assert session.exec(select(Payment)).one().status == PaymentStatus.CANCELED
    with pytest.raises(OrderNotPayable):
        orders.pay_with_test_provider(
            session, order_id=order.id, succeeded=True, now=now + timedelta(minutes=16), access_token=link(order.id)
        )
    with pytest.raises(OrderNotPayable):
        orders.start_payment(session, order_id=order.id, now=now + timedelta(minutes=16), access_token=link(order.id))


def _confirm(order, payment, **overrides):
    values = dict(
        event_id="evt_1",
        kind=UpdateKind.CONFIRMED,
        provider_reference=payment.provider_reference,
        order_id=str(order.id),
        amount_minor=payment.amount_minor,
        currency=payment.currency,
        provider_payment_id="pi_1",
    )
    values.update(overrides)
    return PaymentUpdate(**values)


def test_late_payment_with_seats_free_is_accepted(session, now, shop):
    order = place(session, now, [(shop["standard"].id, 2)]).order
    payment = orders.start_payment(session, order_id=order.id, now=now, access_token=link(order.id))
    orders.expire_holds(session, now=now + timedelta(minutes=20))
    outcome = orders.apply_payment_update(
        session, provider="test", update=_confirm(order, payment), now=now + timedelta(minutes=21)
    )
    assert outcome.result == "paid_late"
    assert session.get(Order, order.id).status == OrderStatus.PAID
    assert session.get(TicketType, shop["standard"].id).reserved == 2


def test_payment_for_an_event_cancelled_meanwhile_is_refunded_without_tickets(session, now, shop):
    order = place(session, now, [(shop["standard"].id, 2)]).order
    payment = orders.start_payment(session, order_id=order.id, now=now, access_token=link(order.id))
    event = session.get(Event, order.event_id)
    event.status = EventStatus.CANCELLED  # the organizer cancels while the buyer is on the checkout
    session.add(event)
    session.commit()
    outcome = orders.apply_payment_update(
        session, provider="test", update=_confirm(order, payment), now=now + timedelta(minutes=1)
    )
    assert outcome.result == "refund_needed"
    assert session.get(Order, order.id).status == OrderStatus.CANCELLED
    assert session.exec(select(Ticket).where(Ticket.order_id == order.id)).all() == []
    assert session.get(TicketType, shop["standard"].id).reserved == 0
    assert orders.refund_unbacked_payment(session, payment_id=payment.id, now=now + timedelta(minutes=2))
    assert session.get(Payment, payment.id).status == PaymentStatus.REFUNDED


def test_late_payment_for_sold_out_seats_is_refunded(session, now, shop):
    order = place(session, now, [(shop["standard"].id, 2)]).order
    payment = orders.start_payment(session, order_id=order.id, now=now, access_token=link(order.id))
    orders.expire_holds(session, now=now + timedelta(minutes=20))
    place(session, now + timedelta(minutes=20), [(shop["standard"].id, 4)])  # someone else takes the seats
    outcome = orders.apply_payment_update(
        session, provider="test", update=_confirm(order, payment), now=now + timedelta(minutes=21)
    )
    assert outcome.result == "refund_needed"
    assert orders.pending_refunds(session) == [payment.id]
    assert orders.refund_unbacked_payment(session, payment_id=payment.id, now=now + timedelta(minutes=22))
    assert session.get(Payment, payment.id).status == PaymentStatus.REFUNDED
    assert orders.pending_refunds(session) == []
    assert session.get(Order, order.id).status == OrderStatus.EXPIRED
    assert session.exec(select(Ticket).where(Ticket.order_id == order.id)).all() == []
    told = session.exec(select(OutboxEvent).where(OutboxEvent.topic == "order.cancelled")).one()
    assert told.payload["refunded"] is True and told.payload["reason"] == "late_payment"
    assert session.get(TicketType, shop["standard"].id).reserved == 4
    refund = session.exec(select(AuditEntry).where(AuditEntry.action == "payment.refunded")).one()
    assert (refund.object_id, refund.actor_user_id) == (str(order.id), None)  # nobody asked: the sweeper gave it back
    assert refund.data["payment_id"] == str(payment.id) and refund.data["reason"] == "late_payment"
    assert session.get(Payment, payment.id).refunded_minor == payment.amount_minor


def test_duplicate_and_out_of_order_updates_are_harmless(session, now, shop):
    order = place(session, now, [(shop["standard"].id, 1)]).order
    payment = orders.start_payment(session, order_id=order.id, now=now, access_token=link(order.id))
    first = orders.apply_payment_update(session, provider="test", update=_confirm(order, payment), now=now)
    again = orders.apply_payment_update(session, provider="test", update=_confirm(order, payment), now=now)
    other_id = orders.apply_payment_update(
        session, provider="test", update=_confirm(order, payment, event_id="evt_2"), now=now
    )
    late_expiry = orders.apply_payment_update(
        session, provider="test", update=_confirm(order, payment, event_id="evt_3", kind=UpdateKind.CANCELED), now=now
    )
    assert (first.result, again.result, other_id.result, late_expiry.result) == (
        "paid",
        "duplicate",
        "duplicate",
        "ignored",
    )
    assert len(session.exec(select(Ticket)).all()) == 1
    assert session.get(Payment, payment.id).status == PaymentStatus.CONFIRMED


def test_wrong_amount_or_unknown_order_changes_nothing(session, now, shop):
    order = place(session, now, [(shop["standard"].id, 1)]).order
    payment = orders.start_payment(session, order_id=order.id, now=now, access_token=link(order.id))
    with pytest.raises(AmountMismatch):
        orders.apply_payment_update(session, provider="test", update=_confirm(order, payment, amount_minor=1), now=now)
    with pytest.raises(AmountMismatch):
        orders.apply_payment_update(session, provider="test", update=_confirm(order, payment, currency="USD"), now=now)
    with pytest.raises(UnknownOrder):
        orders.apply_payment_update(session, provider="test", update=_confirm(order, payment, order_id="nope"), now=now)
    with pytest.raises(UnknownOrder):
        orders.apply_payment_update(
            session, provider="test", update=_confirm(order, payment, provider_reference="cs_other"), now=now
        )
    assert session.get(Order, order.id).status == OrderStatus.PENDING
    # The rejected deliveries were not recorded as processed: a correct retry still works.
    assert (
        orders.apply_payment_update(session, provider="test", update=_confirm(order, payment), now=now).result == "paid"
    )


def test_buyer_cancels_pending_order_with_the_signed_link_only(session, now, shop):
    order = place(session, now, [(shop["standard"].id, 2)]).order
    with pytest.raises(NotFound):
        orders.cancel_order(session, order_id=order.id, now=now, access_token="forged")
    stranger = make_user(session, now=now)
    with pytest.raises(NotFound):
        orders.cancel_order(session, order_id=order.id, now=now, actor=stranger)
    cancelled = orders.cancel_order(session, order_id=order.id, now=now, access_token=link(order.id))
    assert cancelled.status == OrderStatus.CANCELLED
    assert session.get(TicketType, shop["standard"].id).reserved == 0


def test_buyer_cannot_cancel_a_paid_order_but_the_organizer_refunds_it(session, now, shop):
    order = paid_order(session, now, shop)
    with pytest.raises(OrderNotCancellable):
        orders.cancel_order(session, order_id=order.id, now=now, access_token=link(order.id))
    rival = make_user(session, role=Role.ORGANIZER, now=now)
    make_organization(session, members=(rival,), now=now)
    with pytest.raises(NotFound):
        orders.cancel_order(session, order_id=order.id, now=now, actor=rival)
    refunded = orders.cancel_order(session, order_id=order.id, now=now, actor=shop["organizer"])
    assert refunded.status == OrderStatus.REFUNDED
    assert {t.status for t in session.exec(select(Ticket)).all()} == {TicketStatus.REFUNDED}
    assert session.get(TicketType, shop["standard"].id).reserved == 0
    assert session.exec(select(Payment)).one().status == PaymentStatus.REFUNDED
    actions = {a.action for a in session.exec(select(AuditEntry)).all()}
    assert {"order.cancelled", "payment.refunded"} <= actions
    refund = session.exec(select(AuditEntry).where(AuditEntry.action == "payment.refunded")).one()
    assert (refund.object_id, refund.actor_user_id) == (str(order.id), shop["organizer"].id)
    assert set(refund.data) == {"payment_id", "refund_id"}  # the same entry as a late payment's, without a reason
    with pytest.raises(OrderNotCancellable):
        orders.cancel_order(session, order_id=order.id, now=now, actor=shop["organizer"])


def test_paying_needs_the_signed_link_or_the_buyers_account(session, now, shop):
    order = place(session, now, [(shop["standard"].id, 1)]).order
    stranger = make_user(session, now=now)
    with pytest.raises(NotFound):
        orders.start_payment(session, order_id=order.id, now=now)
    with pytest.raises(NotFound):
        orders.start_payment(session, order_id=order.id, now=now, user=stranger, access_token="forged")
    orders.start_payment(session, order_id=order.id, now=now, access_token=link(order.id))
    with pytest.raises(NotFound):
        orders.pay_with_test_provider(session, order_id=order.id, succeeded=True, now=now, user=stranger)
    assert session.get(Order, order.id).status == OrderStatus.PENDING
