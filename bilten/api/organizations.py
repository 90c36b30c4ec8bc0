"""`/api/v1/organizations/...`: found an organization, its team members and their invitations.

Every rule (who may invite, the last owner, one pending invitation per address) lives in
`bilten.services.teams`; these routes only translate JSON to service calls and back.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Response
from pydantic import BaseModel, Field
from sqlmodel import Session

from bilten.api.deps import Caller, get_caller, get_now, get_session
from bilten.api.errors import error_responses
from bilten.api.routing import api_router
from bilten.services import teams
from bilten.services.teams import InvitationRow, MemberRow, OrganizationRow

router = api_router(prefix="/api/v1", tags=["organizations"], responses=error_responses(401, 403, 404, 409, 410, 422))

EventIds = list[Annotated[str, Field(max_length=64)]]


class OrganizationIn(BaseModel):
    name: str = Field(max_length=1000)


class InvitationIn(BaseModel):
    email: str = Field(max_length=320)
    role: str = Field(max_length=40)
    event_ids: EventIds = Field(default_factory=list, max_length=500)


class AcceptIn(BaseModel):
    token: str = Field(max_length=200)


class MemberUpdateIn(BaseModel):
    role: str = Field(max_length=40)
    event_ids: EventIds | None = Field(default=None, max_length=500)


@router.post("/organizations", status_code=201, response_model=OrganizationRow)
def create_organization(
    body: OrganizationIn,
    caller: Caller = Depends(get_caller),
    session: Session = Depends(get_session),
    now: datetime = Depends(get_now),
) -> OrganizationRow:
    """Found an organization; the caller becomes its owner."""
    user = caller.require(session)
    return teams.create_organization(session, actor=user, name=body.name, now=now)


@router.get("/organizations", response_model=list[OrganizationRow])
def my_organizations(
    caller: Caller = Depends(get_caller), session: Session = Depends(get_session)
) -> list[OrganizationRow]:
    """The caller's organizations, with the caller's role in each."""
    user = caller.require(session)
    return teams.list_organizations(session, actor=user)


@router.post("/organizations/{organization_id}/invitations", status_code=201, response_model=InvitationRow)
def invite(
    organization_id: uuid.UUID,
    body: InvitationIn,
    caller: Caller = Depends(get_caller),
    session: Session = Depends(get_session),
    now: datetime = Depends(get_now),
) -> InvitationRow:
    """Owners invite an address with a role (staff: for `event_ids`); the link goes out by email."""
    user = caller.require(session)
    return teams.invite_member(
        session,
        actor=user,
        organization_id=organization_id,
        email=body.email,
        role=body.role,
        event_ids=body.event_ids,
        now=now,
    )


@router.get("/organizations/{organization_id}/invitations", response_model=list[InvitationRow])
def open_invitations(
    organization_id: uuid.UUID,
    caller: Caller = Depends(get_caller),
    session: Session = Depends(get_session),
    now: datetime = Depends(get_now),
) -> list[InvitationRow]:
    user = caller.require(session)
    return teams.list_invitations(session, actor=user, organization_id=organization_id, now=now)


@router.delete("/organizations/{organization_id}/invitations/{invitation_id}", status_code=204)
def revoke_invitation(
    organization_id: uuid.UUID,
    invitation_id: uuid.UUID,
    caller: Caller = Depends(get_caller),
    session: Session = Depends(get_session),
    now: datetime = Depends(get_now),
) -> Response:
    user = caller.require(session)
    teams.revoke_invitation(session, actor=user, organization_id=organization_id, invitation_id=invitation_id, now=now)
    return Response(status_code=204)


@router.post("/invitations/accept", response_model=OrganizationRow)
def accept_invitation(
    body: AcceptIn,
    caller: Caller = Depends(get_caller),
    session: Session = Depends(get_session),
    now: datetime = Depends(get_now),
) -> OrganizationRow:
    """Join with the token from the invitation email, signed in as the invited address."""
    user = caller.require(session)
    return teams.accept_invitation(session, actor=user, token=body.token, now=now)


@router.get("/organizations/{organization_id}/members", response_model=list[MemberRow])
def members(
    organization_id: uuid.UUID, caller: Caller = Depends(get_caller), session: Session = Depends(get_session)
) -> list[MemberRow]:
    user = caller.require(session)
    return teams.list_members(session, actor=user, organization_id=organization_id)


@router.patch("/organizations/{organization_id}/members/{user_id}", response_model=MemberRow)
def change_member_role(
    organization_id: uuid.UUID,
    user_id: uuid.UUID,
    body: MemberUpdateIn,
    caller: Caller = Depends(get_caller),
    session: Session = Depends(get_session),
    now: datetime = Depends(get_now),
) -> MemberRow:
    user = caller.require(session)
    return teams.change_role(
        session,
        actor=user,
        organization_id=organization_id,
        user_id=user_id,
        role=body.role,
        event_ids=body.event_ids,
        now=now,
    )


@router.delete("/organizations/{organization_id}/members/{user_id}", status_code=204)
def remove_member(
    organization_id: uuid.UUID,
    user_id: uuid.UUID,
    caller: Caller = Depends(get_caller),
    session: Session = Depends(get_session),
    now: datetime = Depends(get_now),
) -> Response:
    """Owners remove a member; a member removes themselves to leave."""
    user = caller.require(session)
    teams.remove_member(session, actor=user, organization_id=organization_id, user_id=user_id, now=now)
    return Response(status_code=204)
