"""The door: scanning devices, online validation, offline data and uploads, the check-in list, staff."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import Depends, Query, Request
from pydantic import BaseModel, Field
from sqlmodel import Session

from bilten import ratelimit
from bilten.api.deps import Caller, get_caller, get_client_address, get_now, get_session
from bilten.api.errors import error_responses, request_locale
from bilten.api.routing import api_router
from bilten.i18n import translate
from bilten.services import checkins, devices, door_answers, staff
from bilten.services.checkins import CheckInList, OnlineVerdict, ScanData, ScanVerdict
from bilten.services.devices import DeviceSignIn
from bilten.services.staff import ScannableEvent, StaffRow

router = api_router(prefix="/api/v1", tags=["scanning"], responses=error_responses(401, 403, 404, 409, 422, 429))


class DeviceSignInIn(BaseModel):
    email: str = Field(max_length=320)
    password: str = Field(max_length=1000)
    name: str = Field(default="", max_length=200)
    otp: str = Field(default="", max_length=40)  # the one-time code, for accounts with two-factor sign-in


class ValidateIn(BaseModel):
    code: str = Field(
        max_length=2000,
        description="The QR's code, or the ticket's reference as typed (K7QM-4XHT-2P; any case, spaces and dashes)",
    )
    event_id: uuid.UUID
    gate: str = Field(default="", max_length=200)
    nonce: str = Field(min_length=1, max_length=100)
    scanned_at: datetime | None = None
    device_id: str = Field(default="", max_length=200)


class OfflineScanIn(BaseModel):
    code: str = Field(max_length=2000)
    nonce: str = Field(min_length=1, max_length=100)
    scanned_at: datetime
    gate: str = Field(default="", max_length=200)
    device_id: str = Field(default="", max_length=200)
    device_result: str = Field(default="", max_length=20)


class OfflineBatchIn(BaseModel):
    scans: list[OfflineScanIn] = Field(max_length=500)


class StaffIn(BaseModel):
    email: str = Field(max_length=320)
    gate: str = Field(default="", max_length=200)


async def scanner_locale(request: Request) -> str:
    """The door's language (Accept-Language), for ticket type names given in several languages."""
    return request_locale(request)


async def _device_sign_in_within_limits(body: DeviceSignInIn, address: str = Depends(get_client_address)) -> None:
    await ratelimit.check(ratelimit.DEVICE_SIGN_IN, address=address, account=body.email)


async def _validate_within_limits(
    caller: Caller = Depends(get_caller), address: str = Depends(get_client_address)
) -> None:
    # Per device (its token): generous, a busy door scans a ticket every second or two.
    await ratelimit.check(ratelimit.VALIDATE, address=address, account=caller.token)


@router.post(
    "/devices", status_code=201, response_model=DeviceSignIn, dependencies=[Depends(_device_sign_in_within_limits)]
)
def sign_in_device(
    body: DeviceSignInIn, session: Session = Depends(get_session), now: datetime = Depends(get_now)
) -> DeviceSignIn:
    return devices.sign_in_device(
        session, email=body.email, password=body.password, name=body.name, now=now, otp=body.otp
    )


@router.delete("/devices/{device_id}", status_code=204)
def revoke_device(
    device_id: uuid.UUID,
    caller: Caller = Depends(get_caller),
    session: Session = Depends(get_session),
    now: datetime = Depends(get_now),
) -> None:
    user = caller.scanner(session)
    devices.revoke_device(session, actor=user, device_id=device_id, now=now)


@router.get("/scan/events", response_model=list[ScannableEvent])
def my_scannable_events(
    caller: Caller = Depends(get_caller), session: Session = Depends(get_session), now: datetime = Depends(get_now)
) -> list[ScannableEvent]:
    user = caller.scanner(session)
    return staff.scannable_events(session, actor=user, now=now)


@router.post("/orders/validate", response_model=OnlineVerdict, dependencies=[Depends(_validate_within_limits)])
def validate(
    body: ValidateIn,
    caller: Caller = Depends(get_caller),
    session: Session = Depends(get_session),
    now: datetime = Depends(get_now),
    locale: str = Depends(scanner_locale),
) -> OnlineVerdict:
    user = caller.scanner(session)
    verdict = checkins.scan_ticket(
        session,
        actor=user,
        event_id=body.event_id,
        code=body.code,
        nonce=body.nonce,
        scanned_at=body.scanned_at or now,
        now=now,
        gate=body.gate,
        device_id=body.device_id,
    )
    answers = (
        door_answers.scan_answer_texts(
            session,
            actor=user,
            event_id=body.event_id,
            ticket_id=verdict.ticket.id,
            locale=locale,
            yes=translate("question.yes", locale),
            no=translate("question.no", locale),
        )
        if verdict.ticket is not None
        else []
    )
    return OnlineVerdict(**dict(checkins.in_language(verdict, locale)), answers=answers)


@router.get("/events/{event_id}/scan-data", response_model=ScanData)
def scan_data(
    event_id: uuid.UUID,
    caller: Caller = Depends(get_caller),
    session: Session = Depends(get_session),
    now: datetime = Depends(get_now),
) -> ScanData:
    user = caller.scanner(session)
    return checkins.scan_data(session, actor=user, event_id=event_id, now=now)


@router.post("/events/{event_id}/checkins/offline", response_model=list[ScanVerdict])
def upload_offline(
    event_id: uuid.UUID,
    body: OfflineBatchIn,
    caller: Caller = Depends(get_caller),
    session: Session = Depends(get_session),
    now: datetime = Depends(get_now),
    locale: str = Depends(scanner_locale),
) -> list[ScanVerdict]:
    user = caller.scanner(session)
    scans = [checkins.OfflineScan(**scan.model_dump()) for scan in body.scans]
    verdicts = checkins.upload_offline_scans(session, actor=user, event_id=event_id, scans=scans, now=now)
    return [checkins.in_language(verdict, locale) for verdict in verdicts]


@router.get("/events/{event_id}/checkins", response_model=CheckInList)
def checkin_list(
    event_id: uuid.UUID,
    search: str = Query("", max_length=200),
    caller: Caller = Depends(get_caller),
    session: Session = Depends(get_session),
) -> CheckInList:
    user = caller.require(session)
    return checkins.checkin_list(session, actor=user, event_id=event_id, search=search)


@router.post("/tickets/{ticket_id}/check-in", response_model=ScanVerdict)
def manual_check_in(
    ticket_id: uuid.UUID,
    caller: Caller = Depends(get_caller),
    session: Session = Depends(get_session),
    now: datetime = Depends(get_now),
    locale: str = Depends(scanner_locale),
) -> ScanVerdict:
    user = caller.require(session)
    verdict = checkins.check_in_manually(session, actor=user, ticket_id=ticket_id, now=now)
    return checkins.in_language(verdict, locale)


@router.post("/checkins/{checkin_id}/undo", status_code=204)
def undo(
    checkin_id: uuid.UUID,
    caller: Caller = Depends(get_caller),
    session: Session = Depends(get_session),
    now: datetime = Depends(get_now),
) -> None:
    user = caller.require(session)
    checkins.undo_checkin(session, actor=user, checkin_id=checkin_id, now=now)


@router.get("/events/{event_id}/staff", response_model=list[StaffRow])
def event_staff(
    event_id: uuid.UUID, caller: Caller = Depends(get_caller), session: Session = Depends(get_session)
) -> list[StaffRow]:
    user = caller.require(session)
    return staff.list_staff(session, actor=user, event_id=event_id)


@router.post("/events/{event_id}/staff", status_code=201, response_model=StaffRow)
def add_staff(
    event_id: uuid.UUID,
    body: StaffIn,
    caller: Caller = Depends(get_caller),
    session: Session = Depends(get_session),
    now: datetime = Depends(get_now),
) -> StaffRow:
    user = caller.require(session)
    return staff.assign_staff(session, actor=user, event_id=event_id, email=body.email, gate=body.gate, now=now)


@router.delete("/events/{event_id}/staff/{user_id}", status_code=204)
def delete_staff(
    event_id: uuid.UUID,
    user_id: uuid.UUID,
    caller: Caller = Depends(get_caller),
    session: Session = Depends(get_session),
    now: datetime = Depends(get_now),
) -> None:
    user = caller.require(session)
    staff.remove_staff(session, actor=user, event_id=event_id, user_id=user_id, now=now)
