"""Invoices and credit notes for paid orders.

Guarantees:
- Every paid order with money to pay (total > 0) has exactly one invoice, issued in the very
  transaction that marks it paid (`issue_invoice`, called by `orders.issuing.mark_paid`); a
  cancellation or refund of a paid order issues one credit note that references it, in the
  transaction that cancels it (`issue_credit_note`, called by `orders.cancelling`).
- Numbers are gap-free per organization: `draw_number` increments the organization's
  `invoice_sequence` row with one `UPDATE ... RETURNING` inside the caller's transaction. The row stays
  locked until that transaction ends; a rollback gives the number back. Invoices and credit notes
  share the series (as pretix does), so the accountant sees one unbroken run. The printed number is
  `{prefix}-{year}-{n:05d}`; the year is the year of issue and only informative: n never restarts.
- Tax: a rate per ticket type in basis points (1900 = 19 %). The organization says whether its
  prices include tax (gross) or not (net: the shop then charges net + tax per ticket,
  `charged_unit_price`). Per invoice line the net amount is the line's paid gross divided by
  (1 + rate), rounded half to even in integer minor units; tax is gross - net, so lines always add
  up to what was paid. Totals per rate are sums of lines.
- An issued document is a snapshot (seller, buyer, lines, totals, in the buyer's language): later
  edits to the organization or its ticket types never change it.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from babel.numbers import get_currency_precision
from pydantic import BaseModel, ConfigDict
from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from bilten.models import (
    Event,
    Invoice,
    InvoiceKind,
    InvoiceSequence,
    InvoiceSettings,
    Order,
    OrderLine,
    Organization,
    TicketType,
    User,
)
from bilten.services.access import Permission, authorize, is_allowed
from bilten.services.audit import record_audit
from bilten.services.errors import NotFound, ValidationFailed
from bilten.services.order_access import may_view_order
from bilten.services.tax import BASIS as BASIS
from bilten.services.tax import charged_unit_price as charged_unit_price
from bilten.services.tax import div_half_even as _div_half_even
from bilten.services.tax import net_of_gross as net_of_gross
from bilten.services.tax import prices_include_tax as prices_include_tax
from bilten.services.tax import tax_on_net as tax_on_net
from bilten.services.transaction import transaction
from bilten.services.translations import field_text

PREFIX_PATTERN = re.compile(r"^[A-Z0-9]{1,12}$")
BILLING_FIELDS = {"company": 200, "address": 500, "vat_id": 40}


def invoice_line(description: str, quantity: int, gross_minor: int, rate_bp: int) -> dict[str, Any]:
    net = net_of_gross(gross_minor, rate_bp)
    return {
        "description": description,
        "quantity": quantity,
        "unit_gross": _div_half_even(gross_minor, quantity),
        "unit_net": _div_half_even(net, quantity),
        "tax_rate_bp": rate_bp,
        "net": net,
        "tax": gross_minor - net,
        "gross": gross_minor,
    }


def tax_totals(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_rate: dict[int, dict[str, Any]] = {}
    for line in lines:
        total = by_rate.setdefault(
            line["tax_rate_bp"], {"tax_rate_bp": line["tax_rate_bp"], "net": 0, "tax": 0, "gross": 0}
        )
        for key in ("net", "tax", "gross"):
            total[key] += line[key]
    return [by_rate[rate] for rate in sorted(by_rate)]


def parse_tax_rate(text: str) -> int:
    """ "19", "7.5" or "7,5" (percent, 0-100, up to two decimals) as basis points."""
    cleaned = text.strip().replace(",", ".").removesuffix("%").strip()
    try:
        value = Decimal(cleaned or "0")
    except InvalidOperation:
        raise ValidationFailed("error.invoice.tax_rate") from None
    if not value.is_finite() or value < 0 or value > 100 or value != value.quantize(Decimal("0.01")):
        raise ValidationFailed("error.invoice.tax_rate")
    return int(value * 100)


def format_tax_rate(rate_bp: int) -> str:
    return f"{Decimal(rate_bp) / 100:f}".rstrip("0").rstrip(".") if rate_bp % 100 else str(rate_bp // 100)


def clean_billing(billing: dict[str, str] | None) -> dict[str, str]:
    """The buyer's optional company details: known fields only, trimmed, within their lengths."""
    cleaned: dict[str, str] = {}
    for key, value in (billing or {}).items():
        if key not in BILLING_FIELDS:
            raise ValidationFailed("error.invoice.billing_field")
        text = " ".join(str(value).split()) if key != "address" else str(value).strip()
        if len(text) > BILLING_FIELDS[key]:
            raise ValidationFailed("error.invoice.billing_too_long")
        if text:
            cleaned[key] = text
    return cleaned


# ---------------------------------------------------------------------------------------------
# Settings


class InvoiceSettingsView(BaseModel):
    model_config = ConfigDict(from_attributes=True, frozen=True)

    organization_id: uuid.UUID
    legal_name: str
    address: str
    vat_id: str
    prices_include_tax: bool
    number_prefix: str


def settings_of(session: Session, organization_id: uuid.UUID) -> InvoiceSettings:
    return session.get(InvoiceSettings, organization_id) or InvoiceSettings(organization_id=organization_id)


def read_invoice_settings(session: Session, *, actor: User | None, organization_id: uuid.UUID) -> InvoiceSettingsView:
    with transaction(session):
        authorize(session, actor, Permission.ORGANIZATION_MANAGE, organization_id=organization_id)
        return InvoiceSettingsView.model_validate(settings_of(session, organization_id))


def update_invoice_settings(
    session: Session,
    *,
    actor: User | None,
    organization_id: uuid.UUID,
    legal_name: str,
    address: str,
    vat_id: str,
    prices_include_tax: bool,
    number_prefix: str,
    now: datetime,
) -> InvoiceSettingsView:
    """The organization's legal details as a seller (owners and managers)."""
    legal_name = " ".join(legal_name.split())
    address = address.strip()
    vat_id = "".join(vat_id.split()).upper()
    number_prefix = number_prefix.strip().upper()
    if len(legal_name) > 200 or len(address) > 500:
        raise ValidationFailed("error.invoice.details_too_long")
    if len(vat_id) > 40 or (vat_id and not re.fullmatch(r"[A-Z0-9.\-]+", vat_id)):
        raise ValidationFailed("error.invoice.vat_id")
    if not PREFIX_PATTERN.match(number_prefix):
        raise ValidationFailed("error.invoice.prefix")
    with transaction(session):
        authorize(session, actor, Permission.ORGANIZATION_MANAGE, organization_id=organization_id)
        row = session.get(InvoiceSettings, organization_id) or InvoiceSettings(organization_id=organization_id)
        row.legal_name, row.address, row.vat_id = legal_name, address, vat_id
        row.prices_include_tax, row.number_prefix, row.updated_at = prices_include_tax, number_prefix, now
        session.add(row)
        record_audit(
            session,
            action="organization.invoice_settings_changed",
            object_type="organization",
            object_id=organization_id,
            now=now,
            actor_user_id=actor.id if actor else None,
            organization_id=organization_id,
        )
        return InvoiceSettingsView.model_validate(row)


# ---------------------------------------------------------------------------------------------
# Numbering and issuing (in the caller's transaction)


def draw_number(session: Session, organization_id: uuid.UUID) -> int:
    """The organization's next number, taken under the sequence row's lock (held until the caller's
    transaction ends; a rollback returns the number)."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    session.exec(
        insert(InvoiceSequence)
        .values(organization_id=organization_id, next_number=1)
        .on_conflict_do_nothing(index_elements=["organization_id"])
    )
    taken: int = session.execute(
        update(InvoiceSequence)
        .where(col(InvoiceSequence.organization_id) == organization_id)
        .values(next_number=col(InvoiceSequence.next_number) + 1)
        .returning(col(InvoiceSequence.next_number))
    ).scalar_one()
    return int(taken) - 1


def format_number(prefix: str, year: int, number: int) -> str:
    return f"{prefix}-{year}-{number:05d}"


def _seller(session: Session, organization_id: uuid.UUID) -> tuple[dict[str, str], InvoiceSettings]:
    settings = settings_of(session, organization_id)
    organization = session.get_one(Organization, organization_id)
    seller = {"name": settings.legal_name or organization.name, "address": settings.address, "vat_id": settings.vat_id}
    return seller, settings


def issue_invoice(
    session: Session, order: Order, *, event: Event, lines: list[OrderLine], now: datetime
) -> Invoice | None:
    """The paid order's invoice (none for a free order), numbered and frozen, in the caller's transaction."""
    if order.total_minor <= 0:
        return None
    existing = session.exec(
        select(Invoice).where(Invoice.order_id == order.id, Invoice.kind == InvoiceKind.INVOICE)
    ).first()
    if existing is not None:  # paid again after a cancellation: the first invoice stands
        return existing
    seller, settings = _seller(session, event.organization_id)
    types = {t.id: t for t in session.exec(select(TicketType).where(TicketType.event_id == event.id))}
    invoice_lines = [
        invoice_line(
            field_text(types[line.ticket_type_id], "name", order.locale, event.main_language),
            line.quantity,
            line.line_total_minor,
            types[line.ticket_type_id].tax_rate_bp,
        )
        for line in lines
    ]
    totals = tax_totals(invoice_lines)
    number = draw_number(session, event.organization_id)
    buyer = {"name": order.buyer_name, "email": order.buyer_email, **clean_billing(order.billing)}
    invoice = Invoice(
        organization_id=event.organization_id,
        order_id=order.id,
        kind=InvoiceKind.INVOICE,
        sequence_number=number,
        number=format_number(settings.number_prefix, now.year, number),
        locale=order.locale,
        currency=order.currency,
        net_minor=sum(t["net"] for t in totals),
        tax_minor=sum(t["tax"] for t in totals),
        gross_minor=sum(t["gross"] for t in totals),
        prices_include_tax=settings.prices_include_tax,
        seller=seller,
        buyer=buyer,
        lines=invoice_lines,
        tax_totals=totals,
        event_title=field_text(event, "title", order.locale, event.main_language)[:300],
        issued_at=now,
    )
    session.add(invoice)
    record_audit(
        session,
        action="invoice.issued",
        object_type="order",
        object_id=order.id,
        now=now,
        organization_id=event.organization_id,
        data={"number": invoice.number},
    )
    return invoice


def issue_credit_note(session: Session, order: Order, *, now: datetime) -> Invoice | None:
    """A credit note cancelling the order's invoice in full, in the caller's transaction (once)."""
    invoice = session.exec(
        select(Invoice).where(Invoice.order_id == order.id, Invoice.kind == InvoiceKind.INVOICE)
    ).first()
    if invoice is None:
        return None
    existing = session.exec(
        select(Invoice).where(Invoice.order_id == order.id, Invoice.kind == InvoiceKind.CREDIT_NOTE)
    ).first()
    if existing is not None:
        return existing
    prefix = settings_of(session, invoice.organization_id).number_prefix
    number = draw_number(session, invoice.organization_id)

    def negated(row: dict[str, Any]) -> dict[str, Any]:
        return {k: (-v if k in ("net", "tax", "gross") else v) for k, v in row.items()}

    note = Invoice(
        organization_id=invoice.organization_id,
        order_id=order.id,
        kind=InvoiceKind.CREDIT_NOTE,
        sequence_number=number,
        number=format_number(prefix, now.year, number),
        refers_to_id=invoice.id,
        locale=invoice.locale,
        currency=invoice.currency,
        net_minor=-invoice.net_minor,
        tax_minor=-invoice.tax_minor,
        gross_minor=-invoice.gross_minor,
        prices_include_tax=invoice.prices_include_tax,
        seller=invoice.seller,
        buyer=invoice.buyer,
        lines=[negated(line) for line in invoice.lines],
        tax_totals=[negated(total) for total in invoice.tax_totals],
        event_title=invoice.event_title,
        issued_at=now,
    )
    session.add(note)
    record_audit(
        session,
        action="invoice.credit_note_issued",
        object_type="order",
        object_id=order.id,
        now=now,
        organization_id=invoice.organization_id,
        data={"number": note.number, "refers_to": invoice.number},
    )
    return note


# ---------------------------------------------------------------------------------------------
# Reading


class InvoiceOut(BaseModel):
    model_config = {"from_attributes": True}

    id: uuid.UUID
    order_id: uuid.UUID
    kind: InvoiceKind
    number: str
    refers_to_id: uuid.UUID | None
    currency: str
    net_minor: int
    tax_minor: int
    gross_minor: int
    issued_at: datetime


def order_invoices(
    session: Session, *, order_id: uuid.UUID, user: User | None, access_token: str = ""
) -> list[Invoice]:
    """The order's invoice and credit note (oldest first), for its buyer or the event's team (its
    viewers too: they read the event's orders)."""
    with transaction(session):
        order = session.get(Order, order_id)
        if order is None or not (
            may_view_order(session, order, user=user, access_token=access_token)
            or is_allowed(session, user, Permission.EVENT_VIEW, event_id=order.event_id)
        ):
            raise NotFound()
        return list(
            session.exec(select(Invoice).where(Invoice.order_id == order_id).order_by(col(Invoice.sequence_number)))
        )


def order_invoice(
    session: Session,
    *,
    order_id: uuid.UUID,
    user: User | None,
    access_token: str = "",
    kind: InvoiceKind = InvoiceKind.INVOICE,
) -> Invoice:
    for invoice in order_invoices(session, order_id=order_id, user=user, access_token=access_token):
        if invoice.kind == kind:
            return invoice
    raise NotFound()


def refers_to_number(session: Session, invoice: Invoice) -> str:
    if invoice.refers_to_id is None:
        return ""
    return session.get_one(Invoice, invoice.refers_to_id).number


# ---------------------------------------------------------------------------------------------
# The accountant's export


MAX_EXPORT_DAYS = 366
MAX_EXPORT_DOCUMENTS = 2000  # rendered on request: a longer list asks for a shorter period
DOCUMENT_COLUMNS = (
    "number",
    "kind",
    "issued_at",
    "order_id",
    "refers_to",
    "buyer",
    "vat_id",
    "currency",
    "net",
    "tax",
    "gross",
)
TOTAL_COLUMNS = ("month", "currency", "tax_rate_percent", "net", "tax", "gross", "documents")


def invoices_for_period(
    session: Session, *, actor: User | None, organization_id: uuid.UUID, start: date, end: date
) -> list[Invoice]:
    """The organization's invoices and credit notes issued from `start` to `end` (UTC days,
    both included), in number order, for its owners, managers and viewers."""
    if end < start or (end - start).days >= MAX_EXPORT_DAYS:
        raise ValidationFailed("error.invoice.export_period", days=MAX_EXPORT_DAYS)
    begins = datetime.combine(start, time.min, tzinfo=UTC)
    ends = datetime.combine(end + timedelta(days=1), time.min, tzinfo=UTC)
    with transaction(session):
        authorize(session, actor, Permission.ORGANIZATION_VIEW, organization_id=organization_id)
        found = list(
            session.exec(
                select(Invoice)
                .where(
                    Invoice.organization_id == organization_id,
                    col(Invoice.issued_at) >= begins,
                    col(Invoice.issued_at) < ends,
                )
                .order_by(col(Invoice.sequence_number))
                .limit(MAX_EXPORT_DOCUMENTS + 1)
            )
        )
    if len(found) > MAX_EXPORT_DOCUMENTS:
        raise ValidationFailed("error.invoice.export_too_big", count=MAX_EXPORT_DOCUMENTS)
    return found


def _decimal(amount_minor: int, currency: str) -> str:
    digits = get_currency_precision(currency)
    return f"{Decimal(amount_minor).scaleb(-digits):.{digits}f}"


def documents_csv(documents: list[Invoice], numbers: dict[uuid.UUID, str]) -> str:
    """One line per invoice or credit note (amounts in major units, a dot as decimal mark)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(DOCUMENT_COLUMNS)
    for d in documents:
        buyer = d.buyer.get("company") or d.buyer.get("name") or d.buyer.get("email", "")
        writer.writerow(
            [
                d.number,
                d.kind.value,
                d.issued_at.isoformat(),
                str(d.order_id),
                numbers.get(d.refers_to_id, "") if d.refers_to_id else "",
                safe_text(buyer),
                safe_text(d.buyer.get("vat_id", "")),
                d.currency,
                _decimal(d.net_minor, d.currency),
                _decimal(d.tax_minor, d.currency),
                _decimal(d.gross_minor, d.currency),
            ]
        )
    return buffer.getvalue()


def totals_csv(documents: list[Invoice]) -> str:
    """Totals per month, currency and tax rate (credit notes count negative)."""
    sums: dict[tuple[str, str, int], list[int]] = {}
    for d in documents:
        for total in d.tax_totals:
            key = (d.issued_at.strftime("%Y-%m"), d.currency, total["tax_rate_bp"])
            row = sums.setdefault(key, [0, 0, 0, 0])
            row[0] += total["net"]
            row[1] += total["tax"]
            row[2] += total["gross"]
            row[3] += 1
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(TOTAL_COLUMNS)
    for (month, currency, rate), (net, tax, gross, count) in sorted(sums.items()):
        writer.writerow(
            [month, currency, format_tax_rate(rate), *(_decimal(v, currency) for v in (net, tax, gross)), count]
        )
    return buffer.getvalue()


def safe_text(value: str) -> str:
    """A cell a spreadsheet will not run as a formula."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def event_timezone(session: Session, invoice: Invoice) -> str:
    """The time zone the document's date is printed in: its event's."""
    return session.exec(
        select(Event.timezone).join(Order, col(Order.event_id) == col(Event.id)).where(Order.id == invoice.order_id)
    ).one()
