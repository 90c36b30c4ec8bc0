"""Paid at last: the order moves to paid and gets one signed ticket per seat and its invoice."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Session

from bilten.models import Event, Order, OrderLine, OrderStatus, Ticket
from bilten.observability import metrics
from bilten.services import invoices
from bilten.services.audit import emit_event, record_audit
from bilten.services.orders.status import AuditAction, Topic, change_status
from bilten.services.questions import link_answers_to_tickets
from bilten.services.ticket_codes import load_private_key, sign_ticket_code
from bilten.services.ticket_references import unused_references


def mark_paid(session: Session, order: Order, *, event: Event, lines: list[OrderLine], now: datetime) -> None:
    """Paid, with one ticket per seat and a numbered invoice, in the caller's transaction (so a
    paid order always has its invoice, and a rollback returns the invoice number)."""
    change_status(order, OrderStatus.PAID, now=now)
    session.add(order)
    signing_key = load_private_key(event.signing_private_key_sealed)
    references = iter(unused_references(session, sum(line.quantity for line in lines)))
    issued: dict[uuid.UUID, list[Ticket]] = {}
    for line in lines:
        for _ in range(line.quantity):
            ticket_id = uuid.uuid4()
            ticket = Ticket(
                id=ticket_id,
                order_id=order.id,
                order_line_id=line.id,
                event_id=event.id,
                ticket_type_id=line.ticket_type_id,
                code=sign_ticket_code(signing_key, event_id=event.id, ticket_id=ticket_id),
                reference=next(references),
                holder_name=order.buyer_name,
                issued_at=now,
            )
            session.add(ticket)
            issued.setdefault(line.ticket_type_id, []).append(ticket)
    link_answers_to_tickets(session, order, issued)  # per-ticket checkout answers follow their ticket
    invoices.issue_invoice(session, order, event=event, lines=lines, now=now)
    record_audit(
        session,
        action=AuditAction.ORDER_PAID,
        object_type="order",
        object_id=order.id,
        now=now,
        organization_id=event.organization_id,
        data={"total": order.total_minor},
    )
    emit_event(session, topic=Topic.ORDER_PAID, payload={"order_id": str(order.id)}, now=now)
    metrics.after_commit(session, metrics.count_paid, sum(line.quantity for line in lines))
