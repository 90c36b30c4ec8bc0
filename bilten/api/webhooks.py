"""`POST /api/v1/webhooks/stripe`: Stripe tells us about payments. Signature checked on the raw body."""

from __future__ import annotations

import logging
from datetime import datetime

from fastapi import Depends, Request
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from bilten.api.deps import get_now, get_session
from bilten.api.errors import error_responses
from bilten.api.routing import api_router
from bilten.payments import get_provider
from bilten.payments.base import InvalidWebhook, ProviderUnavailable
from bilten.payments.stripe import STRIPE_PROVIDER
from bilten.services import orders as order_service
from bilten.services.errors import InvalidSignature, NotFound

router = api_router(prefix="/api/v1/webhooks", tags=["webhooks"], responses=error_responses(400, 404, 422))
logger = logging.getLogger(__name__)


@router.post("/stripe")
async def stripe_webhook(
    request: Request, session: Session = Depends(get_session), now: datetime = Depends(get_now)
) -> dict:
    provider = get_provider(STRIPE_PROVIDER)
    if provider is None:
        raise NotFound()
    raw_body = await request.body()
    headers = {k.lower(): v for k, v in request.headers.items()}
    # Database work runs in a thread: this process's event loop also serves every open page.
    return await run_in_threadpool(_handle_stripe_event, provider, headers, raw_body, session, now)


def _handle_stripe_event(
    provider,
    headers: dict[str, str],
    raw_body: bytes,
    session: Session,  # noqa: ANN001
    now: datetime,
) -> dict:
    try:
        update = provider.parse_webhook(headers, raw_body)
    except InvalidWebhook as exc:
        raise InvalidSignature() from exc
    if update is None:
        return {"received": True, "result": "ignored"}
    outcome = order_service.apply_payment_update(session, provider=STRIPE_PROVIDER, update=update, now=now)
    if outcome.result == "refund_needed":
        try:
            order_service.refund_unbacked_payment(session, payment_id=outcome.payment_id, now=now)
        except ProviderUnavailable:
            # Stripe is told "received"; the sweeper retries the refund until it goes through.
            logger.warning("refund of late payment %s deferred", outcome.payment_id, exc_info=True)
    return {"received": True, "result": outcome.result}
