"""The checkout's questions without a browser: the fields follow the chosen tickets ("Ticket 2 —
Type 0", in the reader's language), a refused answer is shown beside its field and nothing is
reserved, and good answers go with the order."""

from __future__ import annotations

import pytest
from reflex.istate.data import RouterData
from sqlmodel import select

import bilten.bilten  # noqa: F401 - registers the routes, and so the pages' `event_id` vars
from bilten.models import Answer, Order, Role, TicketType
from bilten.services import questions
from bilten.services.questions import QuestionFields
from bilten.state.event import EventState
from tests.factories import make_event, make_organization, make_user


def open_page(root, path: str, *, language: str = "en", **query: str) -> None:  # noqa: ANN001
    root.router = RouterData.from_router_data(
        {"headers": {"accept-language": language}, "pathname": path, "asPath": path, "query": query}
    )


async def run(state, handler: str, *args):  # noqa: ANN001, ANN201
    result = type(state).event_handlers[handler].fn(state, *args)
    if hasattr(result, "__aiter__"):
        return [item async for item in result]
    return await result if hasattr(result, "__await__") else result


@pytest.fixture
def shop(session, now):
    owner = make_user(session, role=Role.ORGANIZER, now=now)
    org = make_organization(session, members=(owner,), now=now)
    event = make_event(session, organization=org, now=now, prices=(0,))
    ticket_type = session.exec(select(TicketType).where(TicketType.event_id == event.id)).one()
    ticket_type.translations = {"name": {"de": "Stehplatz"}}
    session.add(ticket_type)
    session.commit()

    def ask(**fields):
        return questions.create_question(
            session, actor=owner, event_id=event.id, fields=QuestionFields(**fields), now=now
        )

    return {
        "event": event,
        "type": ticket_type,
        "name": ask(label="Attendee name", kind="text", required=True, per_ticket=True),
        "size": ask(label="T-shirt size", kind="choice", options=["S", "M"], per_ticket=True),
        "consent": ask(label="House rules", kind="yes_no", required=True),
    }


@pytest.mark.anyio
async def test_the_fields_follow_the_tickets_and_a_refusal_reserves_nothing(fresh_tab, session, shop):
    event, type_id = shop["event"], str(shop["type"].id)
    open_page(fresh_tab, f"/events/{event.id}", language="de", event_id=str(event.id))
    page = await fresh_tab.get_state(EventState)
    await run(page, "load")
    assert page.question_fields == []  # no tickets chosen, nothing asked
    await run(page, "add_ticket", type_id)
    await run(page, "add_ticket", type_id)
    fields = page.question_fields
    assert [(f.label, f.heading) for f in fields] == [
        ("House rules", ""),
        ("Attendee name", "Ticket 1 — Stehplatz"),
        ("T-shirt size", ""),
        ("Attendee name", "Ticket 2 — Stehplatz"),
        ("T-shirt size", ""),
    ]
    names = {(f.label, f.heading or "same"): f.name for f in fields}
    form = {
        "email": "kim@example.org",
        "phone": "+49 30 1234567",
        names[("Attendee name", "Ticket 1 — Stehplatz")]: "Kim",
    }
    await run(page, "reserve", form)
    assert page.answer_errors == {
        f"{shop['consent'].id}:-1": "„House rules“ muss für die Bestellung akzeptiert werden."
    }
    assert session.exec(select(Order)).all() == []

    consent = next(f.name for f in fields if f.label == "House rules")
    size = [f.name for f in fields if f.label == "T-shirt size"][1]
    second = names[("Attendee name", "Ticket 2 — Stehplatz")]
    await run(page, "reserve", {**form, consent: "yes", second: "Lee", size: "M"})
    assert page.answer_errors == {} and page.checkout_error == ""
    stored = session.exec(select(Answer).order_by(Answer.ticket_index)).all()
    assert sorted((a.ticket_index, a.value) for a in stored if a.value is not None) == [
        (-1, True),
        (0, "Kim"),
        (1, "Lee"),
        (1, "M"),
    ]


@pytest.mark.anyio
async def test_the_back_office_questions_tab_adds_and_removes_and_the_order_shows_answers(fresh_tab, session, now):
    from bilten.back_office import BackOfficeState
    from bilten.back_office.frame.state import section_loader
    from bilten.back_office.orders import OfficeOrdersState
    from bilten.back_office.questions import OfficeQuestionsState
    from bilten.models import Membership, Question, TeamRole
    from bilten.services import accounts, orders
    from bilten.services.questions import AnswerIn
    from bilten.state.auth import SESSION_COOKIE
    from tests.factories import DEFAULT_PASSWORD

    owner = make_user(session, role=Role.ORGANIZER, now=now)
    viewer = make_user(session, role=Role.ORGANIZER, now=now)
    org = make_organization(session, members=(owner,), now=now)
    session.add(Membership(organization_id=org.id, user_id=viewer.id, team_role=TeamRole.VIEWER, created_at=now))
    session.commit()
    event = make_event(session, organization=org, now=now, prices=(0,))

    def open_office(user, tab: str) -> None:
        _, token = accounts.log_in_web(session, email=user.email, password=DEFAULT_PASSWORD, now=now)
        path = f"/organizer/events/{event.id}"
        fresh_tab.router = RouterData.from_router_data(
            {
                "headers": {"cookie": f"{SESSION_COOKIE}={token}"},
                "pathname": path,
                "asPath": f"{path}?tab={tab}",
                "query": {"event_id": str(event.id)},
            }
        )

    open_office(owner, "questions")
    office = await fresh_tab.get_state(BackOfficeState)
    await run(office, "load")
    assert section_loader("questions") is OfficeQuestionsState.load
    tab = await fresh_tab.get_state(OfficeQuestionsState)
    await run(tab, "load")
    assert tab.loaded and tab.questions == []
    await run(tab, "add", {"label": "Company", "kind": "text", "allow_buyer_edit": "yes"})
    await run(tab, "add", {"label": "Size", "kind": "choice", "options": "S\nM\n", "per_ticket": "yes"})
    refused = await run(tab, "add", {"label": "Size", "kind": "choice", "options": ""})  # no options: a toast
    assert refused is not None and len(tab.questions) == 2
    assert [(q.label, q.kind, q.options, q.asked) for q in tab.questions] == [
        ("Company", "Text", "", "Once per order"),
        ("Size", "Choice", "S, M", "Once per ticket"),
    ]
    company = session.exec(select(Question).where(Question.label == "Company")).one()
    ticket_type = session.exec(select(TicketType).where(TicketType.event_id == event.id)).one()
    placed = orders.place_order(
        session,
        items=[(ticket_type.id, 1)],
        email="kim@example.org",
        phone="+49 30 1234567",
        answers=[AnswerIn(company.id, "ACME")],
        now=now,
    )
    await run(tab, "remove", str(company.id))
    assert [q.label for q in tab.questions] == ["Size"]

    listing = await fresh_tab.get_state(OfficeOrdersState)
    await run(listing, "load")
    await run(listing, "open_detail", str(placed.order.id))
    assert [(a.group, a.label, a.value) for a in listing.detail_answers] == [
        ("For the order", "Company", "ACME"),  # retired, still shown
        ("Ticket 1", "Size", "(no answer)"),
    ]

    open_office(viewer, "questions")  # viewers do not manage questions
    await run(office, "load")
    assert not office.can_manage
    await run(tab, "load")
    await run(tab, "add", {"label": "Sneaky", "kind": "text"})
    assert session.exec(select(Question).where(Question.label == "Sneaky")).first() is None


@pytest.mark.anyio
async def test_the_offer_page_asks_the_offered_types_questions_and_sends_the_answers(fresh_tab, session, now):
    from bilten.models import WaitingListEntry, WaitingState
    from bilten.services import orders, waiting_list
    from bilten.services.orders import CancelReason
    from bilten.services.orders.cancelling import cancel_unpaid
    from bilten.state.waiting_list import WaitingListStatusState

    owner = make_user(session, role=Role.ORGANIZER, now=now)
    org = make_organization(session, members=(owner,), now=now)
    event = make_event(session, organization=org, now=now, prices=(3000, 5000), quantity=1)
    gala, box = session.exec(select(TicketType).where(TicketType.event_id == event.id).order_by(TicketType.position))
    early = orders.place_order(session, items=[(gala.id, 1)], email="early@example.org", phone="+4930123456", now=now)
    token = waiting_list.join_waiting_list(
        session, event_id=event.id, ticket_type_id=gala.id, email="ann@example.org", now=now
    ).token

    def ask(**fields):
        return questions.create_question(
            session, actor=owner, event_id=event.id, fields=QuestionFields(**fields), now=now
        )

    consent = ask(label="House rules", kind="yes_no", required=True)
    diet = ask(label="Dietary needs", kind="text", required=True, per_ticket=True)
    ask(label="Box number", kind="text", required=True, ticket_type_ids=[box.id])  # not this ticket's question
    cancel_unpaid(session, early.order.id, now=now, reason=CancelReason.BY_BUYER)  # the seat goes to Ann

    open_page(fresh_tab, f"/waiting-list/{token}", language="de", waiting_token=token)
    page = await fresh_tab.get_state(WaitingListStatusState)
    await run(page, "load")
    assert page.state_name == "offered"
    fields = page.question_fields
    assert [(f.label, f.heading, f.required) for f in fields] == [
        ("House rules", "", True),
        ("Dietary needs", "Ticket 1 — Type 0", True),
    ]
    names = {f.label: f.name for f in fields}

    await run(page, "buy", {"phone": "+4930123456", names["House rules"]: "yes"})
    assert page.answer_errors == {f"{diet.id}:0": page.buy_error} and "Dietary needs" in page.buy_error
    assert page.question_fields[1].error == page.buy_error and page.question_fields[0].error == ""
    session.expire_all()
    entry = session.exec(select(WaitingListEntry).where(WaitingListEntry.email == "ann@example.org")).one()
    assert entry.state == WaitingState.OFFERED and entry.order_id is None  # the offer is still Ann's

    await run(page, "buy", {"phone": "+4930123456", names["House rules"]: "yes", names["Dietary needs"]: "Vegan"})
    assert page.answer_errors == {} and page.buy_error == ""
    session.expire_all()
    entry = session.exec(select(WaitingListEntry).where(WaitingListEntry.email == "ann@example.org")).one()
    assert entry.state == WaitingState.REDEEMED and entry.order_id is not None
    stored = session.exec(select(Answer).where(Answer.order_id == entry.order_id)).all()
    assert sorted((str(a.question_id), a.ticket_index, a.value) for a in stored) == sorted(
        [(str(consent.id), -1, True), (str(diet.id), 0, "Vegan")]
    )
