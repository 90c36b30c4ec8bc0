"""`/api/v1/admin/...` (platform admins) and `/api/v1/organizer/...` (organizer teams)."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import Depends, Query
from pydantic import BaseModel
from sqlmodel import Session

from bilten.api.deps import Caller, get_caller, get_now, get_session
from bilten.api.errors import error_responses
from bilten.api.routing import api_router
from bilten.models import EventStatus, Role
from bilten.services import organizers, platform, users
from bilten.services.organizers import OrganizerEventRow
from bilten.services.platform import EventPage, OrganizationPage
from bilten.services.users import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, MAX_SEARCH_LENGTH, AdminUser, UserPage

router = api_router(prefix="/api/v1", tags=["admin"], responses=error_responses(401, 403, 404, 409, 422))


class RoleIn(BaseModel):
    role: str


@router.get("/admin/users", response_model=UserPage)
def admin_list_users(
    search: str = Query("", max_length=MAX_SEARCH_LENGTH, description="part of the email or name"),
    role: Role | None = None,
    active: bool | None = Query(None, description="true: active accounts only; false: disabled ones only"),
    limit: int = Query(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE),
    offset: int = Query(0, ge=0),
    caller: Caller = Depends(get_caller),
    session: Session = Depends(get_session),
) -> UserPage:
    user = caller.require(session)
    return users.search_users(session, actor=user, search=search, role=role, active=active, limit=limit, offset=offset)


@router.put("/admin/users/{user_id}/role", response_model=AdminUser)
def admin_set_role(
    user_id: uuid.UUID,
    body: RoleIn,
    caller: Caller = Depends(get_caller),
    session: Session = Depends(get_session),
    now: datetime = Depends(get_now),
) -> AdminUser:
    user = caller.require(session)
    return users.set_user_role(session, actor=user, user_id=user_id, role=body.role, now=now)


@router.post("/admin/users/{user_id}/disable", response_model=AdminUser)
def admin_disable_user(
    user_id: uuid.UUID,
    caller: Caller = Depends(get_caller),
    session: Session = Depends(get_session),
    now: datetime = Depends(get_now),
) -> AdminUser:
    """Disable the account and end all its sessions, refresh tokens and scanning devices at once."""
    user = caller.require(session)
    return users.disable_user(session, actor=user, user_id=user_id, now=now)


@router.post("/admin/users/{user_id}/enable", response_model=AdminUser)
def admin_enable_user(
    user_id: uuid.UUID,
    caller: Caller = Depends(get_caller),
    session: Session = Depends(get_session),
    now: datetime = Depends(get_now),
) -> AdminUser:
    user = caller.require(session)
    return users.enable_user(session, actor=user, user_id=user_id, now=now)


@router.post("/admin/users/{user_id}/two-factor/reset", response_model=AdminUser)
def admin_reset_two_factor(
    user_id: uuid.UUID,
    caller: Caller = Depends(get_caller),
    session: Session = Depends(get_session),
    now: datetime = Depends(get_now),
) -> AdminUser:
    """For a user who lost their phone: remove their two-factor sign-in and recovery codes and end
    all their sessions; they sign in with the password and set it up again."""
    user = caller.require(session)
    return users.reset_two_factor(session, actor=user, user_id=user_id, now=now)


@router.get("/admin/organizations", response_model=OrganizationPage)
def admin_list_organizations(
    search: str = Query("", max_length=MAX_SEARCH_LENGTH, description="part of the name or slug"),
    limit: int = Query(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE),
    offset: int = Query(0, ge=0),
    caller: Caller = Depends(get_caller),
    session: Session = Depends(get_session),
) -> OrganizationPage:
    user = caller.require(session)
    return platform.list_organizations(session, actor=user, search=search, limit=limit, offset=offset)


@router.get("/admin/events", response_model=EventPage)
def admin_list_events(
    search: str = Query("", max_length=MAX_SEARCH_LENGTH, description="part of the title"),
    status: EventStatus | None = None,
    limit: int = Query(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE),
    offset: int = Query(0, ge=0),
    caller: Caller = Depends(get_caller),
    session: Session = Depends(get_session),
) -> EventPage:
    """Every organization's events, with seats sold (paid orders) and capacity."""
    user = caller.require(session)
    return platform.list_all_events(session, actor=user, search=search, status=status, limit=limit, offset=offset)


@router.get("/organizer/events", response_model=list[OrganizerEventRow])
def organizer_events(
    caller: Caller = Depends(get_caller), session: Session = Depends(get_session)
) -> list[OrganizerEventRow]:
    user = caller.require(session)
    return organizers.list_organizer_events(session, actor=user)
