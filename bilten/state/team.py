"""Organizations and their teams in the organizer area: the list of one's organizations, founding
a new one, and an organization's team page (members, roles, invitations)."""

from __future__ import annotations

import dataclasses
import uuid

import reflex as rx

from bilten import routes
from bilten.i18n import format_datetime, translate
from bilten.ids import parse_id
from bilten.models import TeamRole
from bilten.services import teams
from bilten.services.access import Permission
from bilten.services.errors import NotFound
from bilten.services.teams import EventChoice, InvitationRow, MemberRow, OrganizationRow
from bilten.state.auth import private_state
from bilten.state.base import service_call
from bilten.state.i18n import LocalizedState

ROLES = [role.value for role in (TeamRole.OWNER, TeamRole.MANAGER, TeamRole.VIEWER, TeamRole.STAFF)]


# ---------------------------------------------------------------------------------------------
# Public shapes: display text only


@dataclasses.dataclass(frozen=True)
class OrganizationView:
    id: str = ""
    name: str = ""
    role_label: str = ""
    team_url: str = ""
    webhooks_url: str = ""
    is_owner: bool = False


@dataclasses.dataclass(frozen=True)
class MemberView:
    user_id: str
    email: str
    full_name: str
    role: str
    role_label: str
    events: str
    is_self: bool


@dataclasses.dataclass(frozen=True)
class InvitationView:
    id: str
    email: str
    role_label: str
    events: str
    expires: str
    expired: bool


@dataclasses.dataclass(frozen=True)
class EventChoiceView:
    id: str
    title: str
    when: str
    selected: bool


# ---------------------------------------------------------------------------------------------
# The user's organizations (a panel of the organizer page)


@private_state
class MyOrganizationsState(LocalizedState, rx.State):
    loaded: bool = False
    _rows: list[OrganizationRow] = []

    @rx.var
    def organizations(self) -> list[OrganizationView]:
        locale = self._display_locale()
        return [
            OrganizationView(
                id=str(row.id),
                name=row.name,
                role_label=translate(f"team.role.{row.role}", locale) if row.role else "",
                team_url=routes.team_url(row.id),
                webhooks_url=routes.webhooks_url(row.id),
                is_owner=row.role == TeamRole.OWNER,
            )
            for row in self._rows
        ]

    @rx.event
    async def load(self):
        """When the organizer page's panel mounts: the organizations the user belongs to."""
        async with service_call(self) as call:
            self._rows = teams.list_organizations(call.session, actor=call.user)
        if call.failed:
            self._rows = []
        self.loaded = True


# ---------------------------------------------------------------------------------------------
# Founding an organization


class NewOrganizationState(rx.State):
    loaded: bool = False
    error: str = ""

    @rx.event
    async def load(self):
        """on_load of /organizer/organizations/new: any signed-in user may found one."""
        self.loaded = False
        self.error = ""
        async with service_call(self) as call:
            access = await call.guard(Permission.ACCOUNT)
        self.loaded = True
        return call.error_toast() if call.failed else access.redirect

    @rx.event
    async def create(self, form_data: dict[str, str]):
        self.error = ""
        async with service_call(self) as call:
            created = teams.create_organization(
                call.session, actor=call.user, name=(form_data.get("name") or "")[:1000], now=call.now
            )
        if call.failed:
            self.error = call.error
            return None
        return [
            rx.toast.success(call.text("team.created", name=created.name)),
            rx.redirect(routes.team_url(created.id)),
        ]


# ---------------------------------------------------------------------------------------------
# One organization's team page


@private_state
class TeamState(LocalizedState, rx.State):
    """The route gives this state the `organization_id` var; `_organization_id` is the one the guard allowed."""

    loaded: bool = False
    not_found: bool = False
    organization_name: str = ""
    invite_role: str = TeamRole.MANAGER.value
    invite_error: str = ""
    _organization_id: str = ""
    _user_id: str = ""
    _members: list[MemberRow] = []
    _invitations: list[InvitationRow] = []
    _events: list[EventChoice] = []
    _invite_events: list[str] = []

    # The removal confirmation: whom, and what it says.
    confirm_open: bool = False
    confirm_text: str = ""
    _confirm_user_id: str = ""

    # The dialog that makes a member staff: whom, for which events, and what went wrong.
    staff_dialog_open: bool = False
    staff_dialog_text: str = ""
    staff_dialog_error: str = ""
    _staff_user_id: str = ""
    _staff_events: list[str] = []

    @rx.var
    def members(self) -> list[MemberView]:
        locale = self._display_locale()
        return [
            MemberView(
                user_id=str(m.user_id),
                email=m.email,
                full_name=m.full_name,
                role=m.role.value,
                role_label=translate(f"team.role.{m.role.value}", locale),
                events=", ".join(m.events),
                is_self=str(m.user_id) == self._user_id,
            )
            for m in self._members
        ]

    @rx.var
    def invitations(self) -> list[InvitationView]:
        locale = self._display_locale()
        titles = {str(e.id): e.title for e in self._events}
        return [
            InvitationView(
                id=str(i.id),
                email=i.email,
                role_label=translate(f"team.role.{i.role.value}", locale),
                events=", ".join(titles.get(str(e), "—") for e in i.event_ids),
                expires=format_datetime(i.expires_at, "UTC", locale),
                expired=i.expired,
            )
            for i in self._invitations
        ]

    @rx.var
    def event_choices(self) -> list[EventChoiceView]:
        locale = self._display_locale()
        return [
            EventChoiceView(
                id=str(e.id),
                title=e.title,
                when=format_datetime(e.starts_at, e.timezone, locale),
                selected=str(e.id) in self._invite_events,
            )
            for e in self._events
        ]

    @rx.var
    def staff_event_choices(self) -> list[EventChoiceView]:
        locale = self._display_locale()
        return [
            EventChoiceView(
                id=str(e.id),
                title=e.title,
                when=format_datetime(e.starts_at, e.timezone, locale),
                selected=str(e.id) in self._staff_events,
            )
            for e in self._events
        ]

    @rx.var
    def ready(self) -> bool:
        return bool(self._organization_id)

    @rx.var
    def has_invitations(self) -> bool:
        return bool(self._invitations)

    @rx.var
    def has_events(self) -> bool:
        return bool(self._events)

    def _route_organization_id(self) -> uuid.UUID:
        """The organization the guard let this user manage (services check again at every action)."""
        organization_id = parse_id(self._organization_id)
        if organization_id is None:
            raise NotFound()
        return organization_id

    @rx.event
    async def load(self):
        """on_load: the organization's owners (and admins) only (Permission.ORGANIZATION_TEAM)."""
        self.loaded = False
        self.not_found = False
        self._organization_id = ""
        self._reset_invite_form()
        self._close_staff_dialog()
        async with service_call(self) as call:
            organization_id = parse_id(self.organization_id)  # the dynamic route argument
            if organization_id is None:
                raise NotFound()
            access = await call.guard(Permission.ORGANIZATION_TEAM, organization_id=organization_id)
            if access.user is None:
                self._members, self._invitations, self._events = [], [], []
                self.loaded = True
                return access.redirect
            overview = teams.team_overview(
                call.session, actor=access.user, organization_id=organization_id, now=call.now
            )
            self._user_id = str(access.user.id)
        if isinstance(call.failure, NotFound):
            self.not_found = True
            self.loaded = True
            return None
        if call.failed:
            return call.error_toast()
        self._organization_id = str(organization_id)
        self.organization_name = overview.organization.name
        self._members = overview.members
        self._invitations = overview.invitations
        self._events = overview.events
        self.loaded = True
        return None

    def _reset_invite_form(self) -> None:
        self.invite_role = TeamRole.MANAGER.value
        self.invite_error = ""
        self._invite_events = []

    @rx.event
    def set_invite_role(self, role: str):
        self.invite_role = role if role in ROLES else TeamRole.MANAGER.value

    @rx.event
    def toggle_invite_event(self, event_id: str, checked: bool):
        chosen = [e for e in self._invite_events if e != event_id]
        if checked and any(str(e.id) == event_id for e in self._events):
            chosen.append(event_id)
        self._invite_events = chosen

    @rx.event
    async def invite(self, form_data: dict[str, str]):
        self.invite_error = ""
        async with service_call(self) as call:
            row = teams.invite_member(
                call.session,
                actor=call.user,
                organization_id=self._route_organization_id(),
                email=(form_data.get("email") or "")[:320],
                role=self.invite_role,
                event_ids=self._invite_events if self.invite_role == TeamRole.STAFF else [],
                now=call.now,
            )
        if call.failed:
            self.invite_error = call.error
            return None
        self._invitations = [row, *self._invitations]
        self._reset_invite_form()
        return [
            rx.toast.success(call.text("team.invited", email=row.email)),
            rx.call_script("document.getElementById('invite-form')?.reset()"),
        ]

    @rx.event
    async def revoke(self, invitation_id: str):
        row = next((i for i in self._invitations if str(i.id) == invitation_id), None)
        if row is None:
            return None
        async with service_call(self) as call:
            teams.revoke_invitation(
                call.session,
                actor=call.user,
                organization_id=self._route_organization_id(),
                invitation_id=row.id,
                now=call.now,
            )
        if call.failed:
            return call.error_toast()
        self._invitations = [i for i in self._invitations if i.id != row.id]
        return rx.toast.success(call.text("team.revoked", email=row.email))

    @rx.event
    async def change_role(self, user_id: str, role: str):
        locale = await self._remember_locale()
        member = next((m for m in self._members if str(m.user_id) == user_id), None)
        if member is None or role == member.role.value:
            return None
        if role == TeamRole.STAFF:
            # Staff scan at chosen events: the dialog asks which before anything changes.
            self._open_staff_dialog(member, locale)
            return None
        async with service_call(self) as call:
            changed = teams.change_role(
                call.session,
                actor=call.user,
                organization_id=self._route_organization_id(),
                user_id=member.user_id,
                role=role,
                now=call.now,
            )
        if call.failed:
            # The select shows the role the member still has (it was never changed).
            self._members = list(self._members)
            return call.error_toast()
        self._members = [changed if m.user_id == changed.user_id else m for m in self._members]
        label = call.text(f"team.role.{changed.role.value}")
        return rx.toast.success(call.text("team.role_changed", email=changed.email, role=label))

    def _open_staff_dialog(self, member: MemberRow, locale: str) -> None:
        self._staff_user_id = str(member.user_id)
        self._staff_events = []
        self.staff_dialog_error = ""
        self.staff_dialog_text = translate("team.staff_dialog_text", locale, email=member.email)
        self.staff_dialog_open = True
        self._members = list(self._members)  # the select keeps showing the current role meanwhile

    def _close_staff_dialog(self) -> None:
        self.staff_dialog_open = False
        self.staff_dialog_error = ""
        self._staff_user_id = ""
        self._staff_events = []

    @rx.event
    def set_staff_dialog_open(self, is_open: bool):
        """Closing the dialog (Cancel, Escape, a click outside) leaves the role as it was."""
        if not is_open:
            self._close_staff_dialog()
            self._members = list(self._members)  # the select shows the unchanged role again

    @rx.event
    def toggle_staff_event(self, event_id: str, checked: bool):
        chosen = [e for e in self._staff_events if e != event_id]
        if checked and any(str(e.id) == event_id for e in self._events):
            chosen.append(event_id)
        self._staff_events = chosen

    @rx.event
    async def save_staff_events(self):
        member = next((m for m in self._members if str(m.user_id) == self._staff_user_id), None)
        if member is None:
            self._close_staff_dialog()
            return None
        self.staff_dialog_error = ""
        async with service_call(self) as call:
            changed = teams.change_role(
                call.session,
                actor=call.user,
                organization_id=self._route_organization_id(),
                user_id=member.user_id,
                role=TeamRole.STAFF,
                event_ids=list(self._staff_events),
                now=call.now,
            )
        if call.failed:
            self.staff_dialog_error = call.error
            return None
        self._close_staff_dialog()
        self._members = [changed if m.user_id == changed.user_id else m for m in self._members]
        label = call.text(f"team.role.{changed.role.value}")
        return rx.toast.success(call.text("team.role_changed", email=changed.email, role=label))

    @rx.event
    async def ask_remove(self, user_id: str):
        member = next((m for m in self._members if str(m.user_id) == user_id), None)
        if member is None:
            return
        locale = await self._remember_locale()
        self._confirm_user_id = user_id
        key = "team.confirm_leave_text" if user_id == self._user_id else "team.confirm_remove_text"
        self.confirm_text = translate(key, locale, email=member.email, organization=self.organization_name)
        self.confirm_open = True

    @rx.event
    def set_confirm_open(self, is_open: bool):
        self.confirm_open = is_open
        if not is_open:
            self._confirm_user_id = ""

    @rx.event
    async def confirm_remove(self):
        member = next((m for m in self._members if str(m.user_id) == self._confirm_user_id), None)
        self.confirm_open = False
        self._confirm_user_id = ""
        if member is None:
            return None
        async with service_call(self) as call:
            teams.remove_member(
                call.session,
                actor=call.user,
                organization_id=self._route_organization_id(),
                user_id=member.user_id,
                now=call.now,
            )
        if call.failed:
            return call.error_toast()
        if str(member.user_id) == self._user_id:  # they left: this page is no longer theirs
            return [
                rx.toast.success(call.text("team.left", organization=self.organization_name)),
                rx.redirect(routes.ORGANIZER),
            ]
        self._members = [m for m in self._members if m.user_id != member.user_id]
        return rx.toast.success(call.text("team.removed", email=member.email))
