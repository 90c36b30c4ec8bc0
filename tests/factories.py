"""Small builders for test data; each returns committed rows."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session

from bilten.models import (
    Event,
    EventStatus,
    Membership,
    Organization,
    Role,
    StaffAssignment,
    TeamRole,
    TicketType,
    User,
)
from bilten.services.security import hash_password
from bilten.services.ticket_codes import generate_event_keys

DEFAULT_PASSWORD = "Correct-horse-42"
_counter = iter(range(1, 10**9))


def make_user(
    session: Session,
    *,
    role: Role = Role.ATTENDEE,
    email: str | None = None,
    password: str = DEFAULT_PASSWORD,
    now: datetime,
    verified: bool = True,
) -> User:
    user = User(
        email=email or f"user{next(_counter)}@example.org",
        password_hash=hash_password(password),
        role=role,
        created_at=now,
        password_changed_at=now,
        email_verified_at=now if verified else None,
    )
    session.add(user)
    session.commit()
    return user


def make_organization(session: Session, *, members: tuple[User, ...] = (), now: datetime) -> Organization:
    n = next(_counter)
    org = Organization(name=f"Org {n}", slug=f"org-{n}", created_at=now)
    session.add(org)
    session.flush()
    for member in members:
        session.add(Membership(organization_id=org.id, user_id=member.id, team_role=TeamRole.OWNER, created_at=now))
    session.commit()
    return org


def make_event(
    session: Session,
    *,
    organization: Organization,
    now: datetime,
    title: str = "Concert",
    status: EventStatus = EventStatus.PUBLISHED,
    days_ahead: int = 10,
    city: str = "Berlin",
    timezone: str = "Europe/Berlin",
    prices: tuple[int, ...] = (2500,),
    quantity: int = 100,
    currency: str = "EUR",
) -> Event:
    starts = now + timedelta(days=days_ahead)
    keys = generate_event_keys()
    event = Event(
        signing_public_key=keys.public_key,
        signing_private_key_sealed=keys.encrypted_private_key,
        organization_id=organization.id,
        title=title,
        slug=title.lower().replace(" ", "-"),
        status=status,
        venue_name="Hall",
        city=city,
        timezone=timezone,
        starts_at=starts,
        ends_at=starts + timedelta(hours=3),
        created_at=now,
    )
    session.add(event)
    session.flush()
    for position, price in enumerate(prices):
        session.add(
            TicketType(
                event_id=event.id,
                name=f"Type {position}",
                price_minor=price,
                currency=currency,
                quantity=quantity,
                position=position,
            )
        )
    session.commit()
    return event


def assign_staff(session: Session, *, event: Event, user: User, now: datetime) -> None:
    session.add(StaffAssignment(event_id=event.id, user_id=user.id, created_at=now))
    session.commit()
