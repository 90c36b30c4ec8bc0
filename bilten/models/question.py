"""Questions an event asks at checkout, and the buyers' answers.

A question is asked once per order or once per ticket, for every ticket type of the event or only
some (`ticket_type_ids`, empty = all). Answers to per-ticket questions carry the ticket's position
in the order (`ticket_index`, as the buyer listed the items) and its ticket type; `ticket_id` is
filled when the tickets are issued (payment). A question is never deleted once answered: it is
retired (`deleted_at`) so old answers stay in exports and on the order page."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from bilten.models.base import UTCDateTime, enum_type, new_uuid, utcnow


class QuestionKind(StrEnum):
    TEXT = "text"
    NUMBER = "number"
    CHOICE = "choice"
    MULTIPLE_CHOICE = "multiple_choice"
    YES_NO = "yes_no"
    DATE = "date"
    COUNTRY = "country"
    PHONE = "phone"


class Question(SQLModel, table=True):
    __tablename__ = "question"

    id: uuid.UUID = Field(default_factory=new_uuid, primary_key=True)
    event_id: uuid.UUID = Field(foreign_key="event.id", index=True, ondelete="CASCADE")
    label: str = Field(max_length=300)
    kind: QuestionKind = Field(sa_type=enum_type(QuestionKind))
    options: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    required: bool = Field(default=False)
    per_ticket: bool = Field(default=False)
    ticket_type_ids: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    position: int = Field(default=0)
    allow_buyer_edit: bool = Field(default=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    deleted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Answer(SQLModel, table=True):
    __tablename__ = "answer"
    __table_args__ = (UniqueConstraint("order_id", "question_id", "ticket_index", name="uq_answer_slot"),)

    id: uuid.UUID = Field(default_factory=new_uuid, primary_key=True)
    order_id: uuid.UUID = Field(foreign_key="ticket_order.id", index=True, ondelete="CASCADE")
    question_id: uuid.UUID = Field(foreign_key="question.id", index=True)
    # Per-ticket answers: the ticket's position in the order (0-based, -1 for per-order answers so
    # the unique constraint holds on every database), its type, and the ticket once issued.
    ticket_index: int = Field(default=-1)
    ticket_type_id: uuid.UUID | None = Field(default=None, foreign_key="ticket_type.id")
    ticket_id: uuid.UUID | None = Field(default=None, foreign_key="ticket.id", index=True)
    value: Any = Field(default=None, sa_column=Column(JSON, nullable=True))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
