"""`/admin/notifications`: messages that could not be delivered, and a retry for each (admins only)."""

from __future__ import annotations

import dataclasses
import uuid

import reflex as rx

from bilten import clock
from bilten.db import session_scope
from bilten.i18n import format_datetime, translate
from bilten.notifications import NotificationPublic, list_failed_notifications, retry_notification
from bilten.services.access import Permission
from bilten.services.errors import BiltenError
from bilten.state.auth import acting_user, error_text, guard, private_state
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
        await self._remember_locale()
        self.loaded = False
        with session_scope() as session:
            access = await guard(self, session, Permission.ADMIN, now=clock.now())
            if access.user is None:
                self._rows = []
                self.loaded = True
                return access.redirect
            self._rows = list_failed_notifications(session, actor=access.user)
        self.loaded = True
        return None

    @rx.event
    async def retry(self, notification_id: str):
        locale = await self._remember_locale()
        try:
            wanted = uuid.UUID(notification_id)
        except ValueError:
            return rx.toast.error(translate("error.not_found", locale))
        try:
            with session_scope() as session:
                actor = await acting_user(self, session, clock.now())
                retried = retry_notification(session, actor=actor, notification_id=wanted, now=clock.now())
        except BiltenError as exc:
            return [AdminNotificationsState.load, rx.toast.error(error_text(exc, locale))]
        self._rows = [row for row in self._rows if row.id != retried.id]
        return rx.toast.success(translate("notifications.retried", locale, recipient=retried.recipient))
