"""`/api/v1/admin/...` (platform admins) and `/api/v1/organizer/...` (organizer teams)."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter, Depends
from pydantic import BaseModel
from sqlmodel import Session

from bilten.api.deps import Caller, get_caller, get_now, get_session
from bilten.models import UserPublic
from bilten.services import organizers, users

router = APIRouter(prefix="/api/v1", tags=["admin"])


class RoleIn(BaseModel):
    role: str


class OrganizerEventOut(BaseModel):
    id: uuid.UUID
    organization_name: str
    title: str
    status: str
    starts_at: datetime
    timezone: str
    capacity: int
    reserved: int


@router.get("/admin/users", response_model=list[UserPublic])
def admin_list_users(
    search: str = "", caller: Caller = Depends(get_caller), session: Session = Depends(get_session)
) -> list[UserPublic]:
    user = caller.require(session)
    return users.list_users(session, actor=user, search=search)


@router.put("/admin/users/{user_id}/role", response_model=UserPublic)
def admin_set_role(
    user_id: uuid.UUID,
    body: RoleIn,
    caller: Caller = Depends(get_caller),
    session: Session = Depends(get_session),
    now: datetime = Depends(get_now),
) -> UserPublic:
    user = caller.require(session)
    return users.set_user_role(session, actor=user, user_id=user_id, role=body.role, now=now)


@router.get("/organizer/events", response_model=list[OrganizerEventOut])
def organizer_events(caller: Caller = Depends(get_caller), session: Session = Depends(get_session)) -> list:
    user = caller.require(session)
    return [OrganizerEventOut(**row.__dict__) for row in organizers.list_organizer_events(session, actor=user)]
