"""The embedded test provider: no money moves; the buyer confirms or declines on a test-mode page."""

from __future__ import annotations

import uuid

from bilten.payments.base import PaymentRequest, PaymentStart

TEST_PROVIDER = "test"


class TestPaymentProvider:
    identifier = TEST_PROVIDER
    local = True

    def start(self, request: PaymentRequest) -> PaymentStart:
        # The order page itself shows the test-mode "pay / decline" panel.
        return PaymentStart(provider_reference=f"test_{request.payment_id}", checkout_url=request.cancel_url)

    def cancel(self, provider_reference: str) -> None:
        return None

    def refund(self, *, provider_payment_id: str, amount_minor: int, idempotency_key: str) -> str:
        return f"test_refund_{uuid.uuid5(uuid.NAMESPACE_URL, idempotency_key).hex[:16]}"

    def parse_webhook(self, headers: dict[str, str], raw_body: bytes):  # noqa: ANN201
        return None  # test payments are confirmed through Bilten itself, never by webhook
