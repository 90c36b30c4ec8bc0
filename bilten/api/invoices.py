"""Organizations' invoices: their legal details as a seller, and the accountant's export (a ZIP
of every invoice and credit note of a period as PDF, plus `invoices.csv` with one line each and
`totals.csv` with totals per month, currency and tax rate). The buyer's own download is
`GET /api/v1/orders/{id}/invoice.pdf` (api/orders.py)."""

from __future__ import annotations

import io
import uuid
import zipfile
from datetime import date, datetime

from fastapi import Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlmodel import Session, select

from bilten.api.deps import Caller, get_caller, get_now, get_session, token_or_cookie_user
from bilten.api.errors import error_responses
from bilten.api.routing import api_router
from bilten.models import Event, Order
from bilten.notifications.invoice_pdf import invoice_pdf
from bilten.services import invoices
from bilten.services.invoices import InvoiceSettingsView

router = api_router(prefix="/api/v1/organizations", tags=["invoices"], responses=error_responses(401, 403, 404, 422))


class InvoiceSettingsIn(BaseModel):
    legal_name: str = Field(default="", max_length=1000)
    address: str = Field(default="", max_length=2000)
    vat_id: str = Field(default="", max_length=200)
    prices_include_tax: bool = True
    number_prefix: str = Field(default="INV", max_length=100)


@router.get("/{organization_id}/invoice-settings", response_model=InvoiceSettingsView)
def read_settings(
    organization_id: uuid.UUID, caller: Caller = Depends(get_caller), session: Session = Depends(get_session)
) -> InvoiceSettingsView:
    return invoices.read_invoice_settings(session, actor=caller.require(session), organization_id=organization_id)


@router.put("/{organization_id}/invoice-settings", response_model=InvoiceSettingsView)
def update_settings(
    organization_id: uuid.UUID,
    body: InvoiceSettingsIn,
    caller: Caller = Depends(get_caller),
    session: Session = Depends(get_session),
    now: datetime = Depends(get_now),
) -> InvoiceSettingsView:
    return invoices.update_invoice_settings(
        session, actor=caller.require(session), organization_id=organization_id, now=now, **body.model_dump()
    )


@router.get(
    "/{organization_id}/invoices.zip", response_class=Response, responses={200: {"content": {"application/zip": {}}}}
)
def export_invoices(
    organization_id: uuid.UUID,
    request: Request,
    start: date = Query(alias="from"),
    end: date = Query(alias="to"),
    caller: Caller = Depends(get_caller),
    session: Session = Depends(get_session),
) -> Response:
    """Every invoice and credit note issued from `from` to `to` (UTC days, both included)."""
    actor = token_or_cookie_user(request, caller, session)
    documents = invoices.invoices_for_period(
        session, actor=actor, organization_id=organization_id, start=start, end=end
    )
    numbers = {d.id: d.number for d in documents}
    zones = dict(
        session.exec(
            select(Order.id, Event.timezone)
            .join(Event, Event.id == Order.event_id)
            .where(Order.id.in_([d.order_id for d in documents]))  # type: ignore[attr-defined]
        ).all()
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("invoices.csv", invoices.documents_csv(documents, numbers))
        archive.writestr("totals.csv", invoices.totals_csv(documents))
        for d in documents:
            refers = numbers.get(d.refers_to_id) if d.refers_to_id else ""
            if d.refers_to_id and refers is None:  # the invoice lies before the period
                refers = invoices.refers_to_number(session, d)
            archive.writestr(
                f"{d.number}.pdf", invoice_pdf(d, refers_to_number=refers or "", timezone=zones.get(d.order_id, "UTC"))
            )
    return Response(
        buffer.getvalue(),
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="invoices-{start.isoformat()}-{end.isoformat()}.zip"',
            "Cache-Control": "private, no-store",
        },
    )
