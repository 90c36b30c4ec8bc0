"""Platform administration (`/admin`): users, organizations, all events, notifications and the
recent admin changes, one tab each.

One state per tab, so a search or a page turn in one tab loads and saves only that tab's rows.
`AdminState` holds the guard's verdict, the tab and the platform's counts. Rows are kept as the
services' shapes in backend vars; computed vars turn them into what the browser shows, in the
reader's language. Every handler goes through a service that checks the admin permission again.
"""

from __future__ import annotations

import dataclasses

import reflex as rx

from bilten import routes
from bilten.i18n import format_datetime, translate
from bilten.ids import parse_id
from bilten.models import EventStatus, Role
from bilten.services import platform, users
from bilten.services.access import Permission
from bilten.services.platform import AdminChange, AdminEvent, AdminOrganization, PlatformOverview
from bilten.services.users import AdminUser
from bilten.state.auth import private_state
from bilten.state.base import service_call
from bilten.state.i18n import LocalizedState
from bilten.state.paging import MAX_SEARCH, PAGE_SIZE, OffsetPaging

TABS = ("users", "organizations", "events", "notifications", "changes")
ALL = "all"  # a select item cannot have an empty value
ROLES = [role.value for role in Role]
EVENT_STATUSES = [status.value for status in EventStatus]
ACTIVE_FILTERS = ("active", "disabled")
TIMEZONE = "UTC"  # accounts and organizations belong to no event: their times are shown in UTC, and say so


# ---------------------------------------------------------------------------------------------
# The page: guard, tabs, counts


def _no_overview() -> PlatformOverview:
    return PlatformOverview(users=0, disabled_users=0, organizations=0, events=0, failed_notifications=0)


@private_state
class AdminState(LocalizedState, rx.State):
    loaded: bool = False
    allowed: bool = False
    tab: str = "users"
    overview: PlatformOverview = _no_overview()

    @rx.var
    def failed_text(self) -> str:
        locale = self._display_locale()
        return translate("admin.failed_count", locale, count=self.overview.failed_notifications)

    @rx.event
    async def load(self):
        """on_load: admins only; everyone else gets the guard's redirect or "not allowed"."""
        self.loaded = False
        self.allowed = False
        overview = None
        async with service_call(self) as call:
            access = await call.guard(Permission.ADMIN)
            overview = platform.platform_overview(call.session, actor=access.user) if access.user else None
        if overview is None:  # not an admin (or the overview refused): nothing of this page stays
            for section in SECTION_STATES:
                (await self.get_state(section)).reset()
            self.overview = _no_overview()
            self.loaded = True
            return call.error_toast() if call.failed else access.redirect
        self.overview = overview
        requested = self.router.url.query_parameters.get("tab", "users")
        self.tab = requested if requested in TABS else "users"
        self.allowed = True
        self.loaded = True
        return _section_loader(self.tab)

    @rx.event
    def set_tab(self, tab: str):
        if tab not in TABS or not self.allowed:
            return None
        self.tab = tab
        return _section_loader(tab)

    @rx.event
    async def refresh_overview(self):
        """After a change: the counts on the tabs follow."""
        async with service_call(self) as call:
            self.overview = platform.platform_overview(call.session, actor=call.user)
        if call.failed:
            return AdminState.load  # no longer an admin: the guard decides what to show
        return None


def _section_loader(tab: str):  # noqa: ANN202 - an event handler or None
    return {
        "users": AdminUsersState.load,
        "organizations": AdminOrganizationsState.load,
        "events": AdminEventsState.load,
        "changes": AdminChangesState.load,
    }.get(tab)


# ---------------------------------------------------------------------------------------------
# Users: search, filters, role, disable and enable, reset two-factor sign-in


@dataclasses.dataclass(frozen=True)
class UserView:
    id: str
    email: str
    full_name: str
    role: str
    active: bool
    joined: str
    is_self: bool


@private_state
class AdminUsersState(OffsetPaging, rx.State):
    loaded: bool = False
    search: str = ""
    role_filter: str = ALL
    active_filter: str = ALL
    confirm_open: bool = False
    confirm_disable: bool = True  # the dialog asks to disable (True) or to enable (False)
    confirm_text: str = ""
    _confirm_user_id: str = ""
    reset_open: bool = False  # the dialog confirming a two-factor reset (a lost phone)
    reset_text: str = ""
    _reset_user_id: str = ""
    _rows: list[AdminUser] = []
    # Who is looking, kept by `load`: reading AuthState here would load this tab with every
    # AuthState event of every page.
    _viewer_id: str = ""

    @rx.var
    def users(self) -> list[UserView]:
        locale = self._display_locale()
        me = self._viewer_id
        return [
            UserView(
                id=str(row.id),
                email=row.email,
                full_name=row.full_name,
                role=str(row.role),
                active=row.is_active,
                joined=format_datetime(row.created_at, TIMEZONE, locale),
                is_self=str(row.id) == me,
            )
            for row in self._rows
        ]

    @rx.event
    async def load(self):
        """When the Users tab opens, and after each search, filter or page change."""
        self.loaded = False
        async with service_call(self) as call:
            self._viewer_id = str(call.user.id) if call.user else ""
            page = users.search_users(
                call.session,
                actor=call.user,
                search=self.search,
                role=None if self.role_filter == ALL else self.role_filter,
                active=None if self.active_filter == ALL else self.active_filter == "active",
                limit=PAGE_SIZE,
                offset=self.offset,
            )
        if call.failed:
            self._rows = []
            self.total = 0
            self.loaded = True
            return call.error_toast()
        self._rows = page.items
        self.total = page.total
        self.loaded = True
        return None

    @rx.event
    def run_search(self, form_data: dict[str, str]):
        self.search = (form_data.get("search") or "").strip()[:MAX_SEARCH]
        self.offset = 0
        return AdminUsersState.load

    @rx.event
    def set_role_filter(self, role: str):
        self.role_filter = role if role in ROLES else ALL
        self.offset = 0
        return AdminUsersState.load

    @rx.event
    def set_active_filter(self, value: str):
        self.active_filter = value if value in ACTIVE_FILTERS else ALL
        self.offset = 0
        return AdminUsersState.load

    @rx.event
    async def change_role(self, user_id: str, role: str):
        wanted = parse_id(user_id)
        if wanted is None:
            return rx.toast.error(translate("error.not_found", await self._remember_locale()))
        async with service_call(self) as call:
            changed = users.set_user_role(call.session, actor=call.user, user_id=wanted, role=role, now=call.now)
        if call.failed:
            # Show the unchanged role again: the select already moved in the browser.
            self._rows = list(self._rows)
            return call.error_toast()
        self._replace_row(changed)
        role_name = call.text(f"role.{changed.role}")
        toast = rx.toast.success(call.text("admin.role_changed", email=changed.email, role=role_name))
        if call.user is not None and changed.id == call.user.id:
            return [toast, AdminState.load]  # an admin who stepped down loses this page at once
        return [toast, AdminState.refresh_overview]

    @rx.event
    async def ask_toggle(self, user_id: str):
        """Open the confirmation to disable (or enable) one user of the list."""
        row = next((r for r in self._rows if str(r.id) == user_id), None)
        if row is None:
            return
        locale = await self._remember_locale()
        self._confirm_user_id = user_id
        self.confirm_disable = row.is_active
        key = "admin.confirm_disable_text" if row.is_active else "admin.confirm_enable_text"
        self.confirm_text = translate(key, locale, email=row.email)
        self.confirm_open = True

    @rx.event
    def set_confirm_open(self, is_open: bool):
        self.confirm_open = is_open
        if not is_open:
            self._confirm_user_id = ""

    @rx.event
    async def confirm_toggle(self):
        user_id = parse_id(self._confirm_user_id)
        disable = self.confirm_disable
        self.confirm_open = False
        self._confirm_user_id = ""
        if user_id is None:
            return None
        change = users.disable_user if disable else users.enable_user
        async with service_call(self) as call:
            changed = change(call.session, actor=call.user, user_id=user_id, now=call.now)
        if call.failed:
            return call.error_toast()
        self._replace_row(changed)
        key = "admin.user_disabled" if disable else "admin.user_enabled"
        return [rx.toast.success(call.text(key, email=changed.email)), AdminState.refresh_overview]

    @rx.event
    async def ask_reset_two_factor(self, user_id: str):
        """Open the confirmation to reset one user's two-factor sign-in."""
        row = next((r for r in self._rows if str(r.id) == user_id), None)
        if row is None:
            return
        locale = await self._remember_locale()
        self._reset_user_id = user_id
        self.reset_text = translate("admin.confirm_reset_two_factor_text", locale, email=row.email)
        self.reset_open = True

    @rx.event
    def set_reset_open(self, is_open: bool):
        self.reset_open = is_open
        if not is_open:
            self._reset_user_id = ""

    @rx.event
    async def confirm_reset_two_factor(self):
        user_id = parse_id(self._reset_user_id)
        self.reset_open = False
        self._reset_user_id = ""
        if user_id is None:
            return None
        async with service_call(self) as call:
            changed = users.reset_two_factor(call.session, actor=call.user, user_id=user_id, now=call.now)
        if call.failed:
            return call.error_toast()
        return rx.toast.success(call.text("admin.two_factor_reset_done", email=changed.email))

    def _replace_row(self, changed: AdminUser) -> None:
        self._rows = [changed if row.id == changed.id else row for row in self._rows]


# ---------------------------------------------------------------------------------------------
# Organizations


@dataclasses.dataclass(frozen=True)
class OrganizationView:
    id: str
    name: str
    slug: str
    members: int
    events: int
    owners: str
    created: str


@private_state
class AdminOrganizationsState(OffsetPaging, rx.State):
    loaded: bool = False
    search: str = ""
    _rows: list[AdminOrganization] = []

    @rx.var
    def organizations(self) -> list[OrganizationView]:
        locale = self._display_locale()
        return [
            OrganizationView(
                id=str(row.id),
                name=row.name,
                slug=row.slug,
                members=row.members,
                events=row.events,
                owners=", ".join(row.owners) or "—",
                created=format_datetime(row.created_at, TIMEZONE, locale),
            )
            for row in self._rows
        ]

    @rx.event
    async def load(self):
        self.loaded = False
        async with service_call(self) as call:
            page = platform.list_organizations(
                call.session, actor=call.user, search=self.search, limit=PAGE_SIZE, offset=self.offset
            )
        if call.failed:
            self._rows = []
            self.total = 0
            self.loaded = True
            return call.error_toast()
        self._rows = page.items
        self.total = page.total
        self.loaded = True
        return None

    @rx.event
    def run_search(self, form_data: dict[str, str]):
        self.search = (form_data.get("search") or "").strip()[:MAX_SEARCH]
        self.offset = 0
        return AdminOrganizationsState.load


# ---------------------------------------------------------------------------------------------
# Events of every organization


@dataclasses.dataclass(frozen=True)
class EventView:
    id: str
    title: str
    status: str
    status_label: str
    organization_name: str
    starts: str
    sold: str
    office_url: str


@private_state
class AdminEventsState(OffsetPaging, rx.State):
    loaded: bool = False
    search: str = ""
    status_filter: str = ALL
    _rows: list[AdminEvent] = []

    @rx.var
    def events(self) -> list[EventView]:
        locale = self._display_locale()
        return [
            EventView(
                id=str(row.id),
                title=row.title,
                status=str(row.status),
                status_label=translate(f"status.{row.status}", locale),
                organization_name=row.organization_name,
                starts=format_datetime(row.starts_at, row.timezone, locale),
                sold=f"{row.sold} / {row.capacity}",
                office_url=routes.organizer_event_url(row.id),
            )
            for row in self._rows
        ]

    @rx.event
    async def load(self):
        self.loaded = False
        async with service_call(self) as call:
            page = platform.list_all_events(
                call.session,
                actor=call.user,
                search=self.search,
                status=None if self.status_filter == ALL else self.status_filter,
                limit=PAGE_SIZE,
                offset=self.offset,
            )
        if call.failed:
            self._rows = []
            self.total = 0
            self.loaded = True
            return call.error_toast()
        self._rows = page.items
        self.total = page.total
        self.loaded = True
        return None

    @rx.event
    def run_search(self, form_data: dict[str, str]):
        self.search = (form_data.get("search") or "").strip()[:MAX_SEARCH]
        self.offset = 0
        return AdminEventsState.load

    @rx.event
    def set_status_filter(self, status: str):
        self.status_filter = status if status in EVENT_STATUSES else ALL
        self.offset = 0
        return AdminEventsState.load


# ---------------------------------------------------------------------------------------------
# Recent changes made through the admin area


@dataclasses.dataclass(frozen=True)
class ChangeView:
    id: str
    when: str
    action: str
    text: str


@private_state
class AdminChangesState(LocalizedState, rx.State):
    loaded: bool = False
    _rows: list[AdminChange] = []

    @rx.var
    def changes(self) -> list[ChangeView]:
        locale = self._display_locale()
        return [
            ChangeView(
                id=str(row.id),
                when=format_datetime(row.created_at, TIMEZONE, locale),
                action=row.action,
                text=_change_text(row, locale),
            )
            for row in self._rows
        ]

    @rx.event
    async def load(self):
        self.loaded = False
        async with service_call(self) as call:
            rows = platform.recent_admin_changes(call.session, actor=call.user)
        self.loaded = True
        if call.failed:
            self._rows = []
            return call.error_toast()
        self._rows = rows
        return None


def _change_text(change: AdminChange, locale: str) -> str:
    """One sentence per change, e.g. "admin@x changed the role of y@x from Attendee to Organizer"."""
    params: dict[str, object] = {"actor": change.actor_email or "—", "target": change.target}
    if change.action == "user.role_changed":
        params["old"] = translate(f"role.{change.data.get('from', '')}", locale)
        params["new"] = translate(f"role.{change.data.get('to', '')}", locale)
    return translate(f"admin.change.{change.action}", locale, **params)


SECTION_STATES: tuple[type[rx.State], ...] = (
    AdminUsersState,
    AdminOrganizationsState,
    AdminEventsState,
    AdminChangesState,
)
