"""Log lines: readable (LOG_FORMAT=console, the default) or one JSON object a line (LOG_FORMAT=json).

Every line carries the timestamp, level, logger, message and, inside a request or a state event,
its request id, user id and route; an API request's own line adds method, status and duration.
Before any line is written, secrets are taken out (`Redactor`): values of fields named like a
password, token, secret, authorization or key, bearer tokens, Stripe keys, JWTs and device tokens
anywhere in the text, and email addresses are masked to their first letter and domain
(j***@example.com). The filter sits on the handler, so lines of every library pass through it.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

from pythonjsonlogger.json import JsonFormatter

from bilten.observability import context

REDACTED = "[redacted]"
_SENSITIVE_NAME = re.compile(r"(?i)pass(word|wd)?|token|secret|authorization|cookie|api[_-]?key|signature|otp")
_SCRUBS: list[tuple[re.Pattern[str], str]] = [
    # key=value, key: value, "key": "value" (JSON, query strings, headers, reprs)
    (
        re.compile(
            r"""(?i)((?:password|passwd|pwd|token|secret|authorization|cookie|api[_-]?key|signature|otp)\w*)"""
            r"""(["']?\s*[:=]\s*["']?)(?:bearer\s+)?([^"'\s&,;}\]]+)"""
        ),
        r"\1\2" + REDACTED,
    ),
    (re.compile(r"(?i)\bbearer\s+[^\s\"',;]+"), "Bearer " + REDACTED),
    (re.compile(r"\b(?:sk|rk|pk)_(?:test|live)_[A-Za-z0-9]+"), REDACTED),  # Stripe keys
    (re.compile(r"\bwhsec_[A-Za-z0-9]+"), REDACTED),  # Stripe webhook secrets
    (re.compile(r"\beyJ[\w-]+\.[\w-]+\.[\w-]+"), REDACTED),  # JWTs (access and refresh tokens)
    (re.compile(r"\bbdv_[\w-]+"), REDACTED),  # scanning devices' tokens
    (re.compile(r"([A-Za-z0-9])[A-Za-z0-9._%+-]*@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})"), r"\1***@\2"),
]
# What a LogRecord carries anyway: everything else on it came from `extra=`.
_STANDARD_ATTRS = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}
# Fields this package fills with values it made itself (a checked request id, a route template, a
# uuid, numbers): they pass the redactor as they are.
_OWN_FIELDS = frozenset({"request_id", "route", "user_id", "method", "status", "duration_ms", "outcome", "event"})


def scrub(text: str) -> str:
    """The text with secrets replaced and email addresses masked."""
    # Every pattern above needs one of these; most log text has none (a few string scans, no regex).
    if not ("@" in text or "=" in text or ":" in text or "_" in text or "eyJ" in text or "earer" in text.lower()):
        return text
    for pattern, replacement in _SCRUBS:
        text = pattern.sub(replacement, text)
    return text


_sensitive_names: dict[str, bool] = {}


def _is_sensitive(name: str) -> bool:
    known = _sensitive_names.get(name)
    if known is None:
        known = bool(_SENSITIVE_NAME.search(name))
        if len(_sensitive_names) < 4096:
            _sensitive_names[name] = known
    return known


def _scrub_value(name: str, value: Any) -> Any:
    if _is_sensitive(name):
        return REDACTED
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, int | float | bool) or value is None:
        return value
    if isinstance(value, dict):
        return {key: _scrub_value(str(key), item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub_value(name, item) for item in value]
    return scrub(str(value))


class Redactor(logging.Filter):
    """Takes secrets and full email addresses out of every record (message, extras, traceback)."""

    def filter(self, record: logging.LogRecord) -> bool:
        fields = record.__dict__
        if fields.get("_bilten_scrubbed"):
            return True
        if record.args:
            try:
                message = record.getMessage()
            except Exception:  # noqa: BLE001 - a bad format string still gets logged
                message = str(record.msg)
            record.msg, record.args = scrub(message), None
        elif isinstance(record.msg, str):
            record.msg = scrub(record.msg)
        else:
            record.msg = scrub(str(record.msg))
        if record.exc_info:
            record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = scrub(record.exc_text)
        for name in fields.keys() - _STANDARD_ATTRS - _OWN_FIELDS:
            fields[name] = _scrub_value(name, fields[name])
        fields["_bilten_scrubbed"] = True
        return True


class ContextFields(logging.Filter):
    """Adds the current request's id, user and route to every record made inside it."""

    def filter(self, record: logging.LogRecord) -> bool:
        current = context.current()
        if current is not None:
            record.__dict__.setdefault("request_id", current.request_id)
            if current.user_id is not None:
                record.__dict__.setdefault("user_id", current.user_id)
            if current.route:
                record.__dict__.setdefault("route", current.route)
        return True


class ConsoleFormatter(logging.Formatter):
    """`time LEVEL logger [request id] message key=value ...` for people reading a terminal."""

    _FIELDS = ("user_id", "route", "method", "status", "duration_ms", "event", "outcome", "error")

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = " ".join(f"{k}={record.__dict__[k]}" for k in self._FIELDS if record.__dict__.get(k) is not None)
        request_id = record.__dict__.get("request_id")
        head, _, tail = line.partition("\n")  # a traceback stays below the line
        if request_id:
            head = f"{head} [{request_id}]"
        if extras:
            head = f"{head} {extras}"
        return head + ("\n" + tail if tail else "")


def json_formatter() -> logging.Formatter:
    return JsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s",
        rename_fields={"asctime": "timestamp", "levelname": "level", "name": "logger", "exc_info": "exception"},
        datefmt="%Y-%m-%dT%H:%M:%S%z",
        reserved_attrs=[*sorted(_STANDARD_ATTRS - {"message", "asctime"}), "_bilten_scrubbed"],
        json_ensure_ascii=False,
    )


class _Handler(logging.StreamHandler):
    """The handler `configure_logging` installs (recognised, so configuring again replaces it)."""


def make_handler(log_format: str, stream: Any = None) -> logging.Handler:
    handler = _Handler(stream or sys.stderr)
    handler.setFormatter(json_formatter() if log_format == "json" else ConsoleFormatter())
    handler.addFilter(ContextFields())
    handler.addFilter(Redactor())
    return handler


def configure_logging(log_format: str | None = None, level: str | None = None, stream: Any = None) -> None:
    """Send the root logger's lines to stderr (or `stream`) in LOG_FORMAT at LOG_LEVEL."""
    from bilten.settings import get_settings

    settings = get_settings()
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(old)
    root.addHandler(make_handler(log_format or settings.log_format, stream))
    root.setLevel(level or settings.log_level)
