"""All configuration in one place, read from the environment and `.env`.

Demo mode (`BILTEN_DEMO=1`, what `make run` uses) may generate its own secret key and store it in
a local file; anywhere else a missing or default secret stops the app from starting.
"""

from __future__ import annotations

import ipaddress
import re
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from limits import parse_many
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SUPPORTED_LOCALES = ("en", "ar", "de", "es", "fr", "it")
MIN_SECRET_KEY_LENGTH = 32
TWO_FACTOR_GROUPS = frozenset({"admins", "owners"})
_PREFIX_PART = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]*$")


class ConfigurationError(RuntimeError):
    """The settings cannot run the app safely."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    database_url: str = Field("sqlite:///bilten.db", alias="DATABASE_URL")
    redis_url: str | None = Field(None, alias="REDIS_URL")
    # Per process: workers x (pool + overflow) must stay under PostgreSQL's max_connections (100).
    db_pool_size: int = Field(5, alias="DB_POOL_SIZE")
    db_max_overflow: int = Field(10, alias="DB_MAX_OVERFLOW")
    secret_key: str | None = Field(None, alias="SECRET_KEY")
    secret_key_file: Path = Field(PROJECT_ROOT / ".secret_key", alias="SECRET_KEY_FILE")
    demo: bool = Field(False, alias="BILTEN_DEMO")

    public_url: str = Field("http://localhost:3000", alias="PUBLIC_URL")
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list, alias="CORS_ORIGINS")
    default_locale: str = Field("en", alias="DEFAULT_LOCALE")

    stripe_secret_key: str | None = Field(None, alias="STRIPE_SECRET_KEY")
    stripe_publishable_key: str | None = Field(None, alias="STRIPE_PUBLISHABLE_KEY")
    stripe_webhook_secret: str | None = Field(None, alias="STRIPE_WEBHOOK_SECRET")
    stripe_api_base: str | None = Field(None, alias="STRIPE_API_BASE")
    # How new orders are paid: "stripe", "test" (no money moves: anyone gets paid tickets for free, so
    # never on a public server) or "none". Unset: Stripe when STRIPE_SECRET_KEY is set, test payments
    # in demo mode, otherwise none (paid ticket types cannot be bought; free ones can).
    payment_provider: Literal["stripe", "test", "none"] | None = Field(None, alias="PAYMENT_PROVIDER")

    smtp_host: str | None = Field(None, alias="SMTP_HOST")
    smtp_port: int = Field(587, alias="SMTP_PORT")
    smtp_user: str | None = Field(None, alias="SMTP_USER")
    smtp_password: str | None = Field(None, alias="SMTP_PASSWORD")
    smtp_tls: bool = Field(True, alias="SMTP_TLS")
    mail_from: str = Field("Bilten <tickets@localhost>", alias="MAIL_FROM")

    hold_minutes: int = Field(15, alias="HOLD_MINUTES")
    sweep_interval_seconds: int = Field(5, alias="SWEEP_INTERVAL_SECONDS")
    # The hold sweeper's pace (bilten/tasks.py): expired holds per transaction, and the share of
    # the time it works in a rush (it rests between batches in proportion to their time).
    sweep_batch_size: int = Field(200, alias="SWEEP_BATCH_SIZE", ge=1, le=5000)
    sweep_duty_cycle: float = Field(0.5, alias="SWEEP_DUTY_CYCLE", gt=0, le=1)
    sweep_min_rate: int = Field(2000, alias="SWEEP_MIN_RATE", ge=0)  # holds/s the pacing never goes below; 0 = none
    # Live "N left" (bilten/live_inventory.py): how many events one browser connection may follow.
    live_events_per_connection: int = Field(4, alias="LIVE_EVENTS_PER_CONNECTION", ge=1)
    # Frames a second one process writes to its tabs for live counts at most, while its audience is
    # under this x 0.6 s tabs: the gap between two counts of an event grows with the tabs watching.
    # 1,000 x ~30 us per frame = ~3 % of a core per process: 2,000 pages over 3 processes get a
    # count every 0.6 s (p95 0.74 s), and a rush of sales keeps the CPU (bench/README.md, #13).
    live_frames_per_second: int = Field(1000, alias="LIVE_FRAMES_PER_SECOND", ge=100)
    # Background exports (attendees, orders): where their files are kept, and for how long.
    export_dir: Path = Field(PROJECT_ROOT / "exports", alias="EXPORT_DIR")
    export_retention_hours: int = Field(24, alias="EXPORT_RETENTION_HOURS")
    # Uploaded event pictures (re-encoded, random names), served at /api/media/<name>.
    media_dir: Path = Field(PROJECT_ROOT / "data" / "media", alias="MEDIA_DIR")
    max_upload_mb: int = Field(5, alias="MAX_UPLOAD_MB")
    # Where pictures and exports are kept (bilten/storage.py): "local" = MEDIA_DIR and EXPORT_DIR on
    # this host; "s3" = one bucket of an S3-compatible object store that every host shares.
    storage_backend: Literal["local", "s3"] = Field("local", alias="STORAGE_BACKEND")
    s3_bucket: str | None = Field(None, alias="S3_BUCKET")
    s3_endpoint_url: str | None = Field(None, alias="S3_ENDPOINT_URL")  # unset = AWS S3
    s3_region: str | None = Field(None, alias="S3_REGION")
    s3_access_key_id: str | None = Field(None, alias="S3_ACCESS_KEY_ID")  # unset = boto3's usual lookup
    s3_secret_access_key: SecretStr | None = Field(None, alias="S3_SECRET_ACCESS_KEY")
    s3_prefix: str = Field("", alias="S3_PREFIX")  # e.g. "bilten": objects under bilten/media/, bilten/exports/
    # Abuse protection (bilten/ratelimit.py, bilten/api/body_limit.py, bilten/image_pool.py).
    # Any other request body (JSON) is refused above this size, before it is read whole.
    max_body_kb: int = Field(1024, alias="MAX_BODY_KB")
    # Pictures are decoded and resized in this many processes per web worker, off the request slots...
    image_workers: int = Field(1, alias="IMAGE_WORKERS")
    # ...with at most this many pictures per web worker being processed or waiting; more get 503.
    image_queue: int = Field(8, alias="IMAGE_QUEUE")
    # Reverse proxies whose X-Forwarded-For is believed (addresses or CIDRs); empty = the socket's peer.
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list, alias="TRUSTED_PROXIES")
    # Rate limits (the `limits` syntax, several joined by ";"; empty = none), per client address
    # and per account (the email, the signed-in user, the order or the scanning device).
    rate_limit_login: str = Field("10/minute;60/hour", alias="RATE_LIMIT_LOGIN")
    rate_limit_login_account: str = Field("10/minute;40/hour", alias="RATE_LIMIT_LOGIN_ACCOUNT")
    rate_limit_register: str = Field("5/minute;20/hour", alias="RATE_LIMIT_REGISTER")
    rate_limit_password_reset: str = Field("5/minute;20/hour", alias="RATE_LIMIT_PASSWORD_RESET")
    rate_limit_password_reset_account: str = Field("3/hour", alias="RATE_LIMIT_PASSWORD_RESET_ACCOUNT")
    rate_limit_order: str = Field("20/minute;200/hour", alias="RATE_LIMIT_ORDER")
    rate_limit_order_account: str = Field("10/minute;60/hour", alias="RATE_LIMIT_ORDER_ACCOUNT")
    rate_limit_resend: str = Field("10/hour", alias="RATE_LIMIT_RESEND")
    rate_limit_resend_account: str = Field("5/hour", alias="RATE_LIMIT_RESEND_ACCOUNT")
    rate_limit_device_sign_in: str = Field("10/minute;60/hour", alias="RATE_LIMIT_DEVICE_SIGN_IN")
    rate_limit_device_sign_in_account: str = Field("5/minute", alias="RATE_LIMIT_DEVICE_SIGN_IN_ACCOUNT")
    rate_limit_validate: str = Field("3000/minute", alias="RATE_LIMIT_VALIDATE")
    rate_limit_validate_device: str = Field("300/minute", alias="RATE_LIMIT_VALIDATE_DEVICE")
    rate_limit_upload: str = Field("20/minute;100/hour", alias="RATE_LIMIT_UPLOAD")
    rate_limit_upload_account: str = Field("10/minute;60/hour", alias="RATE_LIMIT_UPLOAD_ACCOUNT")
    rate_limit_transfer: str = Field("10/minute;30/hour", alias="RATE_LIMIT_TRANSFER")
    rate_limit_transfer_account: str = Field("5/hour", alias="RATE_LIMIT_TRANSFER_ACCOUNT")
    # Wrong voucher codes per address (guessing codes): only codes that do not exist count.
    rate_limit_voucher: str = Field("10/minute;30/hour", alias="RATE_LIMIT_VOUCHER")
    rate_limit_waiting_list: str = Field("10/minute;50/hour", alias="RATE_LIMIT_WAITING_LIST")
    rate_limit_waiting_list_account: str = Field("5/hour", alias="RATE_LIMIT_WAITING_LIST_ACCOUNT")

    # Observability (bilten/observability/): GET /api/metrics answers loopback and private addresses,
    # and anyone else only with `Authorization: Bearer $METRICS_TOKEN` (unset: nobody else).
    metrics_token: str | None = Field(None, alias="METRICS_TOKEN")
    # Where every process of this host (web workers, `bilten worker`) writes its metric files; the
    # files of processes that are gone are removed when a server or worker starts. Unset: data/metrics.
    prometheus_multiproc_dir: Path = Field(PROJECT_ROOT / "data" / "metrics", alias="PROMETHEUS_MULTIPROC_DIR")
    # Logs: "console" (readable lines, the default) or "json" (one JSON object a line), and the level.
    log_format: Literal["console", "json"] = Field("console", alias="LOG_FORMAT")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", alias="LOG_LEVEL")

    access_token_minutes: int = Field(15, alias="ACCESS_TOKEN_MINUTES")
    refresh_token_days: int = Field(30, alias="REFRESH_TOKEN_DAYS")
    session_idle_minutes: int = Field(60 * 24, alias="SESSION_IDLE_MINUTES")
    session_max_days: int = Field(14, alias="SESSION_MAX_DAYS")
    # Who must sign in with a one-time code (TOTP) before using the admin or organizer areas:
    # "admins", "owners" (organization owners), both, or "none". Unset: both, except in demo mode
    # (BILTEN_DEMO=1), where nobody is forced (the demo accounts may still enrol).
    require_2fa: Annotated[frozenset[str] | None, NoDecode] = Field(None, alias="REQUIRE_2FA")
    login_max_failures: int = Field(10, alias="LOGIN_MAX_FAILURES")
    login_lock_minutes: int = Field(15, alias="LOGIN_LOCK_MINUTES")
    # The unlock link emailed with a lock lets its owner in for this long after they follow it.
    login_unlock_pass_minutes: int = Field(60, alias="LOGIN_UNLOCK_PASS_MINUTES")
    # How long the link in the email-verification message works.
    email_verification_hours: int = Field(48, alias="EMAIL_VERIFICATION_HOURS")

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip().rstrip("/") for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("require_2fa", mode="before")
    @classmethod
    def _split_require_2fa(cls, value: object) -> object:
        if isinstance(value, str):
            groups = {part.strip().lower() for part in value.split(",") if part.strip()} - {"none"}
            unknown = groups - TWO_FACTOR_GROUPS
            if unknown:
                raise ConfigurationError(f"REQUIRE_2FA takes admins, owners or none, not {', '.join(sorted(unknown))}")
            return frozenset(groups)
        return value

    @property
    def two_factor_groups(self) -> frozenset[str]:
        """Who must use two-factor sign-in (see REQUIRE_2FA)."""
        if self.require_2fa is not None:
            return self.require_2fa
        return frozenset() if self.demo else TWO_FACTOR_GROUPS

    @field_validator("log_format", "log_level", mode="before")
    @classmethod
    def _normalize_log_setting(cls, value: object, info: object) -> object:
        if isinstance(value, str):
            value = value.strip()
            return value.upper() if getattr(info, "field_name", "") == "log_level" else value.lower()
        return value

    @field_validator("payment_provider", mode="before")
    @classmethod
    def _blank_provider_is_unset(cls, value: object) -> object:
        if isinstance(value, str):
            return value.strip().lower() or None
        return value

    @field_validator("s3_prefix")
    @classmethod
    def _check_s3_prefix(cls, value: str) -> str:
        value = value.strip().strip("/")
        if value and not all(
            part and part not in (".", "..") and _PREFIX_PART.match(part) for part in value.split("/")
        ):
            raise ConfigurationError(f"S3_PREFIX: {value!r} may hold letters, digits, . _ - and / only")
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, value: object) -> object:
        if isinstance(value, str):
            return [proxy.strip() for proxy in value.split(",") if proxy.strip()]
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _check_proxies(cls, value: list[str]) -> list[str]:
        for proxy in value:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError as exc:
                raise ConfigurationError(f"TRUSTED_PROXIES: {proxy!r} is no address or CIDR") from exc
        return value

    @field_validator(
        "rate_limit_login",
        "rate_limit_login_account",
        "rate_limit_register",
        "rate_limit_password_reset",
        "rate_limit_password_reset_account",
        "rate_limit_order",
        "rate_limit_order_account",
        "rate_limit_resend",
        "rate_limit_resend_account",
        "rate_limit_device_sign_in",
        "rate_limit_device_sign_in_account",
        "rate_limit_validate",
        "rate_limit_validate_device",
        "rate_limit_upload",
        "rate_limit_upload_account",
        "rate_limit_transfer",
        "rate_limit_transfer_account",
        "rate_limit_voucher",
        "rate_limit_waiting_list",
        "rate_limit_waiting_list_account",
    )
    @classmethod
    def _check_rate_limit(cls, value: str) -> str:
        if value.strip():
            try:
                parse_many(value)
            except ValueError as exc:
                raise ConfigurationError(f"{value!r} is no rate limit (e.g. 10/minute;60/hour)") from exc
        return value.strip()

    @model_validator(mode="after")
    def _check(self) -> Settings:
        if self.default_locale not in SUPPORTED_LOCALES:
            raise ConfigurationError(f"DEFAULT_LOCALE must be one of {', '.join(SUPPORTED_LOCALES)}")
        if self.payment_provider == "stripe" and not self.stripe_secret_key:
            raise ConfigurationError("PAYMENT_PROVIDER=stripe needs STRIPE_SECRET_KEY")
        if self.storage_backend == "s3" and not self.s3_bucket:
            raise ConfigurationError("STORAGE_BACKEND=s3 needs S3_BUCKET")
        if self.payment_provider == "test" and self.stripe_secret_key:
            raise ConfigurationError("PAYMENT_PROVIDER=test and STRIPE_SECRET_KEY are both set: choose one")
        return self

    @property
    def effective_payment_provider(self) -> str:
        """ "stripe", "test" or "none": PAYMENT_PROVIDER, or what the other settings imply."""
        if self.payment_provider is not None:
            return self.payment_provider
        if self.stripe_secret_key:
            return "stripe"
        return "test" if self.demo else "none"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def allowed_origins(self) -> list[str]:
        """Origins allowed to open the websocket and call the API from a browser."""
        if self.cors_origins:
            return self.cors_origins
        origin = self.public_url.rstrip("/")
        # The same machine under its other local name, so `make run` works from either address.
        twins = {"//localhost": "//127.0.0.1", "//127.0.0.1": "//localhost"}
        return [origin] + [origin.replace(a, b) for a, b in twins.items() if a in origin]

    def resolved_secret_key(self) -> str:
        """The signing key: from the environment, or (demo only) generated once into a file."""
        if self.secret_key:
            if len(self.secret_key) < MIN_SECRET_KEY_LENGTH or "change" in self.secret_key.lower():
                raise ConfigurationError(
                    f"SECRET_KEY must be a random string of at least {MIN_SECRET_KEY_LENGTH} characters"
                )
            return self.secret_key
        if not self.demo:
            raise ConfigurationError("SECRET_KEY is required unless BILTEN_DEMO=1")
        if self.secret_key_file.exists():
            return self.secret_key_file.read_text().strip()
        key = secrets.token_urlsafe(48)
        self.secret_key_file.write_text(key)
        self.secret_key_file.chmod(0o600)
        return key


@lru_cache
def get_settings() -> Settings:
    return Settings()


@lru_cache
def get_secret_key() -> str:
    return get_settings().resolved_secret_key()
