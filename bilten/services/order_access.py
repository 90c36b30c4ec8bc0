"""Who may see an order: its buyer (by account or by the signed link sent to guests) and the
event's organizers. Outside services/orders/ (which re-exports it): questions and invoices, which the
orders import, check an order's link here without importing the orders package."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid

from sqlmodel import Session

from bilten.models import Order, User
from bilten.services.access import Permission, is_allowed
from bilten.services.security import tokens_equal
from bilten.settings import get_secret_key


def order_access_token(order_id: uuid.UUID) -> str:
    """A guest's key to their order: signed with the secret key, so it needs no table."""
    digest = hmac.new(get_secret_key().encode(), f"order:{order_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode()


def may_view_order(session: Session, order: Order, *, user: User | None, access_token: str = "") -> bool:
    if access_token and tokens_equal(access_token, order_access_token(order.id)):
        return True
    if user is not None and order.user_id == user.id:
        return True
    return is_allowed(session, user, Permission.EVENT_MANAGE, event_id=order.event_id)
