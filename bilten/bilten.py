"""The Reflex app: every page, and the REST API mounted in the same process (`api_transformer`)."""

from __future__ import annotations

import gc

import reflex as rx

from bilten import live_inventory, routes
from bilten.api import ApiFastLane, mount_reflex
from bilten.back_office import BackOfficeState
from bilten.components.scan_store import connection_overlay
from bilten.notifications.worker import notification_loop
from bilten.observability.events import EventLog
from bilten.observability.logging import configure_logging
from bilten.pages.account import account_page
from bilten.pages.admin import admin_page
from bilten.pages.admin_notifications import admin_notifications_page
from bilten.pages.back_office import back_office_page
from bilten.pages.event import event_page
from bilten.pages.event_editor import edit_event_page, new_event_page
from bilten.pages.held_ticket import held_ticket_page
from bilten.pages.home import home_page
from bilten.pages.join import join_page
from bilten.pages.login import login_page
from bilten.pages.my_tickets import my_tickets_page
from bilten.pages.order import order_page
from bilten.pages.organizer import organizer_page
from bilten.pages.password_reset import forgot_password_page, reset_password_page
from bilten.pages.register import register_page
from bilten.pages.scan import scan_page
from bilten.pages.team import new_organization_page, team_page
from bilten.pages.verify_email import verify_email_page
from bilten.pages.waiting_list import waiting_list_page
from bilten.pages.webhooks import webhooks_page
from bilten.payments import warn_about_payment_setup
from bilten.shutdown import close_websockets_on_shutdown
from bilten.state.account import AccountState
from bilten.state.admin import AdminState
from bilten.state.admin_notifications import AdminNotificationsState
from bilten.state.auth import AuthState
from bilten.state.event import EventState
from bilten.state.event_editor import EventEditorState
from bilten.state.held_ticket import HeldTicketState
from bilten.state.home import HomeState
from bilten.state.i18n import LocaleState
from bilten.state.invoice_settings import InvoiceSettingsState
from bilten.state.join import JoinState
from bilten.state.my_tickets import MyTicketsState
from bilten.state.order import OrderState
from bilten.state.organizer import OrganizerState
from bilten.state.password_reset import PasswordResetState
from bilten.state.scan import ScanState
from bilten.state.team import NewOrganizationState, TeamState
from bilten.state.two_factor import TwoFactorState
from bilten.state.verify_email import VerifyEmailState
from bilten.state.waiting_list import WaitingListJoinState, WaitingListStatusState
from bilten.state.webhooks import WebhooksState
from bilten.state_trees import releasing_trees
from bilten.tasks import sweep_forever


def title(key: str) -> rx.Var[str]:
    """The browser tab's title, in the reader's language."""
    return LocaleState.t[key] + " · " + LocaleState.t["app.name"]


configure_logging()  # LOG_FORMAT, LOG_LEVEL; secrets and emails never reach a log line


class BiltenApp(rx.App):
    def __call__(self):  # noqa: ANN204 (Reflex's own signature)
        """The server's ASGI app: Reflex's, behind the API's fast lane (bilten/api/__init__.py)."""
        return ApiFastLane(super().__call__())

    def _setup_state(self) -> None:
        """Reflex's state manager; with Redis, one that frees each event's states at once
        (bilten/state_trees.py)."""
        super()._setup_state()
        if self._state_manager is not None:
            self._state_manager = releasing_trees(self._state_manager)


app = BiltenApp(
    # System fonts only: nothing is fetched from a font server or CDN. Arabic-capable faces sit in
    # the fallback chain so Arabic text finds a font on every platform.
    style={
        "font_family": 'system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Noto Sans Arabic", '
        '"DejaVu Sans", Tahoma, Arial, sans-serif',
    },
    head_components=[rx.el.meta(name="color-scheme", content="light")],
    # Media queries for phones (compact header menu, wrapping tab strips, 44 px touch targets), and
    # Radix accent colours darkened to WCAG AA contrast with a focus ring everywhere.
    stylesheets=["/layout.css", "/contrast.css"],
    api_transformer=mount_reflex,
)

# One log line per state event (first, so it sees the hydrate event too).
app.add_middleware(EventLog(), index=0)

# The whole site installs as a web app (its manifest and icons at the root); the door scanner at
# /scan keeps a manifest of its own (scope /scan, its own service worker), so it links only that one.
SITE_HEAD = [
    rx.el.link(rel="manifest", href="/manifest.webmanifest"),
    rx.el.meta(name="theme-color", content="#3e63dd"),
    rx.el.link(rel="apple-touch-icon", href="/app-icon-192.png"),
]


def add_page(component, *, route: str, meta: list[rx.Component] | None = None, **options) -> None:
    """`app.add_page` with the site's web app manifest in the page's head (unless it brings its own)."""
    app.add_page(component, route=route, meta=meta if meta is not None else SITE_HEAD, **options)


# Live "N left": event pages follow their counts on the `/live` namespace of Reflex's own
# socket.io server, one relay per event and process instead of a state round trip per tab.
live_inventory.register(app.sio)

# The scan page works offline and shows its own banner instead of Reflex's "cannot connect" toast.
app.app_wraps[(5, "Overlay")] = connection_overlay

# Public pages refresh who is signed in (for the navbar) before their own on_load.
add_page(home_page, route=routes.HOME, title=title("home.title"), on_load=[AuthState.refresh, HomeState.load])
add_page(
    event_page,
    route=routes.EVENT,
    title=EventState.event.title + " · " + LocaleState.t["app.name"],
    on_load=[AuthState.refresh, EventState.load, WaitingListJoinState.load],
)
app.add_page(
    waiting_list_page,
    route=routes.WAITING_LIST,
    title=title("waiting_list.page_title"),
    on_load=[AuthState.refresh, WaitingListStatusState.load],
)
add_page(
    order_page,
    route=routes.ORDER,
    title=title("order.title"),
    on_load=[AuthState.refresh, OrderState.load],
)
add_page(
    held_ticket_page,
    route=routes.HELD_TICKET,
    title=title("held.title"),
    on_load=[AuthState.refresh, HeldTicketState.load],
)
add_page(
    forgot_password_page,
    route=routes.FORGOT_PASSWORD,
    title=title("forgot.title"),
    on_load=[AuthState.refresh, PasswordResetState.load_request],
)
add_page(
    reset_password_page,
    route=routes.RESET_PASSWORD,
    title=title("reset.title"),
    on_load=[AuthState.refresh, PasswordResetState.load_reset],
)
add_page(
    verify_email_page,
    route=routes.VERIFY_EMAIL,
    title=title("verify.title"),
    on_load=[AuthState.refresh, VerifyEmailState.load],
)
add_page(login_page, route=routes.LOGIN, title=title("login.title"), on_load=AuthState.load_login)
add_page(register_page, route=routes.REGISTER, title=title("register.title"), on_load=AuthState.load_login)
# Protected pages: their on_load starts with the guard (bilten.state.auth.guard).
add_page(
    account_page, route=routes.ACCOUNT, title=title("account.title"), on_load=[AccountState.load, TwoFactorState.load]
)
add_page(my_tickets_page, route=routes.MY_TICKETS, title=title("my_tickets.title"), on_load=MyTicketsState.load)
add_page(admin_page, route=routes.ADMIN, title=title("admin.title"), on_load=AdminState.load)
add_page(organizer_page, route=routes.ORGANIZER, title=title("organizer.title"), on_load=OrganizerState.load)
# The door scanner: signs a phone in on the page itself (a device token, not the web session);
# installable as a PWA scoped to /scan (manifest here, service worker registered by the page).
add_page(
    scan_page,
    route=routes.SCAN,
    title=title("scan.title"),
    on_load=ScanState.load,
    meta=[rx.el.link(rel="manifest", href="/manifest.json"), rx.el.meta(name="theme-color", content="#3e63dd")],
)
add_page(
    back_office_page,
    route=routes.ORGANIZER_EVENT,
    title=BackOfficeState.event.title + " · " + LocaleState.t["office.title"],
    # Its load starts the two live loops (sales, check-in counters) once the guard let the user in;
    # they belong to the page-load chain, so Reflex stops them when the tab leaves.
    on_load=BackOfficeState.load,
)
# The event editor: create an event, then edit it, its picture and ticket types, publish or cancel it.
add_page(
    new_event_page, route=routes.ORGANIZER_EVENT_NEW, title=title("editor.new_title"), on_load=EventEditorState.load_new
)
add_page(
    edit_event_page,
    route=routes.ORGANIZER_EVENT_EDIT,
    title=EventEditorState.event.title + " · " + LocaleState.t["editor.title"],
    on_load=EventEditorState.load_edit,
)
# Organizations and teams: found one, manage its team; invitation links (public: they show what the
# invitation is for and send visitors to log in or register first).
add_page(
    new_organization_page,
    route=routes.NEW_ORGANIZATION,
    title=title("team.new_title"),
    on_load=NewOrganizationState.load,
)
add_page(
    team_page,
    route=routes.ORGANIZATION_TEAM,
    title=TeamState.organization_name + " · " + LocaleState.t["team.title"],
    on_load=[TeamState.load, InvoiceSettingsState.load],
)
add_page(
    webhooks_page,
    route=routes.ORGANIZATION_WEBHOOKS,
    title=WebhooksState.organization_name + " · " + LocaleState.t["webhooks.title"],
    on_load=WebhooksState.load,
)
add_page(join_page, route=routes.JOIN, title=title("join.title"), on_load=[AuthState.refresh, JoinState.load])
add_page(
    admin_notifications_page,
    route=routes.ADMIN_NOTIFICATIONS,
    title=title("notifications.title"),
    on_load=AdminNotificationsState.load,
)


# A request makes thousands of short-lived objects that reference counting frees at once; at the
# default 700 allocations the collector's young pass ran several times per sale (6-8 % of its CPU).
GC_YOUNG_THRESHOLD = 50_000


def freeze_startup_objects() -> None:
    """Keep the app's own objects (hundreds of thousands: Reflex, SQLAlchemy, the pages) out of the
    garbage collector's full passes, which would otherwise stall a worker for tens of milliseconds
    in the middle of requests; and let its young pass run less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD)


app.register_lifespan_task(freeze_startup_objects)
# Test payments outside demo mode, or no payments at all: the operator reads it in the log at start.
app.register_lifespan_task(warn_about_payment_setup)
# Housekeeping in every web worker (safe in parallel): expired holds give their seats back.
app.register_lifespan_task(sweep_forever)
# Email delivery in the web process when there is no Redis queue (`bilten worker` does it otherwise).
app.register_lifespan_task(notification_loop)
# On SIGTERM: open pages get a proper close and reconnect elsewhere, instead of holding the worker.
app.register_lifespan_task(close_websockets_on_shutdown)
