"""Payment providers, chosen from settings: Stripe when STRIPE_SECRET_KEY is set, else test payments."""

from __future__ import annotations

from functools import lru_cache

from bilten.payments.base import PaymentProvider
from bilten.payments.stripe import STRIPE_PROVIDER, StripePaymentProvider
from bilten.payments.test import TEST_PROVIDER, TestPaymentProvider
from bilten.settings import ConfigurationError, get_settings


@lru_cache
def provider_registry() -> dict[str, PaymentProvider]:
    settings = get_settings()
    if settings.stripe_secret_key:
        if not settings.stripe_webhook_secret:
            raise ConfigurationError("STRIPE_WEBHOOK_SECRET is required with STRIPE_SECRET_KEY")
        return {
            STRIPE_PROVIDER: StripePaymentProvider(
                secret_key=settings.stripe_secret_key,
                webhook_secret=settings.stripe_webhook_secret,
                api_base=settings.stripe_api_base,
            )
        }
    return {TEST_PROVIDER: TestPaymentProvider()}


def active_provider() -> PaymentProvider:
    """The provider new orders pay with."""
    return next(iter(provider_registry().values()))


def get_provider(identifier: str) -> PaymentProvider | None:
    return provider_registry().get(identifier)


def is_test_mode() -> bool:
    return TEST_PROVIDER in provider_registry()


__all__ = ["active_provider", "get_provider", "provider_registry", "is_test_mode"]
