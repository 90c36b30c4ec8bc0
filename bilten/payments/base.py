"""The payment provider interface: every way to pay goes through these four calls."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol


class UpdateKind(StrEnum):
    CONFIRMED = "confirmed"
    FAILED = "failed"
    CANCELED = "canceled"
    REFUNDED = "refunded"


@dataclass(frozen=True)
class PaymentRequest:
    """What a provider needs to collect money for one order."""

    order_id: str
    payment_id: str  # our Payment row id: the idempotency key towards the provider
    amount_minor: int
    currency: str
    description: str
    buyer_email: str
    line_items: list[tuple[str, int, int]] = field(default_factory=list)  # (name, unit price minor, quantity)
    success_url: str = ""
    cancel_url: str = ""


@dataclass(frozen=True)
class PaymentStart:
    provider_reference: str  # e.g. Stripe Checkout Session id
    checkout_url: str  # where the buyer goes to pay


@dataclass(frozen=True)
class PaymentUpdate:
    """A provider's word about a payment, parsed and authenticated."""

    event_id: str  # the provider's event id: each is applied once
    kind: UpdateKind
    provider_reference: str
    order_id: str | None
    amount_minor: int | None
    currency: str | None
    provider_payment_id: str = ""


class InvalidWebhook(Exception):
    """The webhook is not authentic (bad signature, too old) or cannot be read."""


class ProviderUnavailable(Exception):
    """The provider could not be reached or refused the request."""


class PaymentProvider(Protocol):
    identifier: str
    local: bool  # start() needs no network: it may run inside a database transaction

    def start(self, request: PaymentRequest) -> PaymentStart: ...

    def cancel(self, provider_reference: str) -> None:
        """Make an unpaid checkout unpayable (best effort)."""

    def refund(self, *, provider_payment_id: str, amount_minor: int, idempotency_key: str) -> str:
        """Refund money; returns the provider's refund id."""

    def parse_webhook(self, headers: dict[str, str], raw_body: bytes) -> PaymentUpdate | None:
        """An authenticated update, None for events we do not act on, InvalidWebhook if not authentic."""
