"""Which payment provider runs, from settings; and what a server without one sells (free tickets only)."""

import logging

import pytest
from sqlmodel import func, select

from bilten.models import Order, OrderStatus, Payment, Ticket, TicketType, Voucher, VoucherKind
from bilten.payments import (
    active_provider,
    is_test_mode,
    payment_setup_warnings,
    provider_registry,
    warn_about_payment_setup,
)
from bilten.services import orders
from bilten.services.errors import PaymentsNotConfigured
from bilten.settings import ConfigurationError, get_settings
from tests.factories import make_event, make_organization

PAYMENT_VARIABLES = ("PAYMENT_PROVIDER", "BILTEN_DEMO", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET")


@pytest.fixture
def configure(monkeypatch):
    """Set the payment settings as an operator would (environment), with fresh caches."""

    def apply(**env: str) -> None:
        for name in PAYMENT_VARIABLES:
            monkeypatch.delenv(name, raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        provider_registry.cache_clear()

    yield apply
    get_settings.cache_clear()
    provider_registry.cache_clear()


def test_a_production_server_without_stripe_has_no_test_payments(configure):
    configure()  # no BILTEN_DEMO, no STRIPE_SECRET_KEY, no PAYMENT_PROVIDER
    assert provider_registry() == {}
    assert active_provider() is None and not is_test_mode()
    assert "only free tickets" in payment_setup_warnings()[0]


def test_demo_mode_keeps_test_payments(configure):
    configure(BILTEN_DEMO="1")
    assert active_provider().identifier == "test" and is_test_mode()
    assert payment_setup_warnings() == []  # `make run`: expected, nothing to warn about


def test_test_payments_outside_demo_only_when_asked_for_and_then_warned(configure):
    configure(PAYMENT_PROVIDER="test")
    assert active_provider().identifier == "test"
    assert "for free" in payment_setup_warnings()[0]


def test_stripe_when_its_key_is_set(configure):
    configure(STRIPE_SECRET_KEY="sk_test_x", STRIPE_WEBHOOK_SECRET="whsec_x")
    assert list(provider_registry()) == ["stripe"] and not is_test_mode()
    assert payment_setup_warnings() == []
    configure(STRIPE_SECRET_KEY="sk_test_x", STRIPE_WEBHOOK_SECRET="whsec_x", BILTEN_DEMO="1")
    assert list(provider_registry()) == ["stripe"]  # demo mode does not add test payments beside Stripe


def test_none_switches_test_payments_off_even_in_demo(configure):
    configure(BILTEN_DEMO="1", PAYMENT_PROVIDER="none")
    assert provider_registry() == {}


@pytest.mark.parametrize(
    "env",
    [
        {"PAYMENT_PROVIDER": "stripe"},  # without its key
        {"PAYMENT_PROVIDER": "test", "STRIPE_SECRET_KEY": "sk_live_x", "STRIPE_WEBHOOK_SECRET": "whsec_x"},
        {"PAYMENT_PROVIDER": "paypal"},
    ],
)
def test_contradictory_or_unknown_choices_stop_the_start(configure, env):
    with pytest.raises((ConfigurationError, ValueError)):
        configure(**env)
        get_settings()


def test_a_blank_choice_means_unset(configure):
    configure(PAYMENT_PROVIDER=" ")
    assert get_settings().effective_payment_provider == "none"


def test_the_warning_reaches_the_log_at_start(configure, caplog):
    configure(PAYMENT_PROVIDER="test")
    with caplog.at_level(logging.WARNING, logger="bilten.payments"):
        warn_about_payment_setup()
    assert [r.levelno for r in caplog.records] == [logging.WARNING]
    assert "PAYMENT_PROVIDER=test" in caplog.text


# ---------------------------------------------------------------------------------------------
# Selling without a provider


@pytest.fixture
def shop(session, now):
    org = make_organization(session, now=now)
    event = make_event(session, organization=org, now=now, prices=(2500, 0), quantity=5)
    paid, free = session.exec(
        select(TicketType).where(TicketType.event_id == event.id).order_by(TicketType.position)
    ).all()
    return {"event": event, "paid": paid, "free": free}


def _place(session, now, items, voucher=""):
    return orders.place_order(
        session,
        items=items,
        email="buyer@example.org",
        phone="+49 30 1234567",
        now=now,
        provider=active_provider(),
        voucher=voucher,
    )


def _written(session):
    return {
        "orders": session.exec(select(func.count()).select_from(Order)).one(),
        "payments": session.exec(select(func.count()).select_from(Payment)).one(),
        "reserved": session.exec(select(func.sum(TicketType.reserved))).one(),
    }


def test_paid_tickets_are_refused_without_a_provider_and_nothing_is_kept(configure, session, now, shop):
    configure()
    for items in ([(shop["paid"].id, 1)], [(shop["paid"].id, 1), (shop["free"].id, 1)]):
        with pytest.raises(PaymentsNotConfigured):
            _place(session, now, items)
    assert _written(session) == {"orders": 0, "payments": 0, "reserved": 0}


def test_free_tickets_still_work_without_a_provider(configure, session, now, shop):
    configure()
    placed = _place(session, now, [(shop["free"].id, 2)])
    assert placed.order.status == OrderStatus.PAID
    assert session.exec(select(func.count()).select_from(Ticket)).one() == 2


def test_an_order_a_voucher_makes_free_is_sold_without_a_provider(configure, session, now, shop):
    """What the buyer is charged decides, not the list price: 100 % off needs no payment provider;
    50 % off still does, and is refused before anything is written (its voucher use included)."""
    configure()
    for code, percent in (("FREE", 100), ("HALF", 50)):
        session.add(Voucher(event_id=shop["event"].id, code=code, kind=VoucherKind.PERCENT, value=percent, max_uses=5))
    session.commit()
    with pytest.raises(PaymentsNotConfigured):
        _place(session, now, [(shop["paid"].id, 1)], voucher="half")
    assert _written(session) == {"orders": 0, "payments": 0, "reserved": 0}
    session.expire_all()
    assert session.exec(select(func.sum(Voucher.used))).one() == 0
    placed = _place(session, now, [(shop["paid"].id, 2)], voucher="free")
    assert placed.order.status == OrderStatus.PAID and placed.order.total_minor == 0
    assert session.exec(select(func.count()).select_from(Ticket)).one() == 2
    assert _written(session) == {"orders": 1, "payments": 0, "reserved": 2}


def test_an_order_left_pending_cannot_open_a_payment_once_payments_are_off(configure, session, now, shop):
    configure(PAYMENT_PROVIDER="test")
    placed = orders.place_order(session, items=[(shop["paid"].id, 1)], email="a@example.org", phone="+4930123", now=now)
    configure()  # the server restarted without payments
    with pytest.raises(PaymentsNotConfigured):
        orders.start_payment(session, order_id=placed.order.id, now=now, access_token=placed.access_token)
    assert session.exec(select(func.count()).select_from(Payment)).one() == 0
