"""`/api/v1/events/{id}/vouchers`: an event's vouchers for its team (bearer access token; the CSV
also takes the back office's session cookie, so its download button is a plain link).

Listing needs `EVENT_VIEW`; creating, changing, deleting and the CSV of codes `EVENT_MANAGE`
(services/vouchers.py). The service's read model (`VoucherView`) is returned unchanged.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlmodel import Session

from bilten.api.deps import Caller, get_caller, get_session, token_or_cookie_user
from bilten.api.errors import error_responses
from bilten.api.routing import api_router
from bilten.models import VoucherKind
from bilten.services import vouchers
from bilten.services.errors import ValidationFailed
from bilten.services.vouchers import VoucherFields, VoucherView

router = api_router(
    prefix="/api/v1/events/{event_id}", tags=["vouchers"], responses=error_responses(401, 403, 404, 409, 422)
)


class VoucherIn(BaseModel):
    code: str | None = Field(None, max_length=200)
    discount_percent: int | None = Field(None, strict=True)
    discount_amount: int | None = Field(None, strict=True, description="in minor units (cents), off each ticket")
    price: int | None = Field(None, strict=True, description="in minor units (cents), each ticket's price")
    max_uses: int | None = Field(None, strict=True, description="orders that may use it (one use per order)")
    ticket_type_ids: list[uuid.UUID] | None = Field(None, max_length=100)
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    unlocks_hidden: bool | None = None


class BulkVoucherIn(VoucherIn):
    count: int = Field(strict=True)
    prefix: str = Field("", max_length=100)


def _fields(body: VoucherIn, *, creating: bool) -> VoucherFields:
    given = body.model_fields_set
    kinds = [
        (kind, getattr(body, name))
        for kind, name in (
            (VoucherKind.PERCENT, "discount_percent"),
            (VoucherKind.AMOUNT, "discount_amount"),
            (VoucherKind.PRICE, "price"),
        )
        if getattr(body, name) is not None
    ]
    if len(kinds) > 1:
        raise ValidationFailed("error.voucher_one_kind")
    for name in given & {"code", "max_uses", "ticket_type_ids", "unlocks_hidden"}:
        if getattr(body, name) is None:
            raise ValidationFailed("error.request_invalid", field=name)
    if creating and body.max_uses is None:
        raise ValidationFailed("error.request_invalid", field="max_uses")
    kind, value = kinds[0] if kinds else (None, None)
    return VoucherFields(
        code=body.code,
        kind=kind,
        value=value,
        max_uses=body.max_uses,
        ticket_type_ids=body.ticket_type_ids,
        valid_from=body.valid_from,
        valid_until=body.valid_until,
        unlocks_hidden=body.unlocks_hidden,
        given=frozenset(given),
    )


@router.get("/vouchers", response_model=list[VoucherView])
def list_vouchers(
    event_id: uuid.UUID, session: Session = Depends(get_session), caller: Caller = Depends(get_caller)
) -> list[VoucherView]:
    """The event's vouchers with their uses (`used` of `max_uses`)."""
    return vouchers.list_vouchers(session, actor=caller.require(session), event_id=event_id)


@router.post("/vouchers", status_code=201, response_model=VoucherView)
def create_voucher(
    event_id: uuid.UUID, body: VoucherIn, session: Session = Depends(get_session), caller: Caller = Depends(get_caller)
) -> VoucherView:
    """One code: exactly one of `discount_percent` (1..100), `discount_amount` or `price` (minor
    units), or none with `unlocks_hidden`. Codes are matched case-insensitively, unique per event."""
    user = caller.require(session)
    if body.code is None:
        raise ValidationFailed("error.voucher_code_format")
    return vouchers.create_voucher(
        session, actor=user, event_id=event_id, fields=_fields(body, creating=True), now=caller.now
    )


@router.post("/vouchers/bulk", status_code=201, response_model=list[VoucherView])
def create_vouchers_in_bulk(
    event_id: uuid.UUID,
    body: BulkVoucherIn,
    session: Session = Depends(get_session),
    caller: Caller = Depends(get_caller),
) -> list[VoucherView]:
    """`count` random codes (`prefix` + 10 characters without look-alikes), alike otherwise."""
    user = caller.require(session)
    if body.code is not None:
        raise ValidationFailed("error.request_invalid", field="code")
    return vouchers.create_random_vouchers(
        session,
        actor=user,
        event_id=event_id,
        fields=_fields(body, creating=True),
        count=body.count,
        prefix=body.prefix,
        now=caller.now,
    )


@router.get("/vouchers.csv", response_class=Response, responses={200: {"content": {"text/csv": {}}}})
def vouchers_csv(
    event_id: uuid.UUID,
    request: Request,
    session: Session = Depends(get_session),
    caller: Caller = Depends(get_caller),
) -> Response:
    text = vouchers.vouchers_csv(session, actor=token_or_cookie_user(request, caller, session), event_id=event_id)
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="vouchers-{event_id.hex[:8]}.csv"',
            "Cache-Control": "private, no-store",
        },
    )


@router.get("/vouchers/{voucher_id}", response_model=VoucherView)
def get_voucher(
    event_id: uuid.UUID,
    voucher_id: uuid.UUID,
    session: Session = Depends(get_session),
    caller: Caller = Depends(get_caller),
) -> VoucherView:
    return vouchers.get_voucher(session, actor=caller.require(session), event_id=event_id, voucher_id=voucher_id)


@router.patch("/vouchers/{voucher_id}", response_model=VoucherView)
def update_voucher(
    event_id: uuid.UUID,
    voucher_id: uuid.UUID,
    body: VoucherIn,
    session: Session = Depends(get_session),
    caller: Caller = Depends(get_caller),
) -> VoucherView:
    """Change some fields; `max_uses` never below the uses taken."""
    user = caller.require(session)
    return vouchers.update_voucher(
        session,
        actor=user,
        event_id=event_id,
        voucher_id=voucher_id,
        fields=_fields(body, creating=False),
        now=caller.now,
    )


@router.delete("/vouchers/{voucher_id}", status_code=204)
def delete_voucher(
    event_id: uuid.UUID,
    voucher_id: uuid.UUID,
    session: Session = Depends(get_session),
    caller: Caller = Depends(get_caller),
) -> None:
    """A voucher no order used (else 409 `voucher_in_use`: lower its `max_uses` instead)."""
    vouchers.delete_voucher(
        session, actor=caller.require(session), event_id=event_id, voucher_id=voucher_id, now=caller.now
    )
