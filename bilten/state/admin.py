"""Platform administration: the users list with a search and each user's role."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime

import reflex as rx

from bilten.db import session_scope
from bilten.i18n import translate
from bilten.models import Role
from bilten.services.access import Permission
from bilten.services.errors import BiltenError
from bilten.services.users import list_users, set_user_role
from bilten.state.auth import acting_user, error_text, guard, private_state
from bilten.state.i18n import current_locale

ROLES = [role.value for role in Role]


@dataclasses.dataclass(frozen=True)
class UserRow:
    id: str
    email: str
    full_name: str
    role: str


@private_state
class AdminState(rx.State):
    loaded: bool = False
    search: str = ""
    users: list[UserRow] = []

    @rx.event
    async def load(self):
        """on_load: admins only; everyone else gets the guard's redirect or "not allowed"."""
        self.loaded = False
        with session_scope() as session:
            access = await guard(self, session, Permission.ADMIN, now=datetime.now(UTC))
            if access.user is None:
                self.users = []
                self.loaded = True
                return access.redirect
            self.users = _rows(list_users(session, actor=access.user, search=self.search))
        self.loaded = True
        return None

    @rx.event
    async def run_search(self, form_data: dict[str, str]):
        self.search = (form_data.get("search") or "")[:200]
        locale = await current_locale(self)
        try:
            with session_scope() as session:
                actor = await acting_user(self, session, datetime.now(UTC))
                self.users = _rows(list_users(session, actor=actor, search=self.search))
        except BiltenError as exc:
            return rx.toast.error(error_text(exc, locale))
        return None

    @rx.event
    async def change_role(self, user_id: str, role: str):
        locale = await current_locale(self)
        try:
            with session_scope() as session:
                actor = await acting_user(self, session, datetime.now(UTC))
                changed = set_user_role(
                    session, actor=actor, user_id=uuid.UUID(user_id), role=role, now=datetime.now(UTC)
                )
        except ValueError:
            return rx.toast.error(translate("error.not_found", locale))
        except BiltenError as exc:
            # Show the unchanged role again: the select already moved in the browser.
            self.users = list(self.users)
            return rx.toast.error(error_text(exc, locale))
        self.users = [
            dataclasses.replace(row, role=str(changed.role)) if row.id == user_id else row for row in self.users
        ]
        role_name = translate(f"role.{changed.role}", locale)
        return rx.toast.success(translate("admin.role_changed", locale, email=changed.email, role=role_name))


def _rows(users: list) -> list[UserRow]:
    return [UserRow(id=str(u.id), email=u.email, full_name=u.full_name, role=str(u.role)) for u in users]
