"""Where a finished email goes: an SMTP server, or (without one) `.eml` files in a local folder.

Every sender raises TransientDeliveryError for faults worth retrying (refusals with a 4xx code,
time-outs, dropped connections) and PermanentDeliveryError when retrying cannot help (5xx).
"""

from __future__ import annotations

import logging
import os
import re
import smtplib
import ssl
from pathlib import Path
from typing import Protocol

from bilten.notifications.mime import EncodedEmail
from bilten.settings import Settings

logger = logging.getLogger(__name__)

IMPLICIT_TLS_PORT = 465


class DeliveryError(Exception):
    permanent = False


class TransientDeliveryError(DeliveryError):
    """Try again later: the server is busy, slow or unreachable."""


class PermanentDeliveryError(DeliveryError):
    """The server refused for good (e.g. no such mailbox): retrying sends nothing."""

    permanent = True


class Sender(Protocol):
    def send(self, message: EncodedEmail, *, idempotency_key: str) -> None: ...

    def close(self) -> None: ...


class SmtpSender:
    """Sends through one SMTP connection, opened on first use and kept for the next message.

    After any error the connection is dropped, so the next message starts on a clean session.
    """

    def __init__(
        self,
        *,
        host: str,
        port: int,
        user: str | None = None,
        password: str | None = None,
        starttls: bool = True,
        timeout: float = 20.0,
    ) -> None:
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.starttls = starttls
        self.timeout = timeout
        self._connection: smtplib.SMTP | None = None

    def send(self, message: EncodedEmail, *, idempotency_key: str) -> None:
        try:
            connection = self._connection or self._connect()
            self._connection = connection
            # An internationalized address needs the server's SMTPUTF8 (smtplib refuses without it).
            options = () if message.data.isascii() else ("SMTPUTF8",)
            refused = connection.sendmail(
                message.envelope_from, [message.recipient], message.data, mail_options=options
            )
        except smtplib.SMTPRecipientsRefused as exc:
            self.close()
            codes = [code for code, _text in exc.recipients.values()]
            raise _classify(min(codes), f"recipient refused: {exc.recipients}") from exc
        except smtplib.SMTPAuthenticationError as exc:
            # A configuration fault, not the message's: keep retrying until someone fixes the settings.
            self.close()
            raise TransientDeliveryError(f"SMTP login refused: {exc.smtp_code} {exc.smtp_error!r}") from exc
        except smtplib.SMTPResponseException as exc:
            self.close()
            raise _classify(exc.smtp_code, f"SMTP {exc.smtp_code} {exc.smtp_error!r}") from exc
        except (smtplib.SMTPException, OSError) as exc:  # disconnects, time-outs, refused connections
            self.close()
            raise TransientDeliveryError(f"{type(exc).__name__}: {exc}") from exc
        if refused:  # some recipients of several refused; ours is always one
            raise _classify(min(code for code, _ in refused.values()), f"recipient refused: {refused}")

    def _connect(self) -> smtplib.SMTP:
        if self.port == IMPLICIT_TLS_PORT:
            connection: smtplib.SMTP = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=ssl.create_default_context()
            )
        else:
            connection = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            if self.starttls:
                connection.starttls(context=ssl.create_default_context())
        try:
            if self.user:
                connection.login(self.user, self.password or "")
        except Exception:
            connection.close()
            raise
        return connection

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            connection.quit()
        except (smtplib.SMTPException, OSError):
            connection.close()


def _classify(code: int, detail: str) -> DeliveryError:
    return PermanentDeliveryError(detail) if 500 <= code < 600 else TransientDeliveryError(detail)


class FileSender:
    """Writes each email as `<folder>/<idempotency key>.eml` (no SMTP server configured).

    The file is named after the notification, so delivering the same one again overwrites it
    instead of adding a second copy.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def send(self, message: EncodedEmail, *, idempotency_key: str) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            path = self.folder / f"{re.sub(r'[^A-Za-z0-9._-]+', '_', idempotency_key)}.eml"
            temporary = path.with_suffix(".eml.part")
            temporary.write_bytes(message.data)
            os.replace(temporary, path)  # readers never see half a file
        except OSError as exc:
            raise TransientDeliveryError(f"cannot write {self.folder}: {exc}") from exc
        logger.info("email to %s written to %s", message.recipient, path)

    def close(self) -> None:
        pass


def make_sender(settings: Settings, *, timeout: float, mail_folder: Path) -> Sender:
    if settings.smtp_host:
        return SmtpSender(
            host=settings.smtp_host,
            port=settings.smtp_port,
            user=settings.smtp_user,
            password=settings.smtp_password,
            starttls=settings.smtp_tls,
            timeout=timeout,
        )
    return FileSender(mail_folder)
