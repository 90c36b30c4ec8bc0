"""Checkout answers at the door: what a scanned ticket's holder (and the order's buyer) answered,
for those who may scan at its event, and the same as text for the online scan verdict."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import exists
from sqlmodel import Session, col, select

from bilten import cache
from bilten.models import Question, Ticket, User
from bilten.services.access import Permission, authorize, authorize_scan
from bilten.services.errors import Forbidden, NotFound
from bilten.services.questions import asks_questions_key, display_value, is_empty, ticket_answers
from bilten.services.transaction import transaction


class DoorAnswer(BaseModel):
    """An answer as the door sees it beside the ticket (`question` is the label)."""

    model_config = ConfigDict(frozen=True)

    label: str = Field(serialization_alias="question")
    kind: str
    value: Any


def door_ticket_answers(session: Session, *, actor: User | None, ticket_id: uuid.UUID) -> list[DoorAnswer]:
    """The door's ticket detail: what its holder (and the order's buyer) answered. For those who
    may scan at the ticket's event (its managers and its assigned staff)."""
    with transaction(session):
        ticket = session.get(Ticket, ticket_id)
        if ticket is None:
            if actor is None:
                authorize(session, actor, Permission.ACCOUNT)  # "not signed in" before "no such ticket"
            raise NotFound()
        authorize_scan(session, actor, ticket.event_id)
        return [DoorAnswer(label=q.label, kind=q.kind.value, value=v) for q, v in ticket_answers(session, ticket)]


class DoorAnswerText(BaseModel):
    """An answer as the scan verdict shows it beneath the holder's name: ready to read."""

    model_config = ConfigDict(frozen=True)

    question: str
    value: str


ASKS_QUESTIONS_TTL_SECONDS = 60


def event_asks_questions(session: Session, event_id: uuid.UUID) -> bool:
    """Has the event ever asked anything at checkout (retired questions too: their answers stay)?
    The online scan reads no answers where not. Cached a minute (one EXISTS per event and minute);
    a new question forgets it, and a scan that read "no" just before that question's commit keeps
    it at most a minute, when few orders can have answered it yet."""
    known = cache.get_json(asks_questions_key(event_id))
    if known is None:
        with transaction(session):
            known = bool(session.exec(select(exists().where(col(Question.event_id) == event_id))).one())
        cache.set_json(asks_questions_key(event_id), known, ttl_seconds=ASKS_QUESTIONS_TTL_SECONDS)
    return bool(known)


def scan_answer_texts(
    session: Session,
    *,
    actor: User | None,
    event_id: uuid.UUID,
    ticket_id: uuid.UUID,
    locale: str,
    yes: str,
    no: str,
) -> list[DoorAnswerText]:
    """A scanned ticket's answers for the door's verdict (`door_ticket_answers`, values as people
    read them), at the door of `event_id`. Nothing when the event asks no questions (no query
    then, once known), when the scanner may not see them (a ticket of an event they do not scan)
    or nobody answered anything: the scan itself must not fail over its detail."""
    if not event_asks_questions(session, event_id):
        return []
    try:
        answers = door_ticket_answers(session, actor=actor, ticket_id=ticket_id)
    except (Forbidden, NotFound):
        return []
    return [
        DoorAnswerText(question=a.label, value=display_value(a, a.value, locale, yes=yes, no=no))
        for a in answers
        if not is_empty(a.value)
    ]
