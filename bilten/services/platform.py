"""The platform as its admins see it: every organization, every event, the failed notifications
count and the recent administrative changes. Read-only; admins only."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy import ColumnElement, func
from sqlmodel import Session, col, select

from bilten.ids import parse_id
from bilten.models import (
    AuditEntry,
    Event,
    EventStatus,
    Membership,
    Notification,
    NotificationStatus,
    Order,
    OrderLine,
    OrderStatus,
    Organization,
    TeamRole,
    TicketType,
    User,
)
from bilten.services.access import Permission, authorize
from bilten.services.errors import ValidationFailed
from bilten.services.users import DEFAULT_PAGE_SIZE, check_page, search_needle

# The audited actions an admin's changes leave behind, shown as "recent changes".
ADMIN_ACTIONS = ("user.role_changed", "user.disabled", "user.enabled", "notification.retried")
RECENT_CHANGES_LIMIT = 20


class PlatformOverview(BaseModel):
    model_config = ConfigDict(frozen=True)

    users: int
    disabled_users: int
    organizations: int
    events: int
    failed_notifications: int


class AdminOrganization(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    name: str
    slug: str
    created_at: datetime
    members: int
    events: int
    owners: list[str]  # the owners' email addresses


class OrganizationPage(BaseModel):
    model_config = ConfigDict(frozen=True)

    items: list[AdminOrganization]
    total: int
    limit: int
    offset: int


class AdminEvent(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    title: str
    status: EventStatus
    organization_id: uuid.UUID
    organization_name: str
    starts_at: datetime
    timezone: str
    sold: int  # seats of paid orders
    capacity: int


class EventPage(BaseModel):
    model_config = ConfigDict(frozen=True)

    items: list[AdminEvent]
    total: int
    limit: int
    offset: int


class AdminChange(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    action: str
    created_at: datetime
    actor_email: str
    object_type: str
    object_id: str
    target: str  # what was changed, readable: the user's email, the notification's recipient
    data: dict


def platform_overview(session: Session, *, actor: User | None) -> PlatformOverview:
    authorize(session, actor, Permission.ADMIN)

    def count(model, *conditions) -> int:  # noqa: ANN001
        return session.exec(select(func.count()).select_from(model).where(*conditions)).one()

    return PlatformOverview(
        users=count(User),
        disabled_users=count(User, col(User.is_active).is_(False)),
        organizations=count(Organization),
        events=count(Event),
        failed_notifications=count(Notification, Notification.status == NotificationStatus.FAILED),
    )


def list_organizations(
    session: Session, *, actor: User | None, search: str = "", limit: int = DEFAULT_PAGE_SIZE, offset: int = 0
) -> OrganizationPage:
    """Organizations whose name or slug contains `search`, by name, with their team size, event
    count and owners."""
    authorize(session, actor, Permission.ADMIN)
    check_page(limit, offset)
    needle = search_needle(search)
    conditions: list[ColumnElement[bool]] = []
    if needle:
        conditions.append(
            func.lower(Organization.name).contains(needle, autoescape=True)
            | func.lower(Organization.slug).contains(needle, autoescape=True)
        )
    total = session.exec(select(func.count()).select_from(Organization).where(*conditions)).one()
    members = (
        select(Membership.organization_id, func.count().label("n")).group_by(col(Membership.organization_id)).subquery()
    )
    events = select(Event.organization_id, func.count().label("n")).group_by(col(Event.organization_id)).subquery()
    rows = session.exec(
        select(Organization, members.c.n, events.c.n)
        .outerjoin(members, members.c.organization_id == Organization.id)
        .outerjoin(events, events.c.organization_id == Organization.id)
        .where(*conditions)
        .order_by(func.lower(Organization.name), col(Organization.id))
        .offset(offset)
        .limit(limit)
    ).all()
    owners: dict[uuid.UUID, list[str]] = {org.id: [] for org, _, _ in rows}
    if owners:
        for org_id, email in session.exec(
            select(Membership.organization_id, User.email)
            .join(User, col(User.id) == Membership.user_id)
            .where(col(Membership.organization_id).in_(list(owners)), Membership.team_role == TeamRole.OWNER)
            .order_by(User.email)
        ).all():
            owners[org_id].append(email)
    items = [
        AdminOrganization(
            id=org.id,
            name=org.name,
            slug=org.slug,
            created_at=org.created_at,
            members=int(member_count or 0),
            events=int(event_count or 0),
            owners=owners[org.id],
        )
        for org, member_count, event_count in rows
    ]
    return OrganizationPage(items=items, total=total, limit=limit, offset=offset)


def parse_event_status(status: str) -> EventStatus:
    try:
        return EventStatus(status)
    except ValueError as exc:
        raise ValidationFailed("error.event_status_invalid") from exc


def list_all_events(
    session: Session,
    *,
    actor: User | None,
    search: str = "",
    status: str | None = None,
    limit: int = DEFAULT_PAGE_SIZE,
    offset: int = 0,
) -> EventPage:
    """Every organization's events whose title contains `search`, optionally of one status, latest
    start first, with seats sold (paid orders) and capacity."""
    authorize(session, actor, Permission.ADMIN)
    check_page(limit, offset)
    needle = search_needle(search)
    conditions: list[ColumnElement[bool]] = []
    if needle:
        conditions.append(func.lower(Event.title).contains(needle, autoescape=True))
    if status:
        conditions.append(col(Event.status) == parse_event_status(status))
    total = session.exec(select(func.count()).select_from(Event).where(*conditions)).one()
    capacity = (
        select(TicketType.event_id, func.sum(TicketType.quantity).label("seats"))
        .group_by(col(TicketType.event_id))
        .subquery()
    )
    sold = (
        select(Order.event_id, func.sum(OrderLine.quantity).label("seats"))
        .join(OrderLine, col(OrderLine.order_id) == Order.id)
        .where(Order.status == OrderStatus.PAID)
        .group_by(col(Order.event_id))
        .subquery()
    )
    rows = session.exec(
        select(Event, Organization.name, sold.c.seats, capacity.c.seats)
        .join(Organization, col(Organization.id) == Event.organization_id)
        .outerjoin(sold, sold.c.event_id == Event.id)
        .outerjoin(capacity, capacity.c.event_id == Event.id)
        .where(*conditions)
        .order_by(col(Event.starts_at).desc(), col(Event.id))
        .offset(offset)
        .limit(limit)
    ).all()
    items = [
        AdminEvent(
            id=event.id,
            title=event.title,
            status=event.status,
            organization_id=event.organization_id,
            organization_name=org_name,
            starts_at=event.starts_at,
            timezone=event.timezone,
            sold=int(sold_seats or 0),
            capacity=int(capacity_seats or 0),
        )
        for event, org_name, sold_seats, capacity_seats in rows
    ]
    return EventPage(items=items, total=total, limit=limit, offset=offset)


def recent_admin_changes(
    session: Session, *, actor: User | None, limit: int = RECENT_CHANGES_LIMIT
) -> list[AdminChange]:
    """The latest changes made through the admin area, newest first, with who made them."""
    authorize(session, actor, Permission.ADMIN)
    rows = session.exec(
        select(AuditEntry, User.email)
        .outerjoin(User, col(User.id) == AuditEntry.actor_user_id)
        .where(col(AuditEntry.action).in_(ADMIN_ACTIONS))
        .order_by(col(AuditEntry.created_at).desc(), col(AuditEntry.id))
        .limit(limit)
    ).all()
    targets = _change_targets(session, [entry for entry, _ in rows])
    return [
        AdminChange(
            id=entry.id,
            action=entry.action,
            created_at=entry.created_at,
            actor_email=email or "",
            object_type=entry.object_type,
            object_id=entry.object_id,
            target=targets.get((entry.object_type, entry.object_id), entry.object_id),
            data=entry.data,
        )
        for entry, email in rows
    ]


def _change_targets(session: Session, entries: list[AuditEntry]) -> dict[tuple[str, str], str]:
    """Today's email of each user and the recipient of each notification the entries point at."""
    wanted: dict[str, set[uuid.UUID]] = {"user": set(), "notification": set()}
    for entry in entries:
        if entry.object_type in wanted:
            object_id = parse_id(entry.object_id)
            if object_id is not None:
                wanted[entry.object_type].add(object_id)
    targets: dict[tuple[str, str], str] = {}
    if wanted["user"]:
        for user_id, email in session.exec(select(User.id, User.email).where(col(User.id).in_(wanted["user"]))).all():
            targets["user", str(user_id)] = email
    if wanted["notification"]:
        query = select(Notification.id, Notification.recipient).where(col(Notification.id).in_(wanted["notification"]))
        for notification_id, recipient in session.exec(query).all():
            targets["notification", str(notification_id)] = recipient
    return targets
