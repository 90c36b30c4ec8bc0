"""Vouchers on SQLite: pricing rules, who manages codes, the use counter, and uses given back."""

from __future__ import annotations

import csv
import io
import random
from datetime import timedelta

import pytest
from sqlmodel import select

from bilten.models import Order, OrderLine, OrderStatus, Role, TeamRole, TicketType, Voucher, VoucherKind
from bilten.models.organization import Membership
from bilten.services import hold_sweep, orders, vouchers
from bilten.services.errors import (
    Forbidden,
    NotAuthenticated,
    NotFound,
    UnknownTicketType,
    ValidationFailed,
    VoucherCodeTaken,
    VoucherExhausted,
    VoucherInUse,
    VoucherInvalid,
    VoucherNotApplicable,
)
from bilten.services.vouchers import VoucherFields
from tests.factories import make_event, make_organization, make_user

# -- pricing (pure) -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "value", "price", "expected"),
    [
        (VoucherKind.PERCENT, 20, 2500, 2000),
        (VoucherKind.PERCENT, 100, 2500, 0),
        (VoucherKind.PERCENT, 1, 2500, 2475),
        (VoucherKind.PERCENT, 33, 999, 669),  # 329.67 off, rounded half up to 330
        (VoucherKind.PERCENT, 50, 1, 0),  # half a cent off rounds up: never a negative price
        (VoucherKind.AMOUNT, 500, 2500, 2000),
        (VoucherKind.AMOUNT, 5000, 2500, 0),  # never below 0
        (VoucherKind.PRICE, 1000, 2500, 1000),  # the fixed price replaces the unit price
        (VoucherKind.PRICE, 0, 2500, 0),
        (VoucherKind.PRICE, 9000, 2500, 2500),  # never above the normal price
        (VoucherKind.UNLOCK, 0, 2500, 2500),
    ],
)
def test_unit_price_rules(kind, value, price, expected):
    assert vouchers.unit_price(kind, value, price) == expected


def test_a_voucher_naming_types_covers_only_those():
    voucher = Voucher(event_id=None, code="X1Y", kind=VoucherKind.PERCENT, value=10, ticket_type_ids=["a"])
    assert vouchers.covers(voucher, "a") and not vouchers.covers(voucher, "b")
    assert vouchers.voucher_unit_price(voucher, "b", 1000) == 1000
    assert vouchers.voucher_unit_price(voucher, "a", 1000) == 900
    everything = Voucher(event_id=None, code="ALL", kind=VoucherKind.AMOUNT, value=100, ticket_type_ids=[])
    assert vouchers.covers(everything, "b") and not vouchers.unlocks(everything, "b")
    assert vouchers.voucher_unit_price(None, "a", 1000) == 1000


# -- the shop -----------------------------------------------------------------------------------


@pytest.fixture
def shop(session, now):
    organizer = make_user(session, role=Role.ORGANIZER, now=now)
    viewer = make_user(session, role=Role.ORGANIZER, now=now)
    stranger = make_user(session, role=Role.ORGANIZER, now=now)
    org = make_organization(session, members=(organizer,), now=now)
    make_organization(session, members=(stranger,), now=now)
    session.add(Membership(organization_id=org.id, user_id=viewer.id, team_role=TeamRole.VIEWER, created_at=now))
    event = make_event(session, organization=org, now=now, prices=(2500, 4000), quantity=10)
    standard, vip = session.exec(
        select(TicketType).where(TicketType.event_id == event.id).order_by(TicketType.position)
    ).all()
    vip.is_hidden = True
    session.add(vip)
    session.commit()
    return {
        "organizer": organizer,
        "viewer": viewer,
        "stranger": stranger,
        "event": event,
        "standard": standard,
        "vip": vip,
    }


def create(session, shop, now, **fields):
    fields.setdefault("code", "SPRING")
    fields.setdefault("kind", VoucherKind.PERCENT)
    fields.setdefault("value", 20)
    fields.setdefault("max_uses", 4)
    return vouchers.create_voucher(
        session, actor=shop["organizer"], event_id=shop["event"].id, fields=VoucherFields(**fields), now=now
    )


def place(session, now, items, voucher="", **kwargs):
    return orders.place_order(
        session, items=items, email="buyer@example.org", phone="+49 30 1234567", now=now, voucher=voucher, **kwargs
    )


def used(session, voucher_id):
    session.expire_all()
    return session.get(Voucher, voucher_id).used


# -- organizers ---------------------------------------------------------------------------------


def test_organizer_creates_lists_updates_and_deletes_a_voucher(session, now, shop):
    view = create(session, shop, now, code="  spring-26 ")
    assert view.code == "SPRING-26" and view.used == 0 and view.max_uses == 4
    listed = vouchers.list_vouchers(session, actor=shop["viewer"], event_id=shop["event"].id)
    assert [v.code for v in listed] == ["SPRING-26"] and listed[0].currency == "EUR"

    changed = vouchers.update_voucher(
        session,
        actor=shop["organizer"],
        event_id=shop["event"].id,
        voucher_id=view.id,
        fields=VoucherFields(max_uses=10, kind=VoucherKind.AMOUNT, value=500),
        now=now,
    )
    assert (changed.max_uses, changed.kind, changed.value) == (10, VoucherKind.AMOUNT, 500)
    vouchers.delete_voucher(session, actor=shop["organizer"], event_id=shop["event"].id, voucher_id=view.id, now=now)
    assert vouchers.list_vouchers(session, actor=shop["organizer"], event_id=shop["event"].id) == []


def test_only_the_events_managers_manage_vouchers(session, now, shop):
    event_id = shop["event"].id
    for actor, error in ((shop["stranger"], Forbidden), (shop["viewer"], Forbidden), (None, NotAuthenticated)):
        with pytest.raises(error):
            vouchers.create_voucher(
                session,
                actor=actor,
                event_id=event_id,
                fields=VoucherFields(code="NOPE", kind=VoucherKind.PERCENT, value=5, max_uses=1),
                now=now,
            )
        with pytest.raises(error):
            vouchers.vouchers_csv(session, actor=actor, event_id=event_id)
    with pytest.raises(Forbidden):
        vouchers.list_vouchers(session, actor=shop["stranger"], event_id=event_id)
    view = create(session, shop, now)
    with pytest.raises(Forbidden):
        vouchers.delete_voucher(session, actor=shop["viewer"], event_id=event_id, voucher_id=view.id, now=now)
    other_event = make_event(
        session, organization=make_organization(session, members=(shop["stranger"],), now=now), now=now
    )
    with pytest.raises(NotFound):  # a voucher of another event is not found through this one
        vouchers.get_voucher(session, actor=shop["stranger"], event_id=other_event.id, voucher_id=view.id)
    assert session.exec(select(Voucher)).one().code == "SPRING"


@pytest.mark.parametrize(
    ("fields", "key"),
    [
        ({"code": "ab"}, "error.voucher_code_format"),
        ({"code": "no spaces"}, "error.voucher_code_format"),
        ({"value": 0}, "error.voucher_percent"),
        ({"value": 101}, "error.voucher_percent"),
        ({"kind": VoucherKind.AMOUNT, "value": 0}, "error.voucher_amount"),
        ({"kind": VoucherKind.PRICE, "value": -1}, "error.voucher_price"),
        ({"kind": None}, "error.voucher_kind_required"),
        ({"kind": VoucherKind.UNLOCK}, "error.voucher_kind_required"),
        ({"max_uses": 0}, "error.voucher_max_uses"),
        ({"ticket_type_ids": ["00000000-0000-0000-0000-000000000001"]}, "error.voucher_ticket_types"),
    ],
)
def test_bad_voucher_fields_are_refused_with_their_message(session, now, shop, fields, key):
    if "ticket_type_ids" in fields:
        import uuid

        fields["ticket_type_ids"] = [uuid.UUID(fields["ticket_type_ids"][0])]
    with pytest.raises(ValidationFailed) as refused:
        create(session, shop, now, **fields)
    assert refused.value.key == key
    assert session.exec(select(Voucher)).all() == []


def test_validity_window_must_end_after_it_starts(session, now, shop):
    given = frozenset({"valid_from", "valid_until"})
    with pytest.raises(ValidationFailed) as refused:
        create(session, shop, now, valid_from=now, valid_until=now, given=given)
    assert refused.value.key == "error.voucher_window"


def test_codes_are_unique_per_event_whatever_the_case(session, now, shop):
    create(session, shop, now, code="SPRING")
    with pytest.raises(VoucherCodeTaken):
        create(session, shop, now, code="spring")


def test_max_uses_never_below_the_uses_taken(session, now, shop):
    view = create(session, shop, now, max_uses=3)
    place(session, now, [(shop["standard"].id, 1)], voucher="SPRING")
    place(session, now, [(shop["standard"].id, 1)], voucher="SPRING")
    with pytest.raises(ValidationFailed) as refused:
        vouchers.update_voucher(
            session,
            actor=shop["organizer"],
            event_id=shop["event"].id,
            voucher_id=view.id,
            fields=VoucherFields(max_uses=1),
            now=now,
        )
    assert refused.value.key == "error.voucher_max_below_used" and refused.value.params == {"used": 2}
    with pytest.raises(VoucherInUse):  # orders used it: it stays
        vouchers.delete_voucher(
            session, actor=shop["organizer"], event_id=shop["event"].id, voucher_id=view.id, now=now
        )


def test_bulk_creation_makes_random_unambiguous_codes_and_a_csv(session, now, shop):
    created = vouchers.create_random_vouchers(
        session,
        actor=shop["organizer"],
        event_id=shop["event"].id,
        fields=VoucherFields(kind=VoucherKind.AMOUNT, value=300, max_uses=1),
        count=25,
        prefix="vip-",
        now=now,
        rng=random.Random(7).choice,
    )
    codes = [v.code for v in created]
    assert len(set(codes)) == 25
    for code in codes:
        assert code.startswith("VIP-") and len(code) == 4 + vouchers.RANDOM_CODE_LENGTH
        assert set(code[4:]) <= set(vouchers.CODE_ALPHABET) and not set(code[4:]) & set("01OIL")
    rows = list(
        csv.DictReader(io.StringIO(vouchers.vouchers_csv(session, actor=shop["organizer"], event_id=shop["event"].id)))
    )
    assert sorted(row["code"] for row in rows) == sorted(codes)
    assert {(row["kind"], row["value"], row["max_uses"], row["used"]) for row in rows} == {("amount", "300", "1", "0")}
    for count in (0, 1001, True):
        with pytest.raises(ValidationFailed):
            vouchers.create_random_vouchers(
                session,
                actor=shop["organizer"],
                event_id=shop["event"].id,
                fields=VoucherFields(kind=VoucherKind.PERCENT, value=5, max_uses=1),
                count=count,
                now=now,
            )


# -- buyers -------------------------------------------------------------------------------------


def test_a_voucher_lowers_the_total_and_is_recorded_on_the_order(session, now, shop):
    view = create(session, shop, now, value=20)
    placed = place(session, now, [(shop["standard"].id, 3)], voucher="spring")
    order = placed.order
    assert order.total_minor == 3 * 2000 and order.discount_minor == 3 * 500
    assert order.voucher_id == view.id
    line = session.exec(select(OrderLine).where(OrderLine.order_id == order.id)).one()
    assert (line.unit_price_minor, line.line_total_minor) == (2000, 6000)
    assert used(session, view.id) == 1  # one use per order, whatever its number of tickets


def test_a_voucher_for_some_types_prices_only_those(session, now, shop):
    vip = shop["vip"]
    vip.is_hidden = False
    session.add(vip)
    session.commit()
    create(session, shop, now, kind=VoucherKind.PRICE, value=1000, ticket_type_ids=[vip.id])
    order = place(session, now, [(shop["standard"].id, 1), (vip.id, 2)], voucher="SPRING").order
    assert order.total_minor == 2500 + 2 * 1000 and order.discount_minor == 2 * 3000
    with pytest.raises(VoucherNotApplicable):
        place(session, now, [(shop["standard"].id, 1)], voucher="SPRING")


def test_a_free_order_through_a_voucher_is_paid_at_once(session, now, shop):
    create(session, shop, now, value=100)
    order = place(session, now, [(shop["standard"].id, 2)], voucher="SPRING").order
    assert order.total_minor == 0 and order.status == OrderStatus.PAID


def test_hidden_types_are_bought_only_with_a_voucher_that_unlocks_them(session, now, shop):
    vip = shop["vip"]
    with pytest.raises(UnknownTicketType):
        place(session, now, [(vip.id, 1)])
    create(session, shop, now, code="NODOOR", value=10)  # a discount, no unlocking
    with pytest.raises(UnknownTicketType):
        place(session, now, [(vip.id, 1)], voucher="NODOOR")
    create(session, shop, now, code="BACKSTAGE", kind=VoucherKind.UNLOCK, unlocks_hidden=True, value=None)
    order = place(session, now, [(vip.id, 1)], voucher="backstage").order
    assert order.total_minor == 4000 and order.discount_minor == 0
    offer = vouchers.voucher_offer(session, event_id=shop["event"].id, code="BACKSTAGE", now=now)
    assert [t.id for t in offer.hidden_types] == [vip.id]


def test_unknown_expired_and_not_yet_valid_codes_are_invalid(session, now, shop):
    standard = shop["standard"].id
    create(
        session,
        shop,
        now,
        code="LATER",
        valid_from=now + timedelta(days=1),
        valid_until=now + timedelta(days=2),
        given=frozenset({"valid_from", "valid_until"}),
    )
    create(session, shop, now, code="OVER", valid_until=now, given=frozenset({"valid_until"}))
    for code in ("NOSUCH", "LATER", "OVER", "x", "' OR 1=1 --"):
        with pytest.raises(VoucherInvalid):
            place(session, now, [(standard, 1)], voucher=code)
    assert session.exec(select(Order)).all() == []
    assert place(session, now + timedelta(days=1), [(standard, 1)], voucher="later").order.discount_minor == 500


def test_an_exhausted_code_is_refused_and_nothing_is_held(session, now, shop):
    view = create(session, shop, now, max_uses=1)
    place(session, now, [(shop["standard"].id, 1)], voucher="SPRING")
    with pytest.raises(VoucherExhausted):
        place(session, now, [(shop["standard"].id, 1)], voucher="SPRING")
    session.expire_all()
    assert session.get(TicketType, shop["standard"].id).reserved == 1
    assert used(session, view.id) == 1


def test_the_guarded_update_refuses_a_use_past_the_limit(session, now, shop):
    """Two buyers read "one use left" at once: the UPDATE decides, not the read."""
    view = create(session, shop, now, max_uses=1)
    vouchers.take_use(session, view.id)
    with pytest.raises(VoucherExhausted):
        vouchers.take_use(session, view.id)
    session.commit()
    assert used(session, view.id) == 1


def test_an_expired_hold_gives_its_use_back(session, now, shop):
    view = create(session, shop, now, max_uses=1)
    place(session, now, [(shop["standard"].id, 1)], voucher="SPRING")
    assert used(session, view.id) == 1
    orders.expire_holds(session, now=now + timedelta(hours=1))
    assert used(session, view.id) == 0
    assert place(session, now, [(shop["standard"].id, 1)], voucher="SPRING").order.voucher_id == view.id


def test_the_sweepers_batch_gives_uses_back(session, now, shop):
    view = create(session, shop, now, max_uses=3)
    for _ in range(3):
        place(session, now, [(shop["standard"].id, 1)], voucher="SPRING")
    place(session, now, [(shop["standard"].id, 1)])  # no voucher: nothing to give back
    released = hold_sweep.release_expired_batch(session, now=now + timedelta(hours=1))
    assert len(released) == 4
    assert used(session, view.id) == 0
    assert session.get(TicketType, shop["standard"].id).reserved == 0


def test_cancelling_gives_the_use_back(session, now, shop):
    view = create(session, shop, now, max_uses=2)
    pending = place(session, now, [(shop["standard"].id, 1)], voucher="SPRING")
    orders.cancel_order(session, order_id=pending.order.id, now=now, access_token=pending.access_token)
    assert used(session, view.id) == 0
    create(session, shop, now, code="FREEBIE", value=100)
    paid = place(session, now, [(shop["standard"].id, 1)], voucher="FREEBIE").order
    assert paid.status == OrderStatus.PAID
    free_id = session.exec(select(Voucher.id).where(Voucher.code == "FREEBIE")).one()
    assert used(session, free_id) == 1
    orders.cancel_order(session, order_id=paid.id, now=now, actor=shop["organizer"])
    assert used(session, free_id) == 0


def test_orders_with_a_voucher_are_listed_for_the_team(session, now, shop):
    create(session, shop, now)
    order = place(session, now, [(shop["standard"].id, 2)], voucher="SPRING").order
    place(session, now, [(shop["standard"].id, 1)])
    listed = vouchers.voucher_orders(session, actor=shop["viewer"], event_id=shop["event"].id)
    assert [(o.order_id, o.code, o.discount_minor) for o in listed] == [(order.id, "SPRING", 1000)]
    with pytest.raises(Forbidden):
        vouchers.voucher_orders(session, actor=shop["stranger"], event_id=shop["event"].id)
