"""Questions at checkout: organizers ask them (`/api/v1/events/{id}/questions`), buyers answer when
they order (`POST /api/v1/orders` with `answers`) and change their answers later
(`/api/v1/orders/{id}/answers`). The rules live in services/questions.py."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import Depends
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlmodel import Session

from bilten.api.deps import Caller, get_caller, get_now, get_order_link, get_session
from bilten.api.errors import error_responses
from bilten.api.routing import api_router
from bilten.models import Event, EventStatus
from bilten.services import door_answers
from bilten.services import questions as question_service
from bilten.services.transaction import transaction

router = api_router(tags=["questions"], responses=error_responses(401, 403, 404, 409, 422))


class QuestionIn(BaseModel):
    label: str | None = Field(None, max_length=1000)
    kind: str | None = Field(
        None, max_length=40, description="text, number, choice, multiple_choice, yes_no, date, country, phone"
    )
    options: list[str] | None = Field(None, max_length=200, description="choice and multiple_choice only")
    required: bool | None = None
    per_ticket: bool | None = Field(None, description="asked once per ticket rather than once per order")
    ticket_type_ids: list[uuid.UUID] | None = Field(None, max_length=200, description="empty: every ticket type")
    allow_buyer_edit: bool | None = Field(None, description="buyers may change their answer until the event starts")


class AnswerIn(BaseModel):
    question_id: uuid.UUID
    value: str | int | float | bool | list[str] | None = Field(None)
    ticket_index: int | None = Field(None, ge=0, le=10_000, description="per-ticket questions: the ticket, 0-based")


class AnswersIn(BaseModel):
    answers: list[AnswerIn] = Field(max_length=2000)


def answers_in(answers: list[AnswerIn]) -> list[question_service.AnswerIn]:
    return [
        question_service.AnswerIn(question_id=a.question_id, value=a.value, ticket_index=a.ticket_index)
        for a in answers
    ]


def _fields(body: QuestionIn) -> question_service.QuestionFields:
    return question_service.QuestionFields(**{name: getattr(body, name) for name in body.model_fields_set})


@router.post("/api/v1/events/{event_id}/questions", status_code=201, response_model=question_service.QuestionView)
def create_question(
    event_id: uuid.UUID, body: QuestionIn, session: Session = Depends(get_session), caller: Caller = Depends(get_caller)
) -> question_service.QuestionView:
    """Ask buyers something at checkout (the event's managers only)."""
    question = question_service.create_question(
        session, actor=caller.require(session), event_id=event_id, fields=_fields(body), now=caller.now
    )
    return question_service.question_view(question)


@router.get("/api/v1/events/{event_id}/questions", response_model=list[question_service.QuestionView])
def list_questions(
    event_id: uuid.UUID, session: Session = Depends(get_session), caller: Caller = Depends(get_caller)
) -> list[question_service.QuestionView]:
    """What the checkout asks. Public for an event on sale; drafts only for their organizers."""
    user = caller.user(session)
    with transaction(session):
        event = session.get(Event, event_id)
        public = event is not None and event.status == EventStatus.PUBLISHED
        if public:
            return [question_service.question_view(q) for q in question_service.active_questions(session, event_id)]
    return [
        question_service.question_view(q)
        for q in question_service.list_questions(session, actor=user, event_id=event_id)
    ]


@router.patch("/api/v1/events/{event_id}/questions/{question_id}", response_model=question_service.QuestionView)
def update_question(
    event_id: uuid.UUID,
    question_id: uuid.UUID,
    body: QuestionIn,
    session: Session = Depends(get_session),
    caller: Caller = Depends(get_caller),
) -> question_service.QuestionView:
    question = question_service.update_question(
        session,
        actor=caller.require(session),
        event_id=event_id,
        question_id=question_id,
        fields=_fields(body),
        now=caller.now,
    )
    return question_service.question_view(question)


@router.delete("/api/v1/events/{event_id}/questions/{question_id}", status_code=204, response_class=Response)
def delete_question(
    event_id: uuid.UUID,
    question_id: uuid.UUID,
    session: Session = Depends(get_session),
    caller: Caller = Depends(get_caller),
) -> Response:
    """No longer ask it. A question already answered is retired, not erased: its answers stay on
    orders and in exports."""
    question_service.delete_question(
        session, actor=caller.require(session), event_id=event_id, question_id=question_id, now=caller.now
    )
    return Response(status_code=204)


@router.get("/api/v1/orders/{order_id}/answers", response_model=list[question_service.AnswerView])
def read_answers(
    order_id: uuid.UUID,
    link: str = Depends(get_order_link),
    caller: Caller = Depends(get_caller),
    session: Session = Depends(get_session),
    now: datetime = Depends(get_now),
) -> list[question_service.AnswerView]:
    """An order's answers, for its buyer and the event's organizers."""
    return question_service.read_order_answers(
        session, order_id=order_id, user=caller.user(session), access_token=link, now=now
    )


@router.patch("/api/v1/orders/{order_id}/answers", response_model=list[question_service.AnswerView])
def change_answers(
    order_id: uuid.UUID,
    body: AnswersIn,
    link: str = Depends(get_order_link),
    caller: Caller = Depends(get_caller),
    session: Session = Depends(get_session),
    now: datetime = Depends(get_now),
) -> list[question_service.AnswerView]:
    """The buyer changes answers (until the event starts, where the organizer allows it)."""
    views = question_service.update_answers(
        session,
        order_id=order_id,
        answers=answers_in(body.answers),
        user=caller.user(session),
        access_token=link,
        now=now,
    )
    return views


@router.get("/api/v1/tickets/{ticket_id}/answers", response_model=list[door_answers.DoorAnswer])
def ticket_answers(
    ticket_id: uuid.UUID, session: Session = Depends(get_session), caller: Caller = Depends(get_caller)
) -> list[door_answers.DoorAnswer]:
    """The door's ticket detail: the checkout answers of this ticket and of its order (for those
    who may scan at its event)."""
    return door_answers.door_ticket_answers(session, actor=caller.user(session), ticket_id=ticket_id)
