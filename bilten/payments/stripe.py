"""Stripe Checkout: a hosted payment page per order, webhooks to learn the outcome, refunds."""

from __future__ import annotations

import stripe

from bilten import clock as app_clock
from bilten.payments.base import (
    InvalidWebhook,
    PaymentRequest,
    PaymentStart,
    PaymentUpdate,
    ProviderUnavailable,
    UpdateKind,
)

STRIPE_PROVIDER = "stripe"
WEBHOOK_TOLERANCE_SECONDS = 300
# Stripe lets a Checkout Session live 30 minutes at the least; our shorter holds expire it explicitly.
STRIPE_MIN_SESSION_SECONDS = 30 * 60 + 60

SESSION_EVENT_KINDS = {
    "checkout.session.completed": UpdateKind.CONFIRMED,
    "checkout.session.async_payment_succeeded": UpdateKind.CONFIRMED,
    "checkout.session.async_payment_failed": UpdateKind.FAILED,
    "checkout.session.expired": UpdateKind.CANCELED,
}


class StripePaymentProvider:
    identifier = STRIPE_PROVIDER
    local = False

    def __init__(
        self, *, secret_key: str, webhook_secret: str, api_base: str | None = None, clock=app_clock.now
    ) -> None:  # noqa: ANN001
        base = {"api": api_base} if api_base else None
        self.client = stripe.StripeClient(secret_key, base_addresses=base, max_network_retries=2)
        self.webhook_secret = webhook_secret
        self.clock = clock

    def start(self, request: PaymentRequest) -> PaymentStart:
        params = {
            "mode": "payment",
            "client_reference_id": request.order_id,
            "customer_email": request.buyer_email,
            "metadata": {"order_id": request.order_id, "payment_id": request.payment_id},
            "payment_intent_data": {"metadata": {"order_id": request.order_id}},
            "line_items": [
                {
                    "quantity": quantity,
                    "price_data": {
                        "currency": request.currency.lower(),
                        "unit_amount": unit_price,
                        "product_data": {"name": name},
                    },
                }
                for name, unit_price, quantity in request.line_items
            ],
            "success_url": request.success_url,
            "cancel_url": request.cancel_url,
            "expires_at": int(self.clock().timestamp()) + STRIPE_MIN_SESSION_SECONDS,
        }
        try:
            session = self.client.v1.checkout.sessions.create(
                params, options={"idempotency_key": f"checkout-{request.payment_id}"}
            )
        except stripe.StripeError as exc:
            raise ProviderUnavailable(str(exc)) from exc
        return PaymentStart(provider_reference=session.id, checkout_url=session.url or "")

    def cancel(self, provider_reference: str) -> None:
        try:
            self.client.v1.checkout.sessions.expire(provider_reference)
        except stripe.InvalidRequestError:
            return None  # already completed or expired: the webhook tells us which
        except stripe.StripeError as exc:
            raise ProviderUnavailable(str(exc)) from exc

    def refund(self, *, provider_payment_id: str, amount_minor: int, idempotency_key: str) -> str:
        try:
            refund = self.client.v1.refunds.create(
                {"payment_intent": provider_payment_id, "amount": amount_minor},
                options={"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as exc:
            raise ProviderUnavailable(str(exc)) from exc
        return refund.id

    def parse_webhook(self, headers: dict[str, str], raw_body: bytes) -> PaymentUpdate | None:
        signature = headers.get("stripe-signature")
        try:
            event = stripe.Webhook.construct_event(
                raw_body, signature, self.webhook_secret, tolerance=WEBHOOK_TOLERANCE_SECONDS
            )
        except (stripe.SignatureVerificationError, ValueError) as exc:
            raise InvalidWebhook(str(exc)) from exc
        kind = SESSION_EVENT_KINDS.get(event.type)
        if kind is None:
            return None
        session = event.data.object.to_dict()
        if event.type == "checkout.session.completed" and session.get("payment_status") != "paid":
            return None  # delayed methods: async_payment_succeeded follows
        metadata = session.get("metadata") or {}
        currency = session.get("currency")
        return PaymentUpdate(
            event_id=event.id,
            kind=kind,
            provider_reference=session.get("id", ""),
            order_id=metadata.get("order_id") or session.get("client_reference_id"),
            amount_minor=session.get("amount_total"),
            currency=currency.upper() if currency else None,
            provider_payment_id=session.get("payment_intent") or "",
        )
