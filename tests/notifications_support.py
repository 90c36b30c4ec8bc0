"""Test helpers for notifications: a real SMTP server that can misbehave, an own Redis server,
and paid orders with properly signed tickets."""

from __future__ import annotations

import asyncio
import email
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

import redis
from aiosmtpd.controller import Controller
from sqlmodel import Session, select

from bilten.models import Event, Order, OrderLine, OrderStatus, OutboxEvent, Ticket, TicketType
from bilten.services.ticket_codes import load_private_key, sign_ticket_code
from bilten.services.ticket_references import generate_reference


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(
    condition: Callable[[], object], *, timeout: float = 20.0, interval: float = 0.05, what: str = "condition"
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class SmtpSink:
    """aiosmtpd on 127.0.0.1 that keeps what it accepts and misbehaves on request.

    `faults` is consumed one per message at the end of DATA: "451" (busy, try later), "550" (no such
    mailbox), "drop" (close the connection), "stall" (never answer: the client times out).
    `hold_after(n)` accepts n messages and then keeps every further one waiting at DATA, unanswered,
    until `release()`; a held message whose client went away is not delivered.
    """

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.faults: list[str] = []
        self.data_commands = 0
        self.held = 0
        self.abandoned = 0  # held messages whose client went away before an answer
        self._admit_limit: int | None = None
        self._admitted = 0
        self._released = threading.Event()
        self._lock = threading.Lock()
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SmtpSink:
        self.controller.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.release()
        self.controller.stop()

    def hold_after(self, count: int) -> None:
        self._admit_limit = count

    def release(self) -> None:
        self._released.set()

    def open(self) -> None:
        """Accept everything from now on."""
        self._admit_limit = None
        self._released.set()

    def recipients(self) -> list[str]:
        with self._lock:
            return [str(message["To"]) for message in self.messages]

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001 (aiosmtpd hook)
        with self._lock:
            self.data_commands += 1
            fault = self.faults.pop(0) if self.faults else None
            hold = self._admit_limit is not None and self._admitted >= self._admit_limit
            if not hold and fault is None:
                self._admitted += 1
        if fault == "451":
            return "451 4.3.0 Mailbox busy, try again later"
        if fault == "550":
            return "550 5.1.1 No such mailbox here"
        if fault == "drop":
            server.transport.close()
            await asyncio.sleep(5)  # cancelled by aiosmtpd once the connection is gone
        if fault == "stall":
            await asyncio.sleep(30)
        if hold:
            with self._lock:
                self.held += 1
            try:
                while not self._released.is_set():
                    await asyncio.sleep(0.02)
            except asyncio.CancelledError:  # the client died: aiosmtpd cancels us, nothing is delivered
                with self._lock:
                    self.abandoned += 1
                raise
        message = email.message_from_bytes(envelope.content, policy=default_policy)
        with self._lock:
            self.messages.append(message)
        return "250 2.0.0 Accepted"


class RedisServer:
    """A private redis-server on a free port, to stop and start again (never the shared one)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.2)
        wait_until(lambda: _pings(client), timeout=5, what="own redis-server")
        client.close()

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=5)
            self.process = None


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


def make_paid_order(
    session: Session,
    *,
    event: Event,
    now: datetime,
    tickets: int = 2,
    locale: str = "en",
    email: str = "buyer@example.org",
    name: str = "Layla Haddad",
    holders: tuple[str, ...] = (),
) -> Order:
    """A paid order with signed tickets and its `order.paid` outbox event, committed."""
    ticket_type = session.exec(select(TicketType).where(TicketType.event_id == event.id)).first()
    total = ticket_type.price_minor * tickets
    order = Order(
        event_id=event.id,
        status=OrderStatus.PAID,
        buyer_email=email,
        buyer_name=name,
        locale=locale,
        total_minor=total,
        currency=ticket_type.currency,
        created_at=now,
        paid_at=now,
    )
    session.add(order)
    session.flush()
    line = OrderLine(
        order_id=order.id,
        ticket_type_id=ticket_type.id,
        quantity=tickets,
        unit_price_minor=ticket_type.price_minor,
        line_total_minor=total,
    )
    session.add(line)
    session.flush()
    private_key = load_private_key(event.signing_private_key_sealed)
    for number in range(tickets):
        ticket_id = uuid.uuid4()
        session.add(
            Ticket(
                id=ticket_id,
                order_id=order.id,
                order_line_id=line.id,
                event_id=event.id,
                ticket_type_id=ticket_type.id,
                issued_at=now,
                holder_name=holders[number] if number < len(holders) else "",
                code=sign_ticket_code(private_key, event_id=event.id, ticket_id=ticket_id),
                reference=generate_reference(),
            )
        )
    session.add(OutboxEvent(topic="order.paid", payload={"order_id": str(order.id)}, created_at=now))
    session.commit()
    return order


def emit(session: Session, topic: str, payload: dict, now: datetime) -> None:
    session.add(OutboxEvent(topic=topic, payload=payload, created_at=now))
    session.commit()


def parts(message: EmailMessage) -> dict[str, list]:
    """The leaves of a received email by content type."""
    found: dict[str, list] = {}
    for part in message.walk():
        if not part.is_multipart():
            found.setdefault(part.get_content_type(), []).append(part)
    return found


def eml_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.eml"))
