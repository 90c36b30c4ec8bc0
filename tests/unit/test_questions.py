"""Questions at checkout: each kind's rule, placing an order with answers (checked before a seat is
taken), answers following their ticket, buyer edits until the event starts, who may do what."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlmodel import select

from bilten.models import Answer, Order, Question, QuestionKind, Role, TicketType
from bilten.services import orders, questions
from bilten.services.errors import EventCancelled, Forbidden, NotFound, ValidationFailed
from bilten.services.questions import AnswerIn, AnswersLocked, InvalidAnswer, QuestionFields, UnknownQuestion
from tests.factories import make_event, make_organization, make_user


def q(kind: QuestionKind, *, required: bool = False, options: list[str] | None = None) -> Question:
    return Question(event_id=uuid.uuid4(), label="Field", kind=kind, options=options or [], required=required)


@pytest.mark.parametrize(
    ("kind", "options", "given", "stored"),
    [
        (QuestionKind.TEXT, [], "  Ada   Lovelace ", "Ada   Lovelace"),
        (QuestionKind.NUMBER, [], "42", "42"),
        (QuestionKind.NUMBER, [], "3,50", "3.5"),
        (QuestionKind.NUMBER, [], 7, "7"),
        (QuestionKind.CHOICE, ["S", "M", "L"], "M", "M"),
        (QuestionKind.MULTIPLE_CHOICE, ["vegan", "no nuts", "halal"], ["halal", "vegan"], ["vegan", "halal"]),
        (QuestionKind.YES_NO, [], True, True),
        (QuestionKind.YES_NO, [], "no", False),
        (QuestionKind.DATE, [], "1990-02-28", "1990-02-28"),
        (QuestionKind.COUNTRY, [], "de", "DE"),
        (QuestionKind.PHONE, [], "+49 (30) 123-4567", "+49301234567"),
        (QuestionKind.PHONE, [], "0044 20 7946 0958", "+442079460958"),
    ],
)
def test_each_kind_keeps_a_good_answer_in_its_normal_form(kind, options, given, stored):
    assert questions.clean_value(q(kind, options=options), given) == stored


@pytest.mark.parametrize(
    ("kind", "options", "given", "key"),
    [
        (QuestionKind.TEXT, [], "x" * 1001, "question.error.text_too_long"),
        (QuestionKind.TEXT, [], ["a"], "question.error.text"),
        (QuestionKind.NUMBER, [], "twelve", "question.error.number"),
        (QuestionKind.NUMBER, [], "NaN", "question.error.number"),
        (QuestionKind.NUMBER, [], True, "question.error.number"),
        (QuestionKind.CHOICE, ["S", "M"], "XL", "question.error.choice"),
        (QuestionKind.CHOICE, ["S", "M"], ["S"], "question.error.choice"),
        (QuestionKind.MULTIPLE_CHOICE, ["a", "b"], ["a", "c"], "question.error.multiple_choice"),
        (QuestionKind.MULTIPLE_CHOICE, ["a", "b"], ["a", "a"], "question.error.multiple_choice"),
        (QuestionKind.MULTIPLE_CHOICE, ["a", "b"], "a", "question.error.multiple_choice"),
        (QuestionKind.YES_NO, [], "maybe", "question.error.yes_no"),
        (QuestionKind.DATE, [], "1990-02-30", "question.error.date"),
        (QuestionKind.DATE, [], "19900228", "question.error.date"),
        (QuestionKind.COUNTRY, [], "XX", "question.error.country"),
        (QuestionKind.COUNTRY, [], "001", "question.error.country"),
        (QuestionKind.PHONE, [], "030 1234567", "question.error.phone"),
        (QuestionKind.PHONE, [], "+12", "question.error.phone"),
    ],
)
def test_each_kind_refuses_a_bad_answer_naming_the_question(kind, options, given, key):
    question = q(kind, options=options)
    with pytest.raises(InvalidAnswer) as refused:
        questions.clean_value(question, given)
    assert refused.value.key == key
    assert refused.value.extra["question_id"] == str(question.id) and refused.value.extra["question"] == "Field"


@pytest.mark.parametrize("kind", list(QuestionKind))
def test_a_required_question_refuses_no_answer_and_an_optional_one_keeps_none(kind):
    options = ["a", "b"] if kind in questions.CHOICE_KINDS else []
    for empty in (None, "", "   ", []):
        if kind == QuestionKind.YES_NO and empty in ("   ", []):
            continue
        with pytest.raises(InvalidAnswer) as refused:
            questions.clean_value(q(kind, required=True, options=options), empty)
        assert refused.value.key == "question.error.required"
        assert questions.clean_value(q(kind, options=options), empty) is None


def test_a_required_yes_no_is_a_consent_only_yes_counts():
    consent = q(QuestionKind.YES_NO, required=True)
    assert questions.clean_value(consent, True) is True
    with pytest.raises(InvalidAnswer) as refused:
        questions.clean_value(consent, False)
    assert refused.value.key == "question.error.consent"


def test_countries_are_named_in_the_readers_language():
    assert questions.country_name("DE", "de") == "Deutschland"
    assert questions.country_name("DE", "fr") == "Allemagne"
    assert ("DE", "Germany") in questions.country_choices("en")
    assert "ZZ" not in questions.country_codes() and len(questions.country_codes()) > 240


# --- with a database -------------------------------------------------------------------------


@pytest.fixture
def shop(session, now):
    owner = make_user(session, role=Role.ORGANIZER, now=now)
    stranger = make_user(session, role=Role.ORGANIZER, now=now)
    org = make_organization(session, members=(owner,), now=now)
    make_organization(session, members=(stranger,), now=now)
    event = make_event(session, organization=org, now=now, prices=(2500, 0), quantity=5)
    paid, free = session.exec(
        select(TicketType).where(TicketType.event_id == event.id).order_by(TicketType.position)
    ).all()
    return {"owner": owner, "stranger": stranger, "event": event, "paid": paid, "free": free}


def ask(session, shop, now, **fields):
    return questions.create_question(
        session, actor=shop["owner"], event_id=shop["event"].id, fields=QuestionFields(**fields), now=now
    )


def test_organizers_of_the_event_alone_manage_its_questions(session, shop, now):
    size = ask(session, shop, now, label="T-shirt size", kind="choice", options=["S", "M", "L"], per_ticket=True)
    assert size.position == 0 and size.options == ["S", "M", "L"]
    with pytest.raises(Forbidden):
        questions.create_question(
            session,
            actor=shop["stranger"],
            event_id=shop["event"].id,
            fields=QuestionFields(label="x", kind="text"),
            now=now,
        )
    with pytest.raises(Forbidden):
        questions.delete_question(
            session, actor=shop["stranger"], event_id=shop["event"].id, question_id=size.id, now=now
        )
    with pytest.raises(Forbidden):
        questions.list_questions(session, actor=shop["stranger"], event_id=shop["event"].id)
    assert [x.label for x in questions.list_questions(session, actor=shop["owner"], event_id=shop["event"].id)] == [
        "T-shirt size"
    ]


@pytest.mark.parametrize(
    ("fields", "key"),
    [
        ({"label": "", "kind": "text"}, "question.error.label"),
        ({"label": "x" * 301, "kind": "text"}, "question.error.label"),
        ({"label": "Size", "kind": "colour"}, "question.error.kind"),
        ({"label": "Size", "kind": "choice"}, "question.error.options"),
        ({"label": "Size", "kind": "choice", "options": ["S", "S"]}, "question.error.options"),
        ({"label": "Size", "kind": "choice", "options": ["S", " "]}, "question.error.options"),
        ({"label": "Name", "kind": "text", "options": ["S"]}, "question.error.no_options"),
        ({"label": "Name", "kind": "text", "ticket_type_ids": [uuid.uuid4()]}, "question.error.ticket_types"),
    ],
)
def test_a_bad_question_is_refused_with_a_clear_reason(session, shop, now, fields, key):
    with pytest.raises(ValidationFailed) as refused:
        ask(session, shop, now, **fields)
    assert refused.value.key == key
    assert session.exec(select(Question)).all() == []


def test_a_cancelled_event_takes_no_new_questions(session, shop, now):
    shop["event"].status = "cancelled"
    session.add(shop["event"])
    session.commit()
    with pytest.raises(EventCancelled):
        ask(session, shop, now, label="Name", kind="text")


def place(session, shop, now, items, answers, **extra):
    return orders.place_order(
        session,
        items=items,
        email="buyer@example.org",
        phone="+44 20 7946 0958",
        answers=answers,
        now=now,
        event_id=shop["event"].id,
        **extra,
    )


def test_a_missing_required_answer_refuses_the_order_and_takes_no_seat(session, shop, now):
    ask(session, shop, now, label="Company", kind="text")
    consent = ask(session, shop, now, label="I accept the house rules", kind="yes_no", required=True)
    with pytest.raises(InvalidAnswer) as refused:
        place(session, shop, now, [(shop["paid"].id, 2)], [])
    assert refused.value.question_id == consent.id
    with pytest.raises(InvalidAnswer):
        place(session, shop, now, [(shop["paid"].id, 2)], [AnswerIn(consent.id, False)])
    session.expire_all()
    assert session.exec(select(Order)).all() == [] and session.exec(select(Answer)).all() == []
    assert session.get(TicketType, shop["paid"].id).reserved == 0


def test_per_ticket_answers_are_stored_then_follow_their_ticket_when_paid(session, shop, now):
    name = ask(session, shop, now, label="Attendee name", kind="text", per_ticket=True, required=True)
    size = ask(
        session,
        shop,
        now,
        label="T-shirt",
        kind="choice",
        options=["S", "M"],
        per_ticket=True,
        ticket_type_ids=[shop["paid"].id],
    )
    company = ask(session, shop, now, label="Company", kind="text")
    items = [(shop["free"].id, 1), (shop["paid"].id, 2)]  # tickets 0 (free), 1 and 2 (paid)
    answers = [
        AnswerIn(name.id, "Ada", 0),
        AnswerIn(name.id, "Bob", 1),
        AnswerIn(name.id, "Cy", 2),
        AnswerIn(size.id, "M", 2),
        AnswerIn(company.id, "ACME"),
    ]
    with pytest.raises(InvalidAnswer) as refused:  # the free ticket is not asked its size
        place(session, shop, now, items, [*answers, AnswerIn(size.id, "S", 0)])
    assert refused.value.key == "question.error.not_asked"
    with pytest.raises(InvalidAnswer) as refused:
        place(session, shop, now, items, [AnswerIn(name.id, "Ada", 7)])
    assert refused.value.key == "question.error.ticket_index"
    with pytest.raises(InvalidAnswer) as refused:
        place(session, shop, now, items, [AnswerIn(company.id, "ACME", 0)])
    assert refused.value.key == "question.error.per_order"
    with pytest.raises(UnknownQuestion):
        place(session, shop, now, items, [AnswerIn(uuid.uuid4(), "x")])

    placed = place(session, shop, now, items, answers)
    views = questions.order_answers(session, placed.order, now=now)
    assert [(v.label, v.ticket_index, v.value) for v in views] == [
        ("Company", None, "ACME"),
        ("Attendee name", 0, "Ada"),
        ("Attendee name", 1, "Bob"),
        ("T-shirt", 1, None),
        ("Attendee name", 2, "Cy"),
        ("T-shirt", 2, "M"),
    ]
    orders.start_payment(session, order_id=placed.order.id, now=now, access_token=placed.access_token)
    orders.pay_with_test_provider(
        session, order_id=placed.order.id, succeeded=True, now=now, user=None, access_token=placed.access_token
    )
    from bilten.models import Ticket

    tickets = session.exec(select(Ticket).where(Ticket.order_id == placed.order.id)).all()
    names = {}
    for ticket in tickets:
        mine = questions.ticket_answers(session, ticket)
        names[ticket.ticket_type_id] = sorted(
            [*names.get(ticket.ticket_type_id, []), next(v for qq, v in mine if qq.id == name.id)]
        )
        assert ("Company", "ACME") in [(qq.label, v) for qq, v in mine]
    assert names == {shop["free"].id: ["Ada"], shop["paid"].id: ["Bob", "Cy"]}


def test_a_free_order_links_answers_to_its_tickets_at_once(session, shop, now):
    name = ask(session, shop, now, label="Attendee name", kind="text", per_ticket=True)
    placed = place(
        session, shop, now, [(shop["free"].id, 2)], [AnswerIn(name.id, "Ada", 0), AnswerIn(name.id, "Bob", 1)]
    )
    rows = session.exec(select(Answer).where(Answer.order_id == placed.order.id)).all()
    assert len(rows) == 2 and all(row.ticket_id is not None for row in rows)
    assert len({row.ticket_id for row in rows}) == 2


def test_the_buyer_changes_answers_until_the_event_starts(session, shop, now):
    size = ask(session, shop, now, label="T-shirt", kind="choice", options=["S", "M"], required=True)
    fixed = ask(session, shop, now, label="Dietary needs", kind="text", allow_buyer_edit=False)
    buyer = make_user(session, now=now)
    placed = place(
        session, shop, now, [(shop["free"].id, 1)], [AnswerIn(size.id, "S"), AnswerIn(fixed.id, "none")], user=buyer
    )
    order_id = placed.order.id

    changed = questions.update_answers(
        session, order_id=order_id, answers=[AnswerIn(size.id, "M")], user=buyer, now=now
    )
    assert [(v.label, v.value) for v in changed if v.question_id == size.id] == [("T-shirt", "M")]
    by_link = questions.update_answers(
        session,
        order_id=order_id,
        answers=[AnswerIn(size.id, "S")],
        user=None,
        access_token=placed.access_token,
        now=now,
    )
    assert next(v.value for v in by_link if v.question_id == size.id) == "S"
    with pytest.raises(InvalidAnswer) as refused:  # a required answer cannot be emptied
        questions.update_answers(session, order_id=order_id, answers=[AnswerIn(size.id, "")], user=buyer, now=now)
    assert refused.value.key == "question.error.required"
    with pytest.raises(InvalidAnswer) as refused:
        questions.update_answers(session, order_id=order_id, answers=[AnswerIn(fixed.id, "vegan")], user=buyer, now=now)
    assert refused.value.key == "question.error.not_editable"
    for intruder in (make_user(session, now=now), shop["owner"], None):  # another buyer, even the organizer, a guest
        with pytest.raises(NotFound):
            questions.update_answers(
                session,
                order_id=order_id,
                answers=[AnswerIn(size.id, "M")],
                user=intruder,
                access_token="forged",
                now=now,
            )
    later = shop["event"].starts_at + timedelta(minutes=1)
    with pytest.raises(AnswersLocked):
        questions.update_answers(session, order_id=order_id, answers=[AnswerIn(size.id, "M")], user=buyer, now=later)
    assert (
        next(v.value for v in questions.order_answers(session, placed.order, now=later) if v.question_id == size.id)
        == "S"
    )


def test_deleting_an_answered_question_retires_it_and_keeps_its_answers(session, shop, now):
    asked = ask(session, shop, now, label="Company", kind="text")
    unused = ask(session, shop, now, label="Unused", kind="text")
    placed = place(session, shop, now, [(shop["free"].id, 1)], [AnswerIn(asked.id, "ACME")])
    for question in (asked, unused):
        questions.delete_question(
            session, actor=shop["owner"], event_id=shop["event"].id, question_id=question.id, now=now
        )
    assert session.get(Question, unused.id) is None
    assert session.get(Question, asked.id).deleted_at is not None
    assert questions.list_questions(session, actor=shop["owner"], event_id=shop["event"].id) == []
    views = questions.order_answers(session, placed.order, now=now)
    assert [(v.label, v.value, v.retired, v.editable) for v in views] == [("Company", "ACME", True, False)]
    with pytest.raises(NotFound):
        questions.update_question(
            session,
            actor=shop["owner"],
            event_id=shop["event"].id,
            question_id=asked.id,
            fields=QuestionFields(label="x"),
            now=now,
        )


def test_an_orders_answers_are_read_by_its_buyer_and_the_events_organizers_alone(session, shop, now):
    asked = ask(session, shop, now, label="Company", kind="text")
    buyer = make_user(session, now=now)
    placed = place(session, shop, now, [(shop["free"].id, 1)], [AnswerIn(asked.id, "ACME")], user=buyer)
    order_id = placed.order.id
    for user, token in ((buyer, ""), (None, placed.access_token), (shop["owner"], "")):
        views = questions.read_order_answers(session, order_id=order_id, user=user, access_token=token, now=now)
        assert [(v.label, v.value) for v in views] == [("Company", "ACME")]
    for user, token in ((make_user(session, now=now), ""), (shop["stranger"], ""), (None, "forged"), (None, "")):
        with pytest.raises(NotFound):  # the same answer as for an order that does not exist
            questions.read_order_answers(session, order_id=order_id, user=user, access_token=token, now=now)
    with pytest.raises(NotFound):
        questions.read_order_answers(session, order_id=uuid.uuid4(), user=shop["owner"], now=now)
