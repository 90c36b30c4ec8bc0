"""Vouchers: codes an event's team hands out for a lower price, a fixed price, or hidden ticket types.

What a voucher guarantees:
- **Its use limit holds under a rush.** One use is one order (whatever its number of tickets: a
  code "for 4 people" is 4 uses, one per order, as most organizers mean "4 buyers"). The use is
  taken by ONE guarded `UPDATE voucher SET used = used + 1 WHERE id = :id AND used < max_uses` in
  the order's own transaction (`take_use`, called by `orders/placing.py` before the seats), so 20
  buyers with a code that has 4 uses left get exactly 4 discounted orders; the schema's CHECK
  (0 <= used <= max_uses) backs it up. Lock order: the voucher row, then the ticket type rows,
  everywhere (placing, expiring, cancelling), so no two transactions wait on each other crosswise.
- **A use comes back** when the order's hold expires (`orders/holds.py`, and the sweeper's batch in
  `services/hold_sweep.py`) or a pending or paid order is cancelled (`orders/cancelling.py`):
  `give_back_uses`. A late payment that revives an expired order takes its use again if one is
  left (`retake_use`); the order keeps the price it was paid at either way.
- **Prices**, per ticket of a type the voucher covers (all types when it names none): percent off
  (1..100, rounded half up to the minor unit), an amount off (never below 0), or a fixed price
  (never above the normal price). Money is integer minor units.
- **Codes** are matched case-insensitively (stored upper-case), unique per event; random codes
  come from `secrets` in an alphabet without look-alikes (no 0/O, 1/I/L).
- Only the event's team manages vouchers (`EVENT_MANAGE`; viewers read the list: `EVENT_VIEW`).
  A wrong code answers the same for "no such code" and "not valid now" (`VoucherInvalid`), so
  guessing learns nothing; the API and the event page count such failures per address
  (`ratelimit.VOUCHER`).
"""

from __future__ import annotations

import csv
import io
import re
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy import bindparam, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bilten.models import Event, Order, OrderStatus, TicketType, User, Voucher, VoucherKind
from bilten.services.access import Permission, authorize
from bilten.services.audit import record_audit
from bilten.services.errors import (
    NotFound,
    ValidationFailed,
    VoucherCodeTaken,
    VoucherExhausted,
    VoucherInUse,
    VoucherInvalid,
)
from bilten.services.events import TicketTypeSummary, ticket_type_summary
from bilten.services.tax import prices_include_tax
from bilten.services.transaction import lock_row, transaction
from bilten.services.translations import copy_translations

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read aloud and typed without doubt
RANDOM_CODE_LENGTH = 10
MAX_BULK = 1000
MAX_USES = 1_000_000
MAX_PREFIX = 20
_CODE = re.compile(r"^[A-Z0-9_-]{3,64}$")


# -- pricing (pure) -----------------------------------------------------------------------------


def covers(voucher: Voucher | VoucherOffer | None, ticket_type_id: uuid.UUID | str) -> bool:
    """Does the voucher apply to this ticket type? (No types named: every type of its event.)"""
    if voucher is None:
        return False
    return not voucher.ticket_type_ids or str(ticket_type_id) in voucher.ticket_type_ids


def unlocks(voucher: Voucher | VoucherOffer | None, ticket_type_id: uuid.UUID | str) -> bool:
    """May this hidden ticket type be bought with the voucher?"""
    return voucher is not None and voucher.unlocks_hidden and covers(voucher, ticket_type_id)


def unit_price(kind: VoucherKind, value: int, price: int) -> int:
    """One ticket's price with the voucher: never below 0, never above the normal price."""
    if kind == VoucherKind.PERCENT:
        return price - (price * value + 50) // 100
    if kind == VoucherKind.AMOUNT:
        return max(price - value, 0)
    if kind == VoucherKind.PRICE:
        return min(value, price)
    return price


def voucher_unit_price(voucher: Voucher | VoucherOffer | None, ticket_type_id: uuid.UUID | str, price: int) -> int:
    return (
        unit_price(voucher.kind, voucher.value, price)
        if voucher is not None and covers(voucher, ticket_type_id)
        else price
    )


# -- shapes -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VoucherFields:
    """What an organizer sets; None: not given (kept on update)."""

    code: str | None = None
    kind: VoucherKind | None = None
    value: int | None = None
    max_uses: int | None = None
    ticket_type_ids: list[uuid.UUID] | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    unlocks_hidden: bool | None = None
    given: frozenset[str] = field(default_factory=frozenset)  # names set explicitly (None included)


class VoucherView(BaseModel):
    """A voucher as its organizers see it (the API returns it unchanged)."""

    model_config = ConfigDict(from_attributes=True, frozen=True)

    id: uuid.UUID
    event_id: uuid.UUID
    code: str
    kind: VoucherKind
    value: int
    max_uses: int
    used: int
    ticket_type_ids: list[uuid.UUID]
    valid_from: datetime | None
    valid_until: datetime | None
    unlocks_hidden: bool
    created_at: datetime
    currency: str = ""  # of the event's ticket types, for showing amounts (list_vouchers)


class VoucherOrderView(BaseModel):
    """An order that used a voucher, for the back office."""

    order_id: uuid.UUID
    code: str
    buyer_email: str
    status: OrderStatus
    total_minor: int
    discount_minor: int
    currency: str
    created_at: datetime


@dataclass(frozen=True)
class VoucherOffer:
    """What a buyer's code gives on the event page: the pricing rule and the hidden types it shows."""

    code: str
    kind: VoucherKind
    value: int
    ticket_type_ids: list[str]
    unlocks_hidden: bool
    hidden_types: list[TicketTypeSummary]


# -- organizers ---------------------------------------------------------------------------------


def list_vouchers(session: Session, *, actor: User | None, event_id: uuid.UUID) -> list[VoucherView]:
    with transaction(session):
        authorize(session, actor, Permission.EVENT_VIEW, event_id=event_id)
        rows = session.exec(
            select(Voucher).where(Voucher.event_id == event_id).order_by(col(Voucher.created_at), col(Voucher.code))
        ).all()
        currency = session.exec(select(TicketType.currency).where(TicketType.event_id == event_id)).first() or ""
        return [VoucherView.model_validate(row).model_copy(update={"currency": currency}) for row in rows]


def get_voucher(session: Session, *, actor: User | None, event_id: uuid.UUID, voucher_id: uuid.UUID) -> VoucherView:
    with transaction(session):
        authorize(session, actor, Permission.EVENT_VIEW, event_id=event_id)
        return VoucherView.model_validate(_voucher_of_event(session, event_id, voucher_id))


def create_voucher(
    session: Session, *, actor: User | None, event_id: uuid.UUID, fields: VoucherFields, now: datetime
) -> VoucherView:
    code = normalize_code(fields.code or "")
    return create_vouchers(session, actor=actor, event_id=event_id, fields=fields, codes=[code], now=now)[0]


def create_random_vouchers(
    session: Session,
    *,
    actor: User | None,
    event_id: uuid.UUID,
    fields: VoucherFields,
    count: int,
    prefix: str = "",
    now: datetime,
    rng: Callable[[str], str] = secrets.choice,
) -> list[VoucherView]:
    """`count` vouchers alike but for their random codes (`prefix` + 10 characters)."""
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= MAX_BULK:
        raise ValidationFailed("error.voucher_count", max=MAX_BULK)
    prefix = prefix.strip().upper()
    if len(prefix) > MAX_PREFIX or (prefix and not re.fullmatch(r"[A-Z0-9_-]+", prefix)):
        raise ValidationFailed("error.voucher_prefix", max=MAX_PREFIX)
    with transaction(session):
        authorize(session, actor, Permission.EVENT_MANAGE, event_id=event_id)
        taken = set(session.exec(select(Voucher.code).where(Voucher.event_id == event_id)).all())
    codes: list[str] = []
    while len(codes) < count:
        code = prefix + "".join(rng(CODE_ALPHABET) for _ in range(RANDOM_CODE_LENGTH))
        if code not in taken:
            taken.add(code)
            codes.append(code)
    return create_vouchers(session, actor=actor, event_id=event_id, fields=fields, codes=codes, now=now)


def create_vouchers(
    session: Session,
    *,
    actor: User | None,
    event_id: uuid.UUID,
    fields: VoucherFields,
    codes: list[str],
    now: datetime,
) -> list[VoucherView]:
    try:
        with transaction(session):
            user = authorize(session, actor, Permission.EVENT_MANAGE, event_id=event_id)
            values = _resolve(session, event_id, fields, current=None)
            existing = session.exec(
                select(Voucher.code).where(Voucher.event_id == event_id, col(Voucher.code).in_(codes))
            ).first()
            if existing is not None:
                raise VoucherCodeTaken(code=existing)
            rows = [Voucher(event_id=event_id, code=code, used=0, created_at=now, **values) for code in codes]
            session.add_all(rows)
            session.flush()
            record_audit(
                session,
                action="voucher.created",
                object_type="event",
                object_id=event_id,
                now=now,
                actor_user_id=user.id,
                data={"codes": codes[:20], "count": len(codes)},
            )
            return [VoucherView.model_validate(row) for row in rows]
    except IntegrityError as exc:  # created by someone else at the same moment
        raise VoucherCodeTaken(code=codes[0] if len(codes) == 1 else "") from exc


def update_voucher(
    session: Session,
    *,
    actor: User | None,
    event_id: uuid.UUID,
    voucher_id: uuid.UUID,
    fields: VoucherFields,
    now: datetime,
) -> VoucherView:
    try:
        with transaction(session):
            user = authorize(session, actor, Permission.EVENT_MANAGE, event_id=event_id)
            _voucher_of_event(session, event_id, voucher_id)
            voucher = lock_row(session, Voucher, voucher_id)  # the use counter holds still meanwhile
            assert voucher is not None
            values = _resolve(session, event_id, fields, current=voucher)
            if fields.code is not None:
                code = normalize_code(fields.code)
                if (
                    code != voucher.code
                    and session.exec(
                        select(Voucher.id).where(Voucher.event_id == event_id, Voucher.code == code)
                    ).first()
                ):
                    raise VoucherCodeTaken(code=code)
                voucher.code = code
            if values["max_uses"] < voucher.used:
                raise ValidationFailed("error.voucher_max_below_used", used=voucher.used)
            for name, value in values.items():
                setattr(voucher, name, value)
            session.add(voucher)
            record_audit(
                session,
                action="voucher.updated",
                object_type="event",
                object_id=event_id,
                now=now,
                actor_user_id=user.id,
                data={"code": voucher.code},
            )
            session.flush()
            return VoucherView.model_validate(voucher)
    except IntegrityError as exc:
        raise VoucherCodeTaken(code=fields.code or "") from exc


def delete_voucher(
    session: Session, *, actor: User | None, event_id: uuid.UUID, voucher_id: uuid.UUID, now: datetime
) -> None:
    """Only a voucher no order ever used: the orders' record of their discount stays whole."""
    with transaction(session):
        user = authorize(session, actor, Permission.EVENT_MANAGE, event_id=event_id)
        _voucher_of_event(session, event_id, voucher_id)
        voucher = lock_row(session, Voucher, voucher_id)
        assert voucher is not None
        if session.exec(select(Order.id).where(Order.voucher_id == voucher_id)).first() is not None:
            raise VoucherInUse()
        session.delete(voucher)
        record_audit(
            session,
            action="voucher.deleted",
            object_type="event",
            object_id=event_id,
            now=now,
            actor_user_id=user.id,
            data={"code": voucher.code},
        )


def vouchers_csv(session: Session, *, actor: User | None, event_id: uuid.UUID) -> str:
    """Every voucher of the event as CSV (code, kind, value, max uses, used, valid from/until)."""
    with transaction(session):
        authorize(session, actor, Permission.EVENT_MANAGE, event_id=event_id)
        rows = session.exec(
            select(Voucher).where(Voucher.event_id == event_id).order_by(col(Voucher.created_at), col(Voucher.code))
        ).all()
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["code", "kind", "value", "max_uses", "used", "valid_from", "valid_until", "unlocks_hidden"])
        for v in rows:
            writer.writerow(
                [
                    v.code,
                    v.kind.value,
                    v.value,
                    v.max_uses,
                    v.used,
                    v.valid_from.isoformat() if v.valid_from else "",
                    v.valid_until.isoformat() if v.valid_until else "",
                    "yes" if v.unlocks_hidden else "no",
                ]
            )
        return out.getvalue()


def voucher_orders(
    session: Session, *, actor: User | None, event_id: uuid.UUID, limit: int = 200
) -> list[VoucherOrderView]:
    """The event's orders that used a voucher, newest first."""
    with transaction(session):
        authorize(session, actor, Permission.EVENT_VIEW, event_id=event_id)
        rows = session.exec(
            select(Order, Voucher.code)
            .join(Voucher, col(Voucher.id) == col(Order.voucher_id))
            .where(Order.event_id == event_id)
            .order_by(col(Order.created_at).desc())
            .limit(limit)
        ).all()
        return [
            VoucherOrderView(
                order_id=order.id,
                code=code,
                buyer_email=order.buyer_email,
                status=order.status,
                total_minor=order.total_minor,
                discount_minor=order.discount_minor,
                currency=order.currency,
                created_at=order.created_at,
            )
            for order, code in rows
        ]


# -- buyers -------------------------------------------------------------------------------------


def normalize_code(code: str) -> str:
    cleaned = (code or "").strip().upper()
    if not _CODE.match(cleaned):
        raise ValidationFailed("error.voucher_code_format")
    return cleaned


def usable_voucher(session: Session, *, event_id: uuid.UUID, code: str, now: datetime) -> Voucher:
    """The event's voucher with this code, valid now and with a use left (as read: `take_use`
    decides). VoucherInvalid for an unknown, malformed or out-of-window code; VoucherExhausted."""
    cleaned = (code or "").strip().upper()
    if not _CODE.match(cleaned):
        raise VoucherInvalid()
    voucher = session.exec(select(Voucher).where(Voucher.event_id == event_id, Voucher.code == cleaned)).first()
    if voucher is None:
        raise VoucherInvalid()
    if (voucher.valid_from and now < voucher.valid_from) or (voucher.valid_until and now >= voucher.valid_until):
        raise VoucherInvalid()
    if voucher.used >= voucher.max_uses:
        raise VoucherExhausted()
    return voucher


def voucher_offer(session: Session, *, event_id: uuid.UUID, code: str, now: datetime) -> VoucherOffer:
    """For the event page: what the code gives, and the hidden ticket types it shows."""
    with transaction(session):
        voucher = usable_voucher(session, event_id=event_id, code=code, now=now)
        hidden: list[TicketTypeSummary] = []
        if voucher.unlocks_hidden:
            types = session.exec(
                select(TicketType)
                .where(TicketType.event_id == event_id, TicketType.is_hidden == True)  # noqa: E712
                .order_by(col(TicketType.position), col(TicketType.price_minor))
            ).all()
            event = session.get(Event, event_id)
            include_tax = prices_include_tax(session, event.organization_id) if event else True
            hidden = [
                ticket_type_summary(
                    t,
                    prices_include_tax=include_tax,
                    name=t.name,
                    description=t.description,
                    translations=copy_translations(t.translations),  # read like the listed types
                )
                for t in types
                if covers(voucher, t.id)
            ]
        return VoucherOffer(
            code=voucher.code,
            kind=voucher.kind,
            value=voucher.value,
            ticket_type_ids=list(voucher.ticket_type_ids),
            unlocks_hidden=voucher.unlocks_hidden,
            hidden_types=hidden,
        )


# -- the use counter (inside the caller's transaction) ------------------------------------------

_TAKE_USE = (
    update(Voucher)
    .where(col(Voucher.id) == bindparam("voucher_id"), col(Voucher.used) < col(Voucher.max_uses))
    .values(used=col(Voucher.used) + 1)
    .returning(col(Voucher.id))
    .execution_options(synchronize_session=False)
)
_GIVE_BACK = (
    update(Voucher)
    .where(col(Voucher.id) == bindparam("voucher_id"))
    .values(used=col(Voucher.used) - bindparam("n"))
    .execution_options(synchronize_session=False)
)


def take_use(session: Session, voucher_id: uuid.UUID) -> None:
    """Take one use, or raise VoucherExhausted (the caller's transaction then rolls back)."""
    with session.no_autoflush:  # the order's rows go in later, with the seats (placing.py)
        taken = session.execute(_TAKE_USE, {"voucher_id": voucher_id}).scalar_one_or_none()
    if taken is None:
        raise VoucherExhausted()


def retake_use(session: Session, order: Order) -> bool:
    """A revived order (paid after its hold ran out) takes its use again, if one is left."""
    if order.voucher_id is None:
        return True
    return session.execute(_TAKE_USE, {"voucher_id": order.voucher_id}).scalar_one_or_none() is not None


def code_of(session: Session, order: Order) -> str:
    """The code of the voucher the order used ("" for none)."""
    voucher = session.get(Voucher, order.voucher_id) if order.voucher_id else None
    return voucher.code if voucher else ""


def give_back_uses(session: Session, order_ids: list[uuid.UUID]) -> None:
    """The uses of these orders (expired or cancelled in this transaction) go back, voucher by
    voucher in id order (before the seats: the same lock order as placing)."""
    if not order_ids:
        return
    counts = session.execute(
        select(col(Order.voucher_id), func.count())
        .where(col(Order.id).in_(order_ids), col(Order.voucher_id).is_not(None))
        .group_by(col(Order.voucher_id))
        .order_by(col(Order.voucher_id))
    ).all()
    for voucher_id, n in counts:
        session.execute(_GIVE_BACK, {"voucher_id": voucher_id, "n": n})


# -- helpers ------------------------------------------------------------------------------------


def _voucher_of_event(session: Session, event_id: uuid.UUID, voucher_id: uuid.UUID) -> Voucher:
    voucher = session.get(Voucher, voucher_id)
    if voucher is None or voucher.event_id != event_id:
        raise NotFound()
    return voucher


def _resolve(session: Session, event_id: uuid.UUID, fields: VoucherFields, *, current: Voucher | None) -> dict:
    """The voucher's values after `fields`, checked: kind and value, uses, window, types."""
    kind = fields.kind if fields.kind is not None else (current.kind if current else None)
    value = fields.value if fields.value is not None else (current.value if current else 0)
    unlocks_hidden = (
        fields.unlocks_hidden if fields.unlocks_hidden is not None else (current.unlocks_hidden if current else False)
    )
    if kind is None:
        kind = VoucherKind.UNLOCK if unlocks_hidden else None
    if kind is None:
        raise ValidationFailed("error.voucher_kind_required")
    if kind == VoucherKind.PERCENT and not 1 <= value <= 100:
        raise ValidationFailed("error.voucher_percent")
    if kind == VoucherKind.AMOUNT and value < 1:
        raise ValidationFailed("error.voucher_amount")
    if kind == VoucherKind.PRICE and value < 0:
        raise ValidationFailed("error.voucher_price")
    if kind == VoucherKind.UNLOCK:
        if not unlocks_hidden:
            raise ValidationFailed("error.voucher_kind_required")
        value = 0
    max_uses = fields.max_uses if fields.max_uses is not None else (current.max_uses if current else 1)
    if not 1 <= max_uses <= MAX_USES:
        raise ValidationFailed("error.voucher_max_uses", max=MAX_USES)
    valid_from = fields.valid_from if "valid_from" in fields.given else (current.valid_from if current else None)
    valid_until = fields.valid_until if "valid_until" in fields.given else (current.valid_until if current else None)
    for moment in (valid_from, valid_until):
        if moment is not None and moment.tzinfo is None:
            raise ValidationFailed("error.voucher_window")
    if valid_from and valid_until and valid_until <= valid_from:
        raise ValidationFailed("error.voucher_window")
    if fields.ticket_type_ids is not None:
        wanted = {str(type_id) for type_id in fields.ticket_type_ids}
        known = {
            str(type_id) for type_id in session.exec(select(TicketType.id).where(TicketType.event_id == event_id)).all()
        }
        if not wanted <= known:
            raise ValidationFailed("error.voucher_ticket_types")
        type_ids = sorted(wanted)
    else:
        type_ids = list(current.ticket_type_ids) if current else []
    return {
        "kind": kind,
        "value": value,
        "max_uses": max_uses,
        "ticket_type_ids": type_ids,
        "valid_from": valid_from,
        "valid_until": valid_until,
        "unlocks_hidden": unlocks_hidden,
    }
