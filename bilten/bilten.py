"""The Reflex app: every page, and the REST API mounted in the same process (`api_transformer`)."""

from __future__ import annotations

import reflex as rx

from bilten import routes
from bilten.api import api
from bilten.notifications.worker import notification_loop
from bilten.tasks import sweep_forever
from bilten.pages.account import account_page
from bilten.pages.admin import admin_page
from bilten.pages.event import event_page
from bilten.pages.home import home_page
from bilten.pages.login import login_page
from bilten.pages.organizer import organizer_page
from bilten.pages.register import register_page
from bilten.state.account import AccountState
from bilten.state.admin import AdminState
from bilten.state.auth import AuthState
from bilten.state.event import EventState
from bilten.state.home import HomeState
from bilten.state.i18n import LocaleState
from bilten.state.organizer import OrganizerState


def title(key: str) -> rx.Var[str]:
    """The browser tab's title, in the reader's language."""
    return LocaleState.t[key] + " · " + LocaleState.t["app.name"]


app = rx.App(
    # System fonts only: nothing is fetched from a font server or CDN. Arabic-capable faces sit in
    # the fallback chain so Arabic text finds a font on every platform.
    style={
        "font_family": 'system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Noto Sans Arabic", '
        '"DejaVu Sans", Tahoma, Arial, sans-serif',
    },
    head_components=[rx.el.meta(name="color-scheme", content="light")],
    api_transformer=api,
)

# Public pages refresh who is signed in (for the navbar) before their own on_load.
app.add_page(home_page, route=routes.HOME, title=title("home.title"), on_load=[AuthState.refresh, HomeState.load])
app.add_page(
    event_page,
    route=routes.EVENT,
    title=EventState.event.title + " · " + LocaleState.t["app.name"],
    on_load=[AuthState.refresh, EventState.load],
)
app.add_page(login_page, route=routes.LOGIN, title=title("login.title"), on_load=AuthState.load_login)
app.add_page(register_page, route=routes.REGISTER, title=title("register.title"), on_load=AuthState.load_login)
# Protected pages: their on_load starts with the guard (bilten.state.auth.guard).
app.add_page(account_page, route=routes.ACCOUNT, title=title("account.title"), on_load=AccountState.load)
app.add_page(admin_page, route=routes.ADMIN, title=title("admin.title"), on_load=AdminState.load)
app.add_page(organizer_page, route=routes.ORGANIZER, title=title("organizer.title"), on_load=OrganizerState.load)

# Housekeeping in every web worker (safe in parallel): expired holds give their seats back.
app.register_lifespan_task(sweep_forever)
# Email delivery in the web process when there is no Redis queue (`bilten worker` does it otherwise).
app.register_lifespan_task(notification_loop)
