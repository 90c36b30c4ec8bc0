"""`/admin/notifications`: messages that could not be delivered, and a retry for each (admins only)."""

from __future__ import annotations

import dataclasses

import reflex as rx

from bilten.i18n import format_datetime
from bilten.ids import parse_id
from bilten.notifications import NotificationPublic, list_failed_notifications, retry_notification
from bilten.services.access import Permission
from bilten.services.errors import NotFound
from bilten.state.auth import private_state
from bilten.state.base import service_call
from bilten.state.i18n import LocalizedState

TIMEZONE = "UTC"  # notifications belong to no event: their times are shown in UTC, and say so


@dataclasses.dataclass(frozen=True)
class FailedNotificationView:
    id: str
    recipient: str
    subject: str
    topic: str
    channel: str
    attempts: int
    last_error: str
    failed_at: str


@private_state
class AdminNotificationsState(LocalizedState, rx.State):
    loaded: bool = False
    _rows: list[NotificationPublic] = []

    @rx.var
    def notifications(self) -> list[FailedNotificationView]:
        locale = self._display_locale()
        return [
            FailedNotificationView(
                id=str(row.id),
                recipient=row.recipient,
                subject=row.subject or row.topic,
                topic=row.topic,
                channel=row.channel,
                attempts=row.attempts,
                last_error=row.last_error,
                failed_at=format_datetime(row.failed_at or row.created_at, TIMEZONE, locale),
            )
            for row in self._rows
        ]

    @rx.var
    def has_notifications(self) -> bool:
        return bool(self._rows)

    @rx.event
    async def load(self):
        """on_load: admins only."""
        self.loaded = False
        async with service_call(self) as call:
            access = await call.guard(Permission.ADMIN)
            if access.user is None:
                self._rows = []
                self.loaded = True
                return access.redirect
            self._rows = list_failed_notifications(call.session, actor=access.user)
        self.loaded = True
        return call.error_toast() if call.failed else None

    @rx.event
    async def retry(self, notification_id: str):
        wanted = parse_id(notification_id)
        async with service_call(self) as call:
            if wanted is None:
                raise NotFound()
            retried = retry_notification(call.session, actor=call.user, notification_id=wanted, now=call.now)
        if call.failed:  # the list may be stale: show it as it is now
            return [AdminNotificationsState.load, call.error_toast()]
        self._rows = [row for row in self._rows if row.id != retried.id]
        return rx.toast.success(call.text("notifications.retried", recipient=retried.recipient))
