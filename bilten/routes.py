"""Every page route of the web UI, and the URL builders that point at them."""

from __future__ import annotations

import uuid
from datetime import date
from urllib.parse import quote, urlsplit

HOME = "/"
EVENT = "/events/[event_id]"
LOGIN = "/login"
REGISTER = "/register"
ACCOUNT = "/account"
ADMIN = "/admin"
ORGANIZER = "/organizer"
SCAN = "/scan"
ORGANIZER_EVENT = "/organizer/events/[event_id]"
ORGANIZER_EVENT_NEW = "/organizer/events/new"
ORGANIZER_EVENT_EDIT = "/organizer/events/[event_id]/edit"
ADMIN_NOTIFICATIONS = "/admin/notifications"
ORDER = "/orders/[order_id]"
HELD_TICKET = "/held-tickets/[transfer_id]"  # a ticket received by transfer (services/ticket_transfer.py)
MY_TICKETS = "/my-tickets"
FORGOT_PASSWORD = "/forgot-password"
RESET_PASSWORD = "/reset-password"
NEW_ORGANIZATION = "/organizer/organizations/new"
ORGANIZATION_TEAM = "/organizer/organizations/[organization_id]/team"
ORGANIZATION_WEBHOOKS = "/organizer/organizations/[organization_id]/webhooks"
JOIN = "/join"
VERIFY_EMAIL = "/verify-email"
WAITING_LIST = "/waiting-list/[waiting_token]"

NEXT_PARAM = "next"

# Where signing in lands a person who did not come from a page (services.access.Workplace's values).
WORKPLACE_PAGES = {"admin": ADMIN, "organizer": ORGANIZER, "door": SCAN, "tickets": MY_TICKETS}

# The browser's session token lives only in this HttpOnly cookie, set and cleared by the two
# endpoints below (bilten/api/auth.py): page scripts and websocket state never see it.
WEB_SESSION_COOKIE = "bilten_session"
WEB_SESSION_START = "/api/v1/auth/web-session"
WEB_SESSION_END = "/api/v1/auth/web-session/end"


def web_session_start_url(grant: str, next_path: str) -> str:
    """Where the login page sends the browser: trade the one-time grant for the cookie, then go on."""
    target = safe_next(next_path)
    return f"{WEB_SESSION_START}?grant={quote(grant, safe='')}&{NEXT_PARAM}={quote(target, safe='/')}"


def web_session_end_url(next_path: str = HOME) -> str:
    """Logging out: the endpoint revokes the cookie's session, clears the cookie and goes on."""
    target = safe_next(next_path, default=HOME)
    return f"{WEB_SESSION_END}?{NEXT_PARAM}={quote(target, safe='/')}"


def event_url(event_id: uuid.UUID | str) -> str:
    return f"/events/{event_id}"


def order_url(order_id: uuid.UUID | str, token: str = "") -> str:
    """An order's page; with the signed guest token when the visitor may not be signed in."""
    return f"/orders/{order_id}" + (f"?token={quote(token, safe='')}" if token else "")


def order_tickets_pdf_url(order_id: uuid.UUID | str, token: str) -> str:
    """The REST download of an order's tickets as one PDF (same origin, the guest token proves access)."""
    return f"/api/v1/orders/{order_id}/tickets.pdf?token={quote(token, safe='')}"


def order_invoice_pdf_url(order_id: uuid.UUID | str, token: str, kind: str = "invoice") -> str:
    """The REST download of an order's invoice (or credit note: kind="credit_note") as a PDF."""
    suffix = "" if kind == "invoice" else f"&kind={quote(kind, safe='')}"
    return f"/api/v1/orders/{order_id}/invoice.pdf?token={quote(token, safe='')}{suffix}"


def invoice_export_url(organization_id: uuid.UUID | str, start: date, end: date) -> str:
    """The accountant's ZIP of an organization's invoices and credit notes of a period (api/invoices.py)."""
    return f"/api/v1/organizations/{organization_id}/invoices.zip?from={start.isoformat()}&to={end.isoformat()}"


def order_calendar_url(order_id: uuid.UUID | str, token: str) -> str:
    return f"/api/v1/orders/{order_id}/calendar.ics?token={quote(token, safe='')}"


def export_download_url(export_id: uuid.UUID | str) -> str:
    """The REST download of a finished export (a bearer token, or the back office's session cookie)."""
    return f"/api/v1/exports/{export_id}/download"


def event_editor_url(event_id: uuid.UUID | str) -> str:
    """The organizers' editor of one event (details, picture, ticket types, publishing)."""
    return f"/organizer/events/{event_id}/edit"


def organizer_event_url(event_id: uuid.UUID | str, tab: str = "") -> str:
    """One event's back office, optionally opened on a tab (sales, orders, checkin, staff)."""
    return f"/organizer/events/{event_id}" + (f"?tab={tab}" if tab else "")


def team_url(organization_id: uuid.UUID | str) -> str:
    """An organization's team page: members, roles and invitations."""
    return f"/organizer/organizations/{organization_id}/team"


def waiting_list_url(token: str) -> str:
    """A person's place on a waiting list: their position, their offer and its buy button."""
    return f"/waiting-list/{token}"


def join_url(token: str) -> str:
    """Where an invitation's link leads: accept it (after logging in or registering)."""
    return f"{JOIN}?token={quote(token, safe='')}"


def register_url(next_path: str = "") -> str:
    """The register page, coming back to `next_path` afterwards (only when it is a path on this site)."""
    target = safe_next(next_path, default="")
    return f"{REGISTER}?{NEXT_PARAM}={quote(target, safe='/')}" if target else REGISTER


def login_url(next_path: str = "") -> str:
    """The login page, coming back to `next_path` afterwards (only when it is a path on this site)."""
    target = safe_next(next_path, default="")
    return f"{LOGIN}?{NEXT_PARAM}={quote(target, safe='/')}" if target else LOGIN


def safe_next(value: str | None, *, default: str = ACCOUNT) -> str:
    """A local path to go to after logging in; anything pointing at another site falls back to `default`.

    Refuses absolute URLs, scheme-relative `//host` paths and backslash tricks (`/\\host`), which
    browsers treat as other hosts: an open redirect would make a convincing phishing link.
    """
    candidate = (value or "").strip()
    if not candidate.startswith("/") or candidate.startswith("//") or "\\" in candidate:
        return default
    parts = urlsplit(candidate)
    if parts.scheme or parts.netloc:
        return default
    if parts.path.rstrip("/") in (LOGIN, REGISTER):
        return default
    return candidate


def webhooks_url(organization_id: uuid.UUID | str) -> str:
    """An organization's outgoing webhooks: endpoints, recent deliveries, "Send again"."""
    return f"/organizer/organizations/{organization_id}/webhooks"
