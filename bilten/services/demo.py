"""Demo data for `make run`: accounts for every role, two organizations and a handful of events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, select

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
from bilten.services.audit import record_audit
from bilten.services.security import hash_password
from bilten.services.ticket_codes import generate_event_keys
from bilten.services.transaction import transaction


@dataclass(frozen=True)
class DemoAccount:
    email: str
    password: str
    role: Role
    full_name: str


DEMO_ACCOUNTS = (
    DemoAccount("admin@demo.bilten.org", "Demo-admin-2026", Role.ADMIN, "Ada Admin"),
    DemoAccount("organizer@demo.bilten.org", "Demo-organizer-2026", Role.ORGANIZER, "Omar Organizer"),
    DemoAccount("staff@demo.bilten.org", "Demo-staff-2026", Role.STAFF, "Sara Staff"),
    DemoAccount("attendee@demo.bilten.org", "Demo-attendee-2026", Role.ATTENDEE, "Alex Attendee"),
)

# (title, days from now, hours long, tz, city, venue, description, [(type, price minor, currency, qty)])
DEMO_EVENTS = (
    (
        "Riverside Jazz Night",
        9,
        4,
        "Europe/Berlin",
        "Berlin",
        "Spree Hall",
        "An evening of modern jazz by the river, with the Lina Haddad Quartet.",
        [("Standing", 2500, "EUR", 300), ("Seated", 4500, "EUR", 80)],
    ),
    (
        "Bosphorus Tech Summit",
        21,
        9,
        "Europe/Istanbul",
        "Istanbul",
        "Galata Congress Center",
        "Two tracks of talks on open-source infrastructure, payments and offline-first apps.",
        [("Conference pass", 12000, "EUR", 500), ("Student pass", 3000, "EUR", 100)],
    ),
    (
        "Desert Lights Festival",
        35,
        8,
        "Asia/Dubai",
        "Dubai",
        "Al Qudra Open Grounds",
        "Music, food and light installations under the desert sky.",
        [("General admission", 19900, "AED", 2000), ("VIP", 59900, "AED", 150)],
    ),
    (
        "Lisbon Indie Film Premiere",
        14,
        3,
        "Europe/Lisbon",
        "Lisbon",
        "Cinema São Jorge",
        "Premiere screening followed by a Q&A with the director.",
        [("Ticket", 900, "EUR", 250)],
    ),
    (
        "Community Open Day",
        5,
        6,
        "Europe/Berlin",
        "Berlin",
        "Makerspace Kreuzberg",
        "Free entry: workshops, repair café and a tour of the space. Registration required.",
        [("Free entry", 0, "EUR", 120)],
    ),
)


def seed_demo(session: Session, *, now: datetime) -> list[DemoAccount]:
    """Load the demo data into an empty database. Returns the accounts made (none if not empty)."""
    with transaction(session):
        if session.exec(select(User.id).limit(1)).first() is not None:
            return []
        users = {}
        for account in DEMO_ACCOUNTS:
            user = User(
                email=account.email,
                password_hash=hash_password(account.password),
                full_name=account.full_name,
                role=account.role,
                created_at=now,
                password_changed_at=now,
                email_verified_at=now,  # demo accounts can found and publish at once
            )
            session.add(user)
            users[account.role] = user
        demo_org = Organization(name="Bilten Demo Productions", slug="demo-productions", created_at=now)
        other_org = Organization(name="Harbor Events", slug="harbor-events", created_at=now)
        session.add_all([demo_org, other_org])
        session.flush()
        session.add(
            Membership(
                organization_id=demo_org.id, user_id=users[Role.ORGANIZER].id, team_role=TeamRole.OWNER, created_at=now
            )
        )

        day = now.replace(hour=18, minute=0, second=0, microsecond=0)
        events = []
        for title, days, hours, tz, city, venue, description, types in DEMO_EVENTS:
            event = _demo_event(demo_org, title, day + timedelta(days=days), hours, tz, city, venue, description, now)
            session.add(event)
            session.flush()
            for position, (name, price, currency, quantity) in enumerate(types):
                session.add(
                    TicketType(
                        event_id=event.id,
                        name=name,
                        price_minor=price,
                        currency=currency,
                        quantity=quantity,
                        max_per_order=10,
                        position=position,
                    )
                )
            events.append(event)

        draft = _demo_event(
            demo_org,
            "Secret Warehouse Party",
            day + timedelta(days=60),
            6,
            "Europe/Berlin",
            "Berlin",
            "To be announced",
            "Not announced yet.",
            now,
        )
        draft.status = EventStatus.DRAFT
        harbor = _demo_event(
            other_org,
            "Harbor Sunset Cruise",
            day + timedelta(days=12),
            3,
            "Europe/Lisbon",
            "Lisbon",
            "Cais do Sodré pier",
            "A sunset cruise along the Tagus.",
            now,
        )
        session.add_all([draft, harbor])
        session.flush()
        session.add(TicketType(event_id=draft.id, name="Early bird", price_minor=1500, currency="EUR", quantity=200))
        session.add(TicketType(event_id=harbor.id, name="Boarding pass", price_minor=3500, currency="EUR", quantity=60))
        session.add(
            StaffAssignment(event_id=events[0].id, user_id=users[Role.STAFF].id, gate="Main entrance", created_at=now)
        )
        record_audit(session, action="demo.seeded", object_type="platform", object_id="demo", now=now)
        return list(DEMO_ACCOUNTS)


def _demo_event(org, title, starts_at, hours, tz, city, venue, description, now) -> Event:  # noqa: ANN001
    slug = title.lower().replace(" ", "-")
    keys = generate_event_keys()
    return Event(
        signing_public_key=keys.public_key,
        signing_private_key_sealed=keys.encrypted_private_key,
        organization_id=org.id,
        title=title,
        slug=slug,
        description=description,
        status=EventStatus.PUBLISHED,
        venue_name=venue,
        city=city,
        timezone=tz,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=hours),
        created_at=now,
    )
