"""Checkout answers at the door: what a scanned ticket's holder (and the order's buyer) answered,
for those who may scan at its event, and the same as text for the online scan verdict."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from bilten.models import Ticket, User
from bilten.services.access import Permission, authorize, authorize_scan
from bilten.services.errors import Forbidden, NotFound
from bilten.services.questions import display_value, is_empty, ticket_answers
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


def scan_answer_texts(
    session: Session, *, actor: User | None, ticket_id: uuid.UUID, locale: str, yes: str, no: str
) -> list[DoorAnswerText]:
    """A scanned ticket's answers for the door's verdict (`door_ticket_answers`, values as people
    read them). Nothing when the scanner may not see them (a ticket of an event they do not scan)
    or nobody answered anything: the scan itself must not fail over its detail."""
    try:
        answers = door_ticket_answers(session, actor=actor, ticket_id=ticket_id)
    except (Forbidden, NotFound):
        return []
    return [
        DoorAnswerText(question=a.label, value=display_value(a, a.value, locale, yes=yes, no=no))
        for a in answers
        if not is_empty(a.value)
    ]
