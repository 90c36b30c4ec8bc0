"""How notifications are delivered: retry schedule, leases, polling, where mail goes without SMTP.

Read from the environment (and `.env`) like bilten.settings, each with a default that suits
production; tests and benchmarks shorten the delays. The SMTP server itself is configured in
bilten.settings (SMTP_HOST, ...).
"""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bilten.settings import PROJECT_ROOT


class DeliveryConfig(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    # Seconds to wait after the 1st, 2nd, ... failed attempt; one more attempt than delays.
    retry_delays: Annotated[tuple[float, ...], NoDecode] = Field(
        (30, 120, 600, 3600, 6 * 3600), alias="NOTIFY_RETRY_DELAYS"
    )
    # A worker owns a claimed notification this long; if it dies, another takes over afterwards.
    lease_seconds: float = Field(300, alias="NOTIFY_LEASE_SECONDS")
    poll_seconds: float = Field(1.0, alias="NOTIFY_POLL_SECONDS")
    batch_size: int = Field(20, alias="NOTIFY_BATCH_SIZE")
    # Processes that render emails (QR codes, PDF) beside the in-process worker; 0 = render in the
    # worker itself. About the number of cores left over once the database has its share.
    render_processes: int = Field(0, ge=0, alias="NOTIFY_RENDER_PROCESSES")
    worker_threads: int = Field(4, alias="NOTIFY_WORKER_THREADS")
    smtp_timeout_seconds: float = Field(20, alias="SMTP_TIMEOUT_SECONDS")
    mail_outbox_dir: Path = Field(PROJECT_ROOT / "outbox-mail", alias="MAIL_OUTBOX_DIR")

    @field_validator("retry_delays", mode="before")
    @classmethod
    def _split_delays(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(float(part) for part in value.split(",") if part.strip())
        return value

    @property
    def max_attempts(self) -> int:
        return len(self.retry_delays) + 1

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.lease_seconds)

    def delay_after(self, attempts: int) -> timedelta | None:
        """How long to wait after `attempts` failed attempts; None when none are left."""
        if attempts >= self.max_attempts:
            return None
        return timedelta(seconds=self.retry_delays[max(attempts, 1) - 1])


@lru_cache
def get_delivery_config() -> DeliveryConfig:
    return DeliveryConfig()
