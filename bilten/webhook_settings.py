"""Settings of outgoing webhooks, read from the environment and `.env` like bilten.settings.

Kept apart from the main Settings so the webhook code carries its own knobs; tests shorten the
delays with WEBHOOK_RETRY_DELAYS and let deliveries reach a local receiver with
WEBHOOK_ALLOW_PRIVATE_TARGETS=1.
"""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class WebhookSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    demo: bool = Field(False, alias="BILTEN_DEMO")
    # Loopback, private, link-local, ... targets are refused (SSRF) unless this is on (or demo mode).
    allow_private_targets: bool = Field(False, alias="WEBHOOK_ALLOW_PRIVATE_TARGETS")
    connect_timeout_seconds: float = Field(5.0, gt=0, alias="WEBHOOK_CONNECT_TIMEOUT_SECONDS")
    timeout_seconds: float = Field(10.0, gt=0, alias="WEBHOOK_TIMEOUT_SECONDS")
    # Seconds to wait after the 1st, 2nd, ... failed attempt; one more attempt than delays.
    retry_delays: Annotated[tuple[float, ...], NoDecode] = Field(
        (60, 300, 1800, 7200, 6 * 3600, 12 * 3600, 24 * 3600), alias="WEBHOOK_RETRY_DELAYS"
    )
    # An endpoint is switched off after this many failed attempts in a row (its owners get an email).
    disable_after_failures: int = Field(10, ge=1, alias="WEBHOOK_DISABLE_AFTER_FAILURES")
    lease_seconds: float = Field(120, gt=0, alias="WEBHOOK_LEASE_SECONDS")
    batch_size: int = Field(20, ge=1, alias="WEBHOOK_BATCH_SIZE")
    # Signatures older than this are refused by receivers following the README (replays).
    tolerance_seconds: int = Field(300, alias="WEBHOOK_TOLERANCE_SECONDS")

    @field_validator("retry_delays", mode="before")
    @classmethod
    def _split_delays(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(float(part) for part in value.split(",") if part.strip())
        return value

    @property
    def private_targets_allowed(self) -> bool:
        return self.allow_private_targets or self.demo

    @property
    def max_attempts(self) -> int:
        return len(self.retry_delays) + 1

    def delay_after(self, attempts: int) -> timedelta | None:
        """How long to wait after `attempts` failed attempts in this round; None when none are left."""
        if attempts >= self.max_attempts:
            return None
        return timedelta(seconds=self.retry_delays[max(attempts, 1) - 1])


@lru_cache
def get_webhook_settings() -> WebhookSettings:
    return WebhookSettings()
