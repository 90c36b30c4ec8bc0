"""`/api/v1/orders` in test-payment mode (the embedded default), on PostgreSQL."""

import uuid
from datetime import timedelta

import pytest
from sqlmodel import func, select

from bilten.models import EventStatus, Order, Role, Ticket, TicketType
from tests.factories import DEFAULT_PASSWORD, make_event, make_organization, make_user


@pytest.fixture
def types(pg_session, clock):
    org = make_organization(pg_session, now=clock.now)
    event = make_event(pg_session, organization=org, now=clock.now, prices=(2500, 4000), quantity=3)
    other = make_event(pg_session, organization=org, now=clock.now, title="Other")
    ours = pg_session.exec(
        select(TicketType).where(TicketType.event_id == event.id).order_by(TicketType.position)
    ).all()
    theirs = pg_session.exec(select(TicketType).where(TicketType.event_id == other.id)).one()
    return {"event": event, "a": ours[0], "b": ours[1], "other": theirs}


def order_body(*items, email="guest@example.org", phone="+44 20 7946 0958", **extra):
    return {
        "items": [{"ticket_type_id": str(t.id), "quantity": q} for t, q in items],
        "email": email,
        "phone": phone,
        **extra,
    }


def test_guest_buys_in_test_mode_and_reads_the_order_with_its_token(client, types):
    placed = client.post("/api/v1/orders", json=order_body((types["a"], 2), (types["b"], 1)))
    assert placed.status_code == 201
    body = placed.json()
    assert body["status"] == "pending" and body["total"] == 9000 and body["expires_at"]
    assert body["payment"]["provider"] == "test" and body["access_token"]
    assert placed.headers["location"] == f"/api/v1/orders/{body['id']}"
    event = client.get(f"/api/v1/events/{types['event'].id}").json()
    assert [t["available"] for t in event["ticket_types"]] == [1, 2]

    assert client.get(f"/api/v1/orders/{body['id']}").status_code == 404  # no token, no order
    assert client.get(f"/api/v1/orders/{body['id']}", params={"token": "forged"}).status_code == 404
    paid = client.post(
        f"/api/v1/orders/{body['id']}/test-payment",
        json={"outcome": "succeeded"},
        headers={"X-Order-Token": body["access_token"]},
    )
    assert paid.status_code == 200 and paid.json()["status"] == "paid"
    assert len(paid.json()["tickets"]) == 3 and all(len(t["code"]) == 136 for t in paid.json()["tickets"])
    again = client.post(
        f"/api/v1/orders/{body['id']}/test-payment",
        json={"outcome": "succeeded"},
        headers={"X-Order-Token": body["access_token"]},
    )
    assert again.status_code == 409 and again.json()["error"]["code"] == "order_not_payable"


def test_declined_test_payment_keeps_the_order_pending(client, types):
    body = client.post("/api/v1/orders", json=order_body((types["a"], 1))).json()
    declined = client.post(
        f"/api/v1/orders/{body['id']}/test-payment", json={"outcome": "failed"}, params={"token": body["access_token"]}
    )
    assert declined.json()["status"] == "pending" and declined.json()["payment"]["status"] == "failed"


def test_sold_out_answers_409_with_the_code(client, types):
    assert client.post("/api/v1/orders", json=order_body((types["a"], 3))).status_code == 201
    response = client.post("/api/v1/orders", json=order_body((types["a"], 1)))
    assert response.status_code == 409 and response.json()["error"]["code"] == "sold_out"
    assert "0" in response.json()["error"]["message"] or "Type 0" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("items", "code"),
    [
        ([("a", 0)], "invalid_quantity"),
        ([("a", -1)], "invalid_quantity"),
        ([("a", 11)], "quantity_out_of_range"),
        ([("a", "2")], "validation_error"),
        ([("a", 1.5)], "validation_error"),
        ([("a", 1), ("other", 1)], "unknown_ticket_type"),
        ([("missing", 1)], "unknown_ticket_type"),
    ],
)
def test_bad_items_get_clear_errors_and_leave_nothing(client, types, pg_session, items, code):
    lookup = {**types, "missing": type("Missing", (), {"id": uuid.uuid4()})}
    body = {
        "items": [{"ticket_type_id": str(lookup[name].id), "quantity": q} for name, q in items],
        "email": "guest@example.org",
        "phone": "+44 20 7946 0958",
    }
    response = client.post("/api/v1/orders", json=body)
    assert response.status_code in (409, 422) and response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]
    assert pg_session.exec(select(func.count()).select_from(Order)).one() == 0
    assert pg_session.exec(select(func.sum(TicketType.reserved))).one() == 0


@pytest.mark.parametrize(
    ("email", "phone"), [("nope", "+44 20 7946 0958"), ("guest@example.org", "12"), ("guest@example.org", "")]
)
def test_bad_contact_details(client, types, pg_session, email, phone):
    response = client.post("/api/v1/orders", json=order_body((types["a"], 1), email=email, phone=phone))
    assert response.status_code == 422 and response.json()["error"]["code"] == "validation_error"
    assert pg_session.exec(select(func.count()).select_from(Order)).one() == 0


def test_ticket_type_of_another_event_via_event_id(client, types):
    response = client.post("/api/v1/orders", json=order_body((types["other"], 1), event_id=str(types["event"].id)))
    assert response.json()["error"]["code"] == "unknown_ticket_type"


def test_draft_event_and_closed_sales(client, types, pg_session, clock):
    a = pg_session.get(TicketType, types["a"].id)
    a.sales_end = clock.now - timedelta(minutes=1)
    pg_session.add(a)
    pg_session.commit()
    assert client.post("/api/v1/orders", json=order_body((types["a"], 1))).json()["error"]["code"] == "sales_closed"
    event = types["event"]
    event.status = EventStatus.DRAFT
    pg_session.add(event)
    pg_session.commit()
    assert (
        client.post("/api/v1/orders", json=order_body((types["b"], 1))).json()["error"]["code"] == "event_not_on_sale"
    )


def test_expired_order_cannot_be_paid(client, types, clock):
    body = client.post("/api/v1/orders", json=order_body((types["a"], 1))).json()
    clock.now += timedelta(minutes=15)
    response = client.post(
        f"/api/v1/orders/{body['id']}/test-payment",
        json={"outcome": "succeeded"},
        params={"token": body["access_token"]},
    )
    assert response.status_code == 409 and response.json()["error"]["code"] == "order_not_payable"


def test_buyer_cancels_pending_order_and_seats_return(client, types):
    body = client.post("/api/v1/orders", json=order_body((types["a"], 3))).json()
    assert client.post(f"/api/v1/orders/{body['id']}/cancel").status_code == 404
    cancelled = client.post(f"/api/v1/orders/{body['id']}/cancel", params={"token": body["access_token"]})
    assert cancelled.json()["status"] == "cancelled"
    assert client.post("/api/v1/orders", json=order_body((types["a"], 3))).status_code == 201


def test_logged_in_buyer_reads_own_order_with_jwt_and_others_cannot(client, types, pg_session, clock):
    buyer = make_user(pg_session, now=clock.now)
    other = make_user(pg_session, now=clock.now)

    def bearer(user):
        tokens = client.post("/api/v1/auth/login", json={"email": user.email, "password": DEFAULT_PASSWORD}).json()
        return {"Authorization": f"Bearer {tokens['access_token']}"}

    body = client.post("/api/v1/orders", json=order_body((types["a"], 1), phone=""), headers=bearer(buyer)).json()
    assert client.get(f"/api/v1/orders/{body['id']}", headers=bearer(buyer)).status_code == 200
    assert client.get(f"/api/v1/orders/{body['id']}", headers=bearer(other)).status_code == 404


def test_organizer_of_another_event_cannot_cancel_or_read(client, types, pg_session, clock):
    rival = make_user(pg_session, role=Role.ORGANIZER, now=clock.now)
    make_organization(pg_session, members=(rival,), now=clock.now)
    tokens = client.post("/api/v1/auth/login", json={"email": rival.email, "password": DEFAULT_PASSWORD}).json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    body = client.post("/api/v1/orders", json=order_body((types["a"], 1))).json()
    assert client.get(f"/api/v1/orders/{body['id']}", headers=headers).status_code == 404
    assert client.post(f"/api/v1/orders/{body['id']}/cancel", headers=headers).status_code == 404
    assert pg_session.exec(select(func.count()).select_from(Ticket)).one() == 0


def test_paid_order_downloads_pdf_and_calendar_with_its_token_only(client, types):
    import io

    from icalendar import Calendar
    from pypdf import PdfReader

    body = client.post("/api/v1/orders", json=order_body((types["a"], 2))).json()
    token = {"token": body["access_token"]}
    assert client.get(f"/api/v1/orders/{body['id']}/tickets.pdf", params=token).json()["error"]["code"] == (
        "validation_error"
    )  # not paid yet: no tickets
    client.post(f"/api/v1/orders/{body['id']}/test-payment", json={"outcome": "succeeded"}, params=token)
    pdf = client.get(f"/api/v1/orders/{body['id']}/tickets.pdf", params={**token, "lang": "ar"})
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert len(PdfReader(io.BytesIO(pdf.content)).pages) == 2
    ics = client.get(f"/api/v1/orders/{body['id']}/calendar.ics", params=token)
    assert ics.headers["content-type"].startswith("text/calendar")
    event = next(c for c in Calendar.from_ical(ics.content).walk() if c.name == "VEVENT")
    assert str(event["summary"]) == "Concert"
    assert client.get(f"/api/v1/orders/{body['id']}/tickets.pdf").status_code == 404
    assert client.get(f"/api/v1/orders/{body['id']}/calendar.ics", params={"token": "forged"}).status_code == 404
