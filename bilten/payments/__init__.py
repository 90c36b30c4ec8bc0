"""Payment providers, chosen from settings (`Settings.effective_payment_provider`): Stripe, test
payments, or none at all.

Test payments hand out paid tickets for nothing, so they are on only in demo mode or when
PAYMENT_PROVIDER=test says so explicitly; a server with neither Stripe nor that sells free tickets
only (paid types answer `payments_not_configured`)."""

from __future__ import annotations

import logging
from functools import lru_cache

from bilten.payments.base import PaymentProvider
from bilten.payments.stripe import STRIPE_PROVIDER, StripePaymentProvider
from bilten.payments.test import TEST_PROVIDER, TestPaymentProvider
from bilten.settings import ConfigurationError, get_settings

log = logging.getLogger(__name__)


@lru_cache
def provider_registry() -> dict[str, PaymentProvider]:
    """The active provider by identifier: one entry, or none when payments are not configured."""
    settings = get_settings()
    chosen = settings.effective_payment_provider
    if chosen == STRIPE_PROVIDER:
        if not settings.stripe_webhook_secret:
            raise ConfigurationError("STRIPE_WEBHOOK_SECRET is required with STRIPE_SECRET_KEY")
        return {
            STRIPE_PROVIDER: StripePaymentProvider(
                secret_key=settings.stripe_secret_key,
                webhook_secret=settings.stripe_webhook_secret,
                api_base=settings.stripe_api_base,
            )
        }
    if chosen == TEST_PROVIDER:
        return {TEST_PROVIDER: TestPaymentProvider()}
    return {}


def active_provider() -> PaymentProvider | None:
    """The provider new orders pay with; None when no payments are configured."""
    return next(iter(provider_registry().values()), None)


def get_provider(identifier: str) -> PaymentProvider | None:
    return provider_registry().get(identifier)


def is_test_mode() -> bool:
    return TEST_PROVIDER in provider_registry()


def payments_configured() -> bool:
    return bool(provider_registry())


def payment_setup_warnings() -> list[str]:
    """What an operator must hear at start: free tickets for anyone, or no way to sell paid ones."""
    settings = get_settings()
    if is_test_mode() and not settings.demo:
        return [
            "PAYMENT_PROVIDER=test outside demo mode: no money moves and anyone can get paid tickets "
            "for free. Never run a public server like this."
        ]
    if not payments_configured():
        return [
            "No payment provider configured (set STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET): "
            "only free tickets can be sold."
        ]
    return []


def warn_about_payment_setup() -> None:
    """Run at start (a lifespan task of every web worker)."""
    for warning in payment_setup_warnings():
        log.warning(warning)


__all__ = [
    "active_provider",
    "get_provider",
    "is_test_mode",
    "payment_setup_warnings",
    "payments_configured",
    "provider_registry",
    "warn_about_payment_setup",
]
