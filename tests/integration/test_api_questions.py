"""Questions at checkout through the REST API on PostgreSQL: organizers ask, buyers answer when they
order (a refused answer leaves no order and takes no seat), read and change their answers; strangers
are refused."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import event as sa_event
from sqlmodel import func, select

from bilten.i18n import translate
from bilten.models import Order, Role, TicketType
from tests.factories import DEFAULT_PASSWORD, make_event, make_organization, make_user


def bearer(client, user) -> dict[str, str]:
    tokens = client.post("/api/v1/auth/login", json={"email": user.email, "password": DEFAULT_PASSWORD}).json()
    return {"Authorization": f"Bearer {tokens['access_token']}"}


@pytest.fixture
def shop(pg_session, clock):
    now = clock.now
    owner = make_user(pg_session, role=Role.ORGANIZER, now=now)
    stranger = make_user(pg_session, role=Role.ORGANIZER, now=now)
    org = make_organization(pg_session, members=(owner,), now=now)
    make_organization(pg_session, members=(stranger,), now=now)
    event = make_event(pg_session, organization=org, now=now, prices=(2500, 4000), quantity=5)
    a, b = pg_session.exec(
        select(TicketType).where(TicketType.event_id == event.id).order_by(TicketType.position)
    ).all()
    return {"owner": owner, "stranger": stranger, "event": event, "a": a, "b": b}


def ask(client, shop, headers, **body):
    return client.post(f"/api/v1/events/{shop['event'].id}/questions", json=body, headers=headers)


def order_body(shop, *items, answers=()):
    return {
        "items": [{"ticket_type_id": str(shop[t].id), "quantity": q} for t, q in items],
        "email": "guest@example.org",
        "phone": "+44 20 7946 0958",
        "answers": list(answers),
    }


def seats_left(client, shop):
    event = client.get(f"/api/v1/events/{shop['event'].id}").json()
    return [t["available"] for t in event["ticket_types"]]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"label": "Size", "kind": "colour", "required": False}, "colour"),
        ({"label": "Size", "kind": "choice", "options": [], "required": True}, "options"),
        ({"label": "Size", "kind": "choice", "options": ["S", "S"]}, "options"),
        ({"label": "Name", "kind": "text", "options": ["x"]}, "options"),
        ({"label": "", "kind": "text"}, "label"),
        ({"label": "Name", "kind": "text", "ticket_type_ids": ["00000000-0000-4000-8000-000000000000"]}, "ticket type"),
    ],
)
def test_bad_questions_are_refused_with_422_and_a_reason(client, shop, body, fragment):
    response = ask(client, shop, bearer(client, shop["owner"]), **body)
    assert response.status_code == 422 and response.json()["error"]["code"] == "validation_error"
    assert fragment in response.json()["error"]["message"]
    assert client.get(f"/api/v1/events/{shop['event'].id}/questions").json() == []


def test_only_the_events_organizers_manage_its_questions(client, shop):
    owner, stranger = bearer(client, shop["owner"]), bearer(client, shop["stranger"])
    assert ask(client, shop, {}, label="Name", kind="text").status_code == 401
    assert ask(client, shop, stranger, label="Name", kind="text").status_code == 403
    made = ask(client, shop, owner, label="Name", kind="text")
    assert made.status_code == 201
    path = f"/api/v1/events/{shop['event'].id}/questions/{made.json()['id']}"
    assert client.patch(path, json={"label": "Hijacked"}, headers=stranger).status_code == 403
    assert client.delete(path, headers=stranger).status_code == 403
    changed = client.patch(path, json={"label": "Full name", "required": True}, headers=owner)
    assert changed.status_code == 200 and (changed.json()["label"], changed.json()["required"]) == ("Full name", True)
    assert client.delete(path, headers=owner).status_code == 204
    assert client.patch(path, json={"label": "Gone"}, headers=owner).status_code == 404


def test_a_refused_answer_names_the_question_and_leaves_no_order_and_no_seat(client, shop):
    owner = bearer(client, shop["owner"])
    size = ask(
        client, shop, owner, label="T-shirt size", kind="choice", options=["S", "M"], required=True, per_ticket=True
    )
    consent = ask(client, shop, owner, label="I accept the house rules", kind="yes_no", required=True)
    size, consent = size.json(), consent.json()
    before = seats_left(client, shop)

    missing = client.post(
        "/api/v1/orders", json=order_body(shop, ("a", 2), answers=[{"question_id": consent["id"], "value": True}])
    )
    assert missing.status_code == 422
    error = missing.json()["error"]
    assert error["code"] == "invalid_answer" and error["question_id"] == size["id"]
    assert error["question"] == "T-shirt size" and error["ticket_index"] == 0 and "T-shirt size" in error["message"]

    outside = client.post(
        "/api/v1/orders",
        json=order_body(
            shop,
            ("a", 1),
            answers=[
                {"question_id": consent["id"], "value": True},
                {"question_id": size["id"], "value": "XXL", "ticket_index": 0},
            ],
        ),
        headers={"Accept-Language": "de"},
    )
    assert outside.status_code == 422 and outside.json()["error"]["question_id"] == size["id"]
    assert outside.json()["error"]["message"] == "„T-shirt size“: Wählen Sie eine der Optionen."

    refused_consent = client.post(
        "/api/v1/orders",
        json=order_body(
            shop,
            ("a", 1),
            answers=[
                {"question_id": consent["id"], "value": False},
                {"question_id": size["id"], "value": "S", "ticket_index": 0},
            ],
        ),
    )
    assert refused_consent.status_code == 422 and refused_consent.json()["error"]["question_id"] == consent["id"]
    assert seats_left(client, shop) == before


def test_no_order_row_is_left_by_a_refused_answer(client, shop, pg_session):
    owner = bearer(client, shop["owner"])
    consent = ask(client, shop, owner, label="Consent", kind="yes_no", required=True).json()
    response = client.post("/api/v1/orders", json=order_body(shop, ("a", 1), answers=[{"question_id": consent["id"]}]))
    assert response.status_code == 422 and response.json()["error"]["question_id"] == consent["id"]
    assert pg_session.exec(select(func.count()).select_from(Order)).one() == 0
    assert pg_session.get(TicketType, shop["a"].id).reserved == 0


def test_answers_are_stored_returned_and_changed_by_the_buyer_until_the_event(client, shop, clock):
    owner = bearer(client, shop["owner"])
    name = ask(client, shop, owner, label="Attendee name", kind="text", per_ticket=True, required=True).json()
    country = ask(client, shop, owner, label="Country", kind="country").json()
    phone = ask(client, shop, owner, label="Mobile", kind="phone", allow_buyer_edit=False).json()
    placed = client.post(
        "/api/v1/orders",
        json=order_body(
            shop,
            ("a", 1),
            ("b", 1),
            answers=[
                {"question_id": name["id"], "value": "Ada", "ticket_index": 0},
                {"question_id": name["id"], "value": "Bob", "ticket_index": 1},
                {"question_id": country["id"], "value": "fr"},
                {"question_id": phone["id"], "value": "+33 1 23 45 67 89"},
            ],
        ),
    )
    assert placed.status_code == 201
    body = placed.json()
    assert sorted((a["question"], a["ticket_index"], a["value"]) for a in body["answers"]) == [
        ("Attendee name", 0, "Ada"),
        ("Attendee name", 1, "Bob"),
        ("Country", None, "FR"),
        ("Mobile", None, "+33123456789"),
    ]
    path = f"/api/v1/orders/{body['id']}/answers"
    token = {"X-Order-Token": body["access_token"]}
    assert client.get(path).status_code == 404  # no link, no answers
    assert client.get(path, headers=owner).status_code == 200  # the event's organizers read them
    assert client.get(path, headers=bearer(client, shop["stranger"])).status_code == 404
    assert (
        client.patch(path, json={"answers": [{"question_id": country["id"], "value": "DE"}]}, headers=owner).status_code
        == 404
    )

    changed = client.patch(
        path, json={"answers": [{"question_id": name["id"], "value": "Bea", "ticket_index": 1}]}, headers=token
    )
    assert changed.status_code == 200
    assert [a["value"] for a in changed.json() if a["question"] == "Attendee name"] == ["Ada", "Bea"]
    fixed = client.patch(path, json={"answers": [{"question_id": phone["id"], "value": "+49301234567"}]}, headers=token)
    assert fixed.status_code == 422 and fixed.json()["error"]["question_id"] == phone["id"]
    bad = client.patch(path, json={"answers": [{"question_id": country["id"], "value": "Narnia"}]}, headers=token)
    assert bad.status_code == 422 and bad.json()["error"]["question"] == "Country"

    clock.now = shop["event"].starts_at + timedelta(seconds=1)
    late = client.patch(path, json={"answers": [{"question_id": country["id"], "value": "DE"}]}, headers=token)
    assert late.status_code == 409 and late.json()["error"]["code"] == "answers_locked"
    assert next(a["value"] for a in client.get(path, headers=token).json() if a["question"] == "Country") == "FR"


def test_a_deleted_question_keeps_its_answers_on_the_order(client, shop):
    owner = bearer(client, shop["owner"])
    company = ask(client, shop, owner, label="Company", kind="text").json()
    body = client.post(
        "/api/v1/orders", json=order_body(shop, ("a", 1), answers=[{"question_id": company["id"], "value": "ACME"}])
    ).json()
    assert (
        client.delete(f"/api/v1/events/{shop['event'].id}/questions/{company['id']}", headers=owner).status_code == 204
    )
    assert client.get(f"/api/v1/events/{shop['event'].id}/questions").json() == []
    kept = client.get(f"/api/v1/orders/{body['id']}/answers", headers={"X-Order-Token": body["access_token"]}).json()
    assert [(a["question"], a["value"], a["retired"]) for a in kept] == [("Company", "ACME", True)]


def test_the_door_sees_a_tickets_answers_and_strangers_do_not(client, shop, pg_session, clock):
    from tests.factories import assign_staff

    owner = bearer(client, shop["owner"])
    name = ask(client, shop, owner, label="Attendee name", kind="text", per_ticket=True).json()
    diet = ask(client, shop, owner, label="Dietary needs", kind="multiple_choice", options=["vegan", "halal"]).json()
    body = client.post(
        "/api/v1/orders",
        json=order_body(
            shop,
            ("a", 2),
            answers=[
                {"question_id": name["id"], "value": "Ada", "ticket_index": 0},
                {"question_id": name["id"], "value": "Bob", "ticket_index": 1},
                {"question_id": diet["id"], "value": ["halal"]},
            ],
        ),
    ).json()
    paid = client.post(
        f"/api/v1/orders/{body['id']}/test-payment",
        json={"outcome": "succeeded"},
        headers={"X-Order-Token": body["access_token"]},
    ).json()
    staff = make_user(pg_session, role=Role.STAFF, now=clock.now)
    assign_staff(pg_session, event=shop["event"], user=staff, now=clock.now)
    seen = sorted(
        client.get(f"/api/v1/tickets/{t['id']}/answers", headers=bearer(client, staff)).json()[0]["value"]
        for t in paid["tickets"]
    )
    assert seen == ["Ada", "Bob"]
    one = client.get(f"/api/v1/tickets/{paid['tickets'][0]['id']}/answers", headers=bearer(client, staff)).json()
    assert [a["question"] for a in one] == ["Attendee name", "Dietary needs"] and one[1]["value"] == ["halal"]
    ticket = paid["tickets"][0]["id"]
    assert client.get(f"/api/v1/tickets/{ticket}/answers").status_code == 401
    assert client.get(f"/api/v1/tickets/{ticket}/answers", headers=bearer(client, shop["stranger"])).status_code == 403


def test_an_online_scan_shows_the_tickets_answers_readably_and_another_events_door_does_not(
    client, shop, pg_session, clock
):
    from bilten.models import Ticket
    from tests.factories import assign_staff

    owner = bearer(client, shop["owner"])
    name = ask(client, shop, owner, label="Attendee name", kind="text", per_ticket=True).json()
    diet = ask(client, shop, owner, label="Dietary needs", kind="multiple_choice", options=["vegan", "halal"]).json()
    vip = ask(client, shop, owner, label="Parking", kind="yes_no").json()
    country = ask(client, shop, owner, label="Country", kind="country").json()
    body = client.post(
        "/api/v1/orders",
        json=order_body(
            shop,
            ("a", 2),
            answers=[
                {"question_id": name["id"], "value": "Ada", "ticket_index": 0},
                {"question_id": name["id"], "value": "Bob", "ticket_index": 1},
                {"question_id": diet["id"], "value": ["vegan", "halal"]},
                {"question_id": vip["id"], "value": True},
                {"question_id": country["id"], "value": "DE"},
            ],
        ),
    ).json()
    paid = client.post(
        f"/api/v1/orders/{body['id']}/test-payment",
        json={"outcome": "succeeded"},
        headers={"X-Order-Token": body["access_token"]},
    ).json()
    tickets = [pg_session.get(Ticket, uuid.UUID(t["id"])) for t in paid["tickets"]]
    staff = make_user(pg_session, role=Role.STAFF, now=clock.now)
    assign_staff(pg_session, event=shop["event"], user=staff, now=clock.now)
    device = client.post("/api/v1/devices", json={"email": staff.email, "password": DEFAULT_PASSWORD}).json()
    door = {"Authorization": f"Bearer {device['device_token']}", "Accept-Language": "de"}

    names = []
    for n, ticket in enumerate(tickets):
        scan = {"code": ticket.code, "event_id": str(shop["event"].id), "nonce": f"door-{n}"}
        verdict = client.post("/api/v1/orders/validate", json=scan, headers=door).json()
        assert verdict["result"] == "valid"
        # Per ticket: its holder's name; per order: the rest, as people read them (in the door's language).
        names.append(verdict["answers"][0])
        assert verdict["answers"][1:] == [
            {"question": "Dietary needs", "value": "vegan, halal"},
            {"question": "Parking", "value": translate("question.yes", "de")},
            {"question": "Country", "value": "Deutschland"},
        ]
    assert sorted(a["value"] for a in names) == ["Ada", "Bob"] and {a["question"] for a in names} == {"Attendee name"}
    again = client.post("/api/v1/orders/validate", json={**scan, "nonce": "door-again"}, headers=door).json()
    assert again["result"] == "already_used" and again["answers"][0] == names[-1]

    # The door of another organizer's event scans the same ticket: wrong event, and no answers.
    other = make_event(pg_session, organization=make_organization(pg_session, now=clock.now), now=clock.now)
    outsider = make_user(pg_session, role=Role.STAFF, now=clock.now)
    assign_staff(pg_session, event=other, user=outsider, now=clock.now)
    theirs = client.post("/api/v1/devices", json={"email": outsider.email, "password": DEFAULT_PASSWORD}).json()
    refused = client.post(
        "/api/v1/orders/validate",
        json={"code": tickets[0].code, "event_id": str(other.id), "nonce": "outsider-1"},
        headers={"Authorization": f"Bearer {theirs['device_token']}"},
    ).json()
    assert refused["result"] == "wrong_event" and refused["ticket"] is None and refused["answers"] == []
    # Asked for that ticket's answers directly, the other event's door gets nothing; its own door does.
    from bilten.services.door_answers import scan_answer_texts

    def texts(actor):
        return scan_answer_texts(
            pg_session,
            actor=actor,
            event_id=shop["event"].id,
            ticket_id=tickets[0].id,
            locale="en",
            yes="yes",
            no="no",
        )

    assert texts(outsider) == [] and texts(shop["stranger"]) == []
    assert [a.question for a in texts(staff)] == ["Attendee name", "Dietary needs", "Parking", "Country"]


def test_an_online_scan_reads_no_answers_where_the_event_asks_no_questions(client, shop, pg_session, pg_engine, clock):
    """The door's hot path: without questions the answers cost no query (once the event's "asks
    nothing" is known, for a minute); a question asked later shows at the next scan."""
    from bilten.models import Ticket
    from bilten.services.door_answers import scan_answer_texts
    from tests.factories import assign_staff

    def paid_tickets(answers=()):
        body = client.post("/api/v1/orders", json=order_body(shop, ("a", 1), answers=list(answers))).json()
        paid = client.post(
            f"/api/v1/orders/{body['id']}/test-payment",
            json={"outcome": "succeeded"},
            headers={"X-Order-Token": body["access_token"]},
        ).json()
        return [pg_session.get(Ticket, uuid.UUID(t["id"])) for t in paid["tickets"]]

    staff = make_user(pg_session, role=Role.STAFF, now=clock.now)
    assign_staff(pg_session, event=shop["event"], user=staff, now=clock.now)
    device = client.post("/api/v1/devices", json={"email": staff.email, "password": DEFAULT_PASSWORD}).json()
    door = {"Authorization": f"Bearer {device['device_token']}"}

    def scan(ticket, nonce):
        body = {"code": ticket.code, "event_id": str(shop["event"].id), "nonce": nonce}
        return client.post("/api/v1/orders/validate", json=body, headers=door).json()

    def statements_of_answers(ticket) -> tuple[list, list[str]]:
        """The answers' texts and the statements reading them (this thread's only: live counters
        publish from other threads)."""
        seen: list[str] = []
        main = threading.get_ident()

        def record(_conn, _cursor, statement, *_args):
            if threading.get_ident() == main:
                seen.append(statement)

        sa_event.listen(pg_engine, "before_cursor_execute", record)
        try:
            texts = scan_answer_texts(
                pg_session,
                actor=staff,
                event_id=shop["event"].id,
                ticket_id=ticket.id,
                locale="en",
                yes="yes",
                no="no",
            )
        finally:
            sa_event.remove(pg_engine, "before_cursor_execute", record)
        return texts, seen

    (plain,) = paid_tickets()
    verdict = scan(plain, "plain-1")  # the first scan learns that the event asks nothing
    assert verdict["result"] == "valid" and verdict["answers"] == []
    texts, statements = statements_of_answers(plain)
    assert texts == [] and statements == []  # no query at all for the answers

    company = ask(client, shop, bearer(client, shop["owner"]), label="Company", kind="text").json()
    (asked,) = paid_tickets([{"question_id": company["id"], "value": "ACME"}])
    verdict = scan(asked, "asked-1")  # the new question made the door look again at once
    assert verdict["result"] == "valid" and verdict["answers"] == [{"question": "Company", "value": "ACME"}]
    texts, statements = statements_of_answers(asked)
    assert [(t.question, t.value) for t in texts] == [("Company", "ACME")]
    assert any("answer" in statement for statement in statements)
