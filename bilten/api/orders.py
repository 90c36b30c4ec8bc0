"""`/api/v1/orders`: place, read, pay (test mode) and cancel orders."""

from __future__ import annotations

import uuid
from datetime import datetime
from functools import partial

from fastapi import Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlmodel import Session

from bilten import ratelimit
from bilten.api.deps import (
    Caller,
    bearer_token,
    client_address_of,
    get_caller,
    get_now,
    get_order_link,
    get_session,
)
from bilten.api.errors import error_responses, request_locale
from bilten.api.questions import AnswerIn, answers_in
from bilten.api.routing import api_router, on_endpoint_thread, sale_threads
from bilten.i18n import normalize_locale
from bilten.models import Event, InvoiceKind, Order, OrderStatus, User
from bilten.notifications.invoice_pdf import invoice_pdf
from bilten.notifications.rendering import MissingData, event_calendar, order_tickets_pdf
from bilten.payments import active_provider, is_test_mode
from bilten.services import invoices as invoice_service
from bilten.services import orders as order_service
from bilten.services.errors import InvalidToken, NotFound, SoldOut, ValidationFailed, VoucherInvalid
from bilten.services.orders import OrderReceipt
from bilten.services.seat_gate import learn_after_refusal, seat_gate
from bilten.services.security import decode_access_token
from bilten.settings import get_secret_key, get_settings

router = api_router(
    prefix="/api/v1/orders", tags=["orders"], responses=error_responses(401, 403, 404, 409, 422, 502, 503)
)


class OrderItemIn(BaseModel):
    ticket_type_id: uuid.UUID
    quantity: int = Field(strict=True)


class BillingIn(BaseModel):
    company: str = Field(default="", max_length=200)
    address: str = Field(default="", max_length=500)
    vat_id: str = Field(default="", max_length=40)


class OrderIn(BaseModel):
    items: list[OrderItemIn] = Field(min_length=1, max_length=20)
    email: str = Field(max_length=320)
    phone: str = Field(default="", max_length=64)
    name: str = Field(default="", max_length=300)
    event_id: uuid.UUID | None = None
    billing: BillingIn | None = None  # optional company details printed on the invoice
    voucher: str | None = Field(None, max_length=200, description="a voucher code of the event")
    answers: list[AnswerIn] = Field(default_factory=list, max_length=2000)


class TestPaymentIn(BaseModel):
    outcome: str = Field(pattern="^(succeeded|failed)$")


def _order_for_caller(session: Session, order_id: uuid.UUID, user: User | None, token: str) -> Order:
    order = session.get(Order, order_id)
    if order is None or not order_service.may_view_order(session, order, user=user, access_token=token):
        raise NotFound()  # the same answer for "no such order" and "not yours"
    return order


async def _order_within_limits(body: OrderIn, *, token: str, now: datetime, address: str) -> None:
    # The signed-in user is read from the token's signature alone (no database on the event loop);
    # a bad token is refused later, on the endpoint's thread.
    try:
        user_id = decode_access_token(token, secret=get_secret_key(), now=now)["sub"] if token else None
    except InvalidToken:
        user_id = None
    await ratelimit.check(ratelimit.ORDER, address=address, account=ratelimit.buyer_account(user_id, body.email))
    if body.voucher:  # an address that guessed too many wrong codes waits before trying another
        await ratelimit.refuse_if_over(ratelimit.VOUCHER, address=address)


@router.post("", status_code=201, response_model=OrderReceipt)
async def place_order(
    body: OrderIn,
    request: Request,
    session: Session = Depends(get_session),
    now: datetime = Depends(get_now),
) -> JSONResponse:
    """The busiest route of a sale, so it takes the fewest steps: the rate limits on the event loop
    (refused requests cost no thread or connection), then ONE hop to an endpoint thread for all of
    its database work (the order, its payment, its receipt), the receipt's JSON made there too.
    In the server it is answered by `bilten/api/order_lane.py`, without routing; this route
    documents it and serves an app built without the lane."""
    return await answer_order(body, request, session, now)


async def answer_order(body: OrderIn, request: Request, session: Session, now: datetime) -> Response:
    """`place_order`'s answer, for the route and for the order lane."""
    token = bearer_token(request)
    address = client_address_of(request)
    await _order_within_limits(body, token=token, now=now, address=address)
    place = partial(_place_order, session, body, token=token, locale=request_locale(request), now=now)
    try:
        order_id, content = await on_endpoint_thread(place, session=session, limiter=sale_threads())
    except VoucherInvalid:
        # A wrong code counts against the address's voucher limit (guessing codes).
        await ratelimit.count_failure(ratelimit.VOUCHER, address=address)
        raise
    return Response(
        content,
        status_code=201,
        media_type="application/json",
        headers={"Location": f"/api/v1/orders/{order_id}"},
    )


def _place_order(session: Session, body: OrderIn, *, token: str, locale: str, now: datetime) -> tuple[uuid.UUID, bytes]:
    """On an endpoint thread: place the order, open its payment if the provider needs the network,
    and return its receipt as JSON."""
    user = Caller(token=token, now=now).user(session)
    if user is not None:
        # The account's read ends here: the order may wait for a commit shared with others
        # (services/orders/placing.py), and must not hold a connection while it waits.
        session.commit()
    try:
        placed = order_service.place_order(
            session,
            items=[(item.ticket_type_id, item.quantity) for item in body.items],
            email=body.email,
            phone=body.phone,
            name=body.name,
            user=user,
            locale=locale,
            event_id=body.event_id,
            provider=active_provider(),
            billing=body.billing.model_dump() if body.billing else None,
            answers=answers_in(body.answers),
            now=now,
            voucher=body.voucher or "",
        )
    except SoldOut:
        # The database said no: this process refuses the next requests that cannot fit from memory
        # (bilten/api/sold_out_gate.py) instead of asking it again on the hot row.
        learn_after_refusal(session, {item.ticket_type_id for item in body.items})
        raise
    order, payment = placed.order, placed.payment
    if order.status == OrderStatus.PENDING and payment is None:
        payment = order_service.start_payment(session, order_id=order.id, now=now, access_token=placed.access_token)
    receipt = order_service.order_receipt(
        session, order, now=now, payment=payment, access_token=placed.access_token, placed=placed
    )
    # As JSONResponse would render it (compact, UTF-8), here rather than on the event loop.
    return order.id, receipt.model_dump_json(by_alias=True).encode()


@router.get("/{order_id}", response_model=OrderReceipt)
def get_order(
    order_id: uuid.UUID,
    link: str = Depends(get_order_link),
    caller: Caller = Depends(get_caller),
    session: Session = Depends(get_session),
    now: datetime = Depends(get_now),
) -> OrderReceipt:
    user = caller.user(session)
    order = _order_for_caller(session, order_id, user, link)
    return order_service.order_receipt(session, order, now=now)


@router.post("/{order_id}/cancel", response_model=OrderReceipt)
def cancel_order(
    order_id: uuid.UUID,
    link: str = Depends(get_order_link),
    caller: Caller = Depends(get_caller),
    session: Session = Depends(get_session),
    now: datetime = Depends(get_now),
) -> OrderReceipt:
    user = caller.user(session)
    order = order_service.cancel_order(session, order_id=order_id, now=now, actor=user, access_token=link)
    seat_gate.forget_event(order.event_id)  # its seats are for sale again now, not after the gate's next probe
    return order_service.order_receipt(session, order, now=now)


@router.post("/{order_id}/test-payment", response_model=OrderReceipt)
def test_payment(
    order_id: uuid.UUID,
    body: TestPaymentIn,
    link: str = Depends(get_order_link),
    caller: Caller = Depends(get_caller),
    session: Session = Depends(get_session),
    now: datetime = Depends(get_now),
) -> OrderReceipt:
    """Confirm or decline a test-mode payment. Exists only while the test provider is active."""
    user = caller.user(session)
    if not is_test_mode():
        raise NotFound()
    order = _order_for_caller(session, order_id, user, link)
    order_service.pay_with_test_provider(
        session,
        order_id=order.id,
        succeeded=body.outcome == "succeeded",
        now=now,
        user=user,
        access_token=link,
    )
    return order_service.order_receipt(session, session.get(Order, order.id), now=now)


@router.get("/{order_id}/tickets.pdf", response_class=Response, responses={200: {"content": {"application/pdf": {}}}})
def tickets_pdf(
    order_id: uuid.UUID,
    request: Request,
    lang: str | None = Query(None, max_length=10),
    link: str = Depends(get_order_link),
    caller: Caller = Depends(get_caller),
    session: Session = Depends(get_session),
) -> Response:
    """The paid order's tickets, one page each, in the reader's language."""
    user = caller.user(session)
    order = _order_for_caller(session, order_id, user, link)
    try:
        pdf = order_tickets_pdf(session, order, locale=normalize_locale(lang or order.locale, request_locale(request)))
    except MissingData as exc:
        raise ValidationFailed("error.order_not_paid") from exc
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="tickets-{order.id.hex[:8]}.pdf"',
            "Cache-Control": "private, no-store",
        },
    )


@router.get("/{order_id}/invoice.pdf", response_class=Response, responses={200: {"content": {"application/pdf": {}}}})
def invoice(
    order_id: uuid.UUID,
    kind: InvoiceKind = Query(InvoiceKind.INVOICE),
    link: str = Depends(get_order_link),
    caller: Caller = Depends(get_caller),
    session: Session = Depends(get_session),
) -> Response:
    """The paid order's invoice (or `?kind=credit_note`), in the buyer's language, for its buyer
    (order token or account) or the event's organizers. 404 when there is none (yet)."""
    user = caller.user(session)
    document = invoice_service.order_invoice(session, order_id=order_id, user=user, access_token=link, kind=kind)
    timezone = invoice_service.event_timezone(session, document)
    pdf = invoice_pdf(document, refers_to_number=invoice_service.refers_to_number(session, document), timezone=timezone)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{document.number}.pdf"',
            "Cache-Control": "private, no-store",
        },
    )


@router.get("/{order_id}/calendar.ics", response_class=Response, responses={200: {"content": {"text/calendar": {}}}})
def calendar(
    order_id: uuid.UUID,
    request: Request,
    lang: str | None = Query(None, max_length=10),
    link: str = Depends(get_order_link),
    caller: Caller = Depends(get_caller),
    session: Session = Depends(get_session),
) -> Response:
    user = caller.user(session)
    order = _order_for_caller(session, order_id, user, link)
    event = session.get(Event, order.event_id)
    ics = event_calendar(
        event,
        public_url=get_settings().public_url,
        stamp=order.paid_at or order.created_at,
        locale=normalize_locale(lang or order.locale, request_locale(request)),
    )
    return Response(
        ics, media_type="text/calendar", headers={"Content-Disposition": 'attachment; filename="event.ics"'}
    )
