"""An organization's outgoing webhooks page: its endpoints, their recent deliveries with "Send
again", adding, switching off/on, new secrets and deleting. Owners only (services/webhooks.py)."""

from __future__ import annotations

import dataclasses
import uuid

import reflex as rx

from bilten.i18n import format_datetime, translate
from bilten.ids import parse_id
from bilten.services import teams, webhooks
from bilten.services.access import Permission
from bilten.services.errors import NotFound
from bilten.services.webhooks import DeliveryRow, EndpointRow
from bilten.state.auth import private_state
from bilten.state.base import service_call
from bilten.state.i18n import LocalizedState

EVENT_TYPES = list(webhooks.EVENT_TYPES)


@dataclasses.dataclass(frozen=True)
class EndpointView:
    id: str
    url: str
    events: str
    active: bool
    failures: str


@dataclasses.dataclass(frozen=True)
class DeliveryView:
    id: str
    endpoint_id: str
    event_type: str
    status: str
    status_label: str
    attempts: int
    when: str
    result: str
    can_send_again: bool


@dataclasses.dataclass(frozen=True)
class EventTypeChoice:
    name: str
    selected: bool


@private_state
class WebhooksState(LocalizedState, rx.State):
    """The route gives this state the `organization_id` var; `_organization_id` is the one the guard allowed."""

    loaded: bool = False
    not_found: bool = False
    organization_name: str = ""
    form_error: str = ""
    # The signing secret of the endpoint just added or rotated, shown once to the owner who made it.
    new_secret: str = ""
    _organization_id: str = ""
    _endpoints: list[EndpointRow] = []
    _deliveries: list[DeliveryRow] = []
    _new_events: list[str] = ["order.paid"]

    @rx.var
    def endpoints(self) -> list[EndpointView]:
        locale = self._display_locale()
        return [
            EndpointView(
                id=str(e.id),
                url=e.url,
                events=", ".join(e.events),
                active=e.active,
                failures=translate("webhooks.failures", locale, count=e.consecutive_failures)
                if e.consecutive_failures
                else "",
            )
            for e in self._endpoints
        ]

    @rx.var
    def deliveries(self) -> list[DeliveryView]:
        locale = self._display_locale()
        active = {e.id for e in self._endpoints if e.active}
        views = []
        for d in self._deliveries:
            if d.last_status_code is not None:
                result = f"HTTP {d.last_status_code}"
            else:
                result = d.last_error
            views.append(
                DeliveryView(
                    id=str(d.id),
                    endpoint_id=str(d.endpoint_id),
                    event_type=d.event_type,
                    status=d.status,
                    status_label=translate(f"webhooks.status.{d.status}", locale),
                    attempts=d.attempts,
                    when=format_datetime(d.created_at, "UTC", locale),
                    result=result,
                    can_send_again=d.endpoint_id in active and d.status != "sending",
                )
            )
        return views

    @rx.var
    def event_choices(self) -> list[EventTypeChoice]:
        return [EventTypeChoice(name=name, selected=name in self._new_events) for name in EVENT_TYPES]

    @rx.var
    def ready(self) -> bool:
        return bool(self._organization_id)

    @rx.var
    def has_endpoints(self) -> bool:
        return bool(self._endpoints)

    def _route_organization_id(self) -> uuid.UUID:
        organization_id = parse_id(self._organization_id)
        if organization_id is None:
            raise NotFound()
        return organization_id

    def _reload(self, session, user) -> None:  # noqa: ANN001 - inside a service_call
        organization_id = self._route_organization_id()
        self._endpoints = webhooks.list_endpoints(session, actor=user, organization_id=organization_id)
        deliveries: list[DeliveryRow] = []
        for endpoint in self._endpoints:
            deliveries += webhooks.list_deliveries(
                session, actor=user, organization_id=organization_id, endpoint_id=endpoint.id, limit=10
            )
        self._deliveries = deliveries

    @rx.event
    async def load(self):
        """on_load: the organization's owners (and admins) only (Permission.ORGANIZATION_TEAM)."""
        self.loaded = False
        self.not_found = False
        self.form_error = ""
        self.new_secret = ""
        self._organization_id = ""
        async with service_call(self) as call:
            organization_id = parse_id(self.organization_id)  # the dynamic route argument
            if organization_id is None:
                raise NotFound()
            access = await call.guard(Permission.ORGANIZATION_TEAM, organization_id=organization_id)
            if access.user is None:
                self._endpoints, self._deliveries = [], []
                self.loaded = True
                return access.redirect
            self._organization_id = str(organization_id)
            names = {row.id: row.name for row in teams.list_organizations(call.session, actor=access.user)}
            self.organization_name = names.get(organization_id, "")
            self._reload(call.session, access.user)
        if isinstance(call.failure, NotFound):
            self.not_found = True
            self._organization_id = ""
            self.loaded = True
            return None
        self.loaded = True
        return call.error_toast() if call.failed else None

    @rx.event
    def toggle_new_event(self, name: str, checked: bool):
        chosen = [e for e in self._new_events if e != name]
        if checked and name in EVENT_TYPES:
            chosen.append(name)
        self._new_events = chosen

    @rx.event
    async def create(self, form_data: dict[str, str]):
        self.form_error = ""
        self.new_secret = ""
        async with service_call(self) as call:
            created = webhooks.create_endpoint(
                call.session,
                actor=call.user,
                organization_id=self._route_organization_id(),
                url=(form_data.get("url") or "")[: webhooks.MAX_URL_LENGTH],
                events=self._new_events,
                now=call.now,
            )
            self._reload(call.session, call.user)
        if call.failed:
            self.form_error = call.error
            return None
        self.new_secret = created.secret or ""
        return rx.toast.success(call.text("webhooks.created"))

    @rx.event
    async def set_active(self, endpoint_id: str, active: bool):
        async with service_call(self) as call:
            webhooks.update_endpoint(
                call.session,
                actor=call.user,
                organization_id=self._route_organization_id(),
                endpoint_id=parse_id(endpoint_id) or uuid.UUID(int=0),
                active=active,
                now=call.now,
            )
            self._reload(call.session, call.user)
        return call.error_toast() if call.failed else rx.toast.success(call.text("webhooks.updated"))

    @rx.event
    async def rotate(self, endpoint_id: str):
        async with service_call(self) as call:
            rotated = webhooks.rotate_secret(
                call.session,
                actor=call.user,
                organization_id=self._route_organization_id(),
                endpoint_id=parse_id(endpoint_id) or uuid.UUID(int=0),
                now=call.now,
            )
        if call.failed:
            return call.error_toast()
        self.new_secret = rotated.secret or ""
        return rx.toast.success(call.text("webhooks.rotated"))

    @rx.event
    async def delete(self, endpoint_id: str):
        async with service_call(self) as call:
            webhooks.delete_endpoint(
                call.session,
                actor=call.user,
                organization_id=self._route_organization_id(),
                endpoint_id=parse_id(endpoint_id) or uuid.UUID(int=0),
                now=call.now,
            )
            self._reload(call.session, call.user)
        return call.error_toast() if call.failed else rx.toast.success(call.text("webhooks.deleted"))

    @rx.event
    async def send_again(self, endpoint_id: str, delivery_id: str):
        """The "Send again" button: the worker posts the same delivery once more."""
        async with service_call(self) as call:
            webhooks.redeliver(
                call.session,
                actor=call.user,
                organization_id=self._route_organization_id(),
                endpoint_id=parse_id(endpoint_id) or uuid.UUID(int=0),
                delivery_id=parse_id(delivery_id) or uuid.UUID(int=0),
                now=call.now,
            )
            self._reload(call.session, call.user)
        return call.error_toast() if call.failed else rx.toast.success(call.text("webhooks.sent_again"))
