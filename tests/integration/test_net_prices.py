"""Net prices (an organization's prices exclude tax): buyers see on the public API what they pay."""

import pytest
from sqlmodel import select

from bilten.models import InvoiceSettings, TicketType, Voucher, VoucherKind
from tests.factories import make_event, make_organization


def shop(session, now, *, net: bool):
    org = make_organization(session, now=now)
    session.add(InvoiceSettings(organization_id=org.id, prices_include_tax=not net))
    event = make_event(session, organization=org, now=now, prices=(1000,))
    ticket_type = session.exec(select(TicketType).where(TicketType.event_id == event.id)).one()
    ticket_type.tax_rate_bp = 1900
    session.add_all(
        [
            ticket_type,
            Voucher(event_id=event.id, code="SALE", kind=VoucherKind.PERCENT, value=15, max_uses=5, created_at=now),
        ]
    )
    session.commit()
    return event, ticket_type


def order(client, ticket_type, quantity, **extra):
    body = {
        "items": [{"ticket_type_id": str(ticket_type.id), "quantity": quantity}],
        "email": "buyer@example.org",
        "phone": "+49 30 1234567",
        **extra,
    }
    placed = client.post("/api/v1/orders", json=body)
    assert placed.status_code == 201, placed.text
    return placed.json()


@pytest.mark.parametrize(("net", "shown"), [(True, 1190), (False, 1000)])
def test_the_api_shows_the_price_the_order_charges(client, pg_session, clock, net, shown):
    event, ticket_type = shop(pg_session, clock.now, net=net)
    listed = client.get("/api/v1/events").json()
    assert [e["lowest_price"] for e in listed if e["id"] == str(event.id)] == [shown]
    detail = client.get(f"/api/v1/events/{event.id}").json()
    assert detail["lowest_price"] == shown and [t["price"] for t in detail["ticket_types"]] == [shown]
    assert "tax_rate_bp" not in detail["ticket_types"][0]  # the API shows the price, not how it is made
    assert order(client, ticket_type, 1)["total"] == shown


def test_a_voucher_on_net_prices_is_charged_as_the_tax_on_the_lowered_net(client, pg_session, clock):
    _, ticket_type = shop(pg_session, clock.now, net=True)
    # 15 % off the net 10.00 is 8.50; with 19 % tax 10.115, rounded half to even: 10.12 each
    placed = order(client, ticket_type, 3, voucher="sale")
    assert placed["total"] == 3 * 1012 and placed["discount"] == 3 * 1190 - 3 * 1012
