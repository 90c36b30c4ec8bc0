"""Every role, every permission: who gets in and who is turned away."""

import uuid
from datetime import timedelta

import pytest

from bilten.models import EventStatus, Membership, Role, TeamRole
from bilten.services import organizers, users
from bilten.services.access import Permission, Workplace, authorize, is_allowed, workplace_of
from bilten.services.errors import Forbidden, NotAuthenticated, NotFound, ValidationFailed
from tests.factories import assign_staff, make_event, make_organization, make_user


@pytest.fixture
def world(session, now):
    admin = make_user(session, role=Role.ADMIN, now=now)
    organizer = make_user(session, role=Role.ORGANIZER, now=now)
    rival = make_user(session, role=Role.ORGANIZER, now=now)
    staff = make_user(session, role=Role.STAFF, now=now)
    attendee = make_user(session, now=now)
    org = make_organization(session, members=(organizer,), now=now)
    rival_org = make_organization(session, members=(rival,), now=now)
    event = make_event(session, organization=org, now=now)
    rival_event = make_event(session, organization=rival_org, now=now, title="Rival gig")
    assign_staff(session, event=event, user=staff, now=now)
    return locals()


def test_nobody_signed_in_is_not_authenticated(session, world):
    for permission in Permission:
        with pytest.raises(NotAuthenticated):
            authorize(session, None, permission, event_id=world["event"].id, organization_id=world["org"].id)


def test_admin_may_do_everything(session, world):
    for permission in Permission:
        authorize(session, world["admin"], permission, event_id=world["event"].id, organization_id=world["org"].id)


def test_every_signed_in_user_has_an_account(session, world):
    for who in ("admin", "organizer", "staff", "attendee"):
        assert authorize(session, world[who], Permission.ACCOUNT) is world[who]


def test_only_admins_administer_the_platform(session, world):
    for who in ("organizer", "staff", "attendee"):
        with pytest.raises(Forbidden):
            authorize(session, world[who], Permission.ADMIN)


def test_organizer_manages_own_organization_and_events_only(session, world):
    s = session
    authorize(s, world["organizer"], Permission.ORGANIZATION_MANAGE, organization_id=world["org"].id)
    authorize(s, world["organizer"], Permission.EVENT_MANAGE, event_id=world["event"].id)
    authorize(s, world["organizer"], Permission.EVENT_SCAN, event_id=world["event"].id)
    with pytest.raises(Forbidden):
        authorize(s, world["organizer"], Permission.ORGANIZATION_MANAGE, organization_id=world["rival_org"].id)
    with pytest.raises(Forbidden):
        authorize(s, world["organizer"], Permission.EVENT_MANAGE, event_id=world["rival_event"].id)
    with pytest.raises(Forbidden):
        authorize(s, world["organizer"], Permission.EVENT_SCAN, event_id=world["rival_event"].id)


def test_organizer_role_without_membership_reaches_only_the_workspace(session, world, now):
    """A new organizer must reach the workspace to create their organization, and nothing else."""
    loner = make_user(session, role=Role.ORGANIZER, now=now)
    authorize(session, loner, Permission.ORGANIZER_AREA)
    with pytest.raises(Forbidden):
        authorize(session, loner, Permission.ORGANIZATION_VIEW, organization_id=world["event"].organization_id)
    with pytest.raises(Forbidden):
        authorize(session, loner, Permission.EVENT_VIEW, event_id=world["event"].id)
    attendee = make_user(session, role=Role.ATTENDEE, now=now)
    assert not is_allowed(session, attendee, Permission.ORGANIZER_AREA)


@pytest.mark.parametrize(
    ("team_role", "allowed"),
    [
        (TeamRole.OWNER, {"team", "manage_org", "view_org", "manage", "view", "scan"}),
        (TeamRole.MANAGER, {"manage_org", "view_org", "manage", "view", "scan"}),
        (TeamRole.VIEWER, {"view_org", "view"}),
        (TeamRole.STAFF, set()),
    ],
)
def test_team_roles_grant_exactly_their_permissions(session, world, now, team_role, allowed):
    event = world["event"]
    member = make_user(session, role=Role.ORGANIZER, now=now)
    session.add(Membership(organization_id=event.organization_id, user_id=member.id, team_role=team_role))
    session.commit()
    checks = {
        "team": (Permission.ORGANIZATION_TEAM, {"organization_id": event.organization_id}),
        "manage_org": (Permission.ORGANIZATION_MANAGE, {"organization_id": event.organization_id}),
        "view_org": (Permission.ORGANIZATION_VIEW, {"organization_id": event.organization_id}),
        "manage": (Permission.EVENT_MANAGE, {"event_id": event.id}),
        "view": (Permission.EVENT_VIEW, {"event_id": event.id}),
        "scan": (Permission.EVENT_SCAN, {"event_id": event.id}),
    }
    granted = {name for name, (permission, scope) in checks.items() if is_allowed(session, member, permission, **scope)}
    assert granted == allowed
    rival = world["rival_event"]
    for permission in (Permission.EVENT_MANAGE, Permission.EVENT_VIEW, Permission.EVENT_SCAN):
        assert not is_allowed(session, member, permission, event_id=rival.id)


def test_staff_scans_only_assigned_events_and_manages_nothing(session, world):
    s = session
    authorize(s, world["staff"], Permission.EVENT_SCAN, event_id=world["event"].id)
    with pytest.raises(Forbidden):
        authorize(s, world["staff"], Permission.EVENT_SCAN, event_id=world["rival_event"].id)
    with pytest.raises(Forbidden):
        authorize(s, world["staff"], Permission.EVENT_MANAGE, event_id=world["event"].id)
    with pytest.raises(Forbidden):
        authorize(s, world["staff"], Permission.ORGANIZER_AREA)


def test_attendee_is_refused_everything_but_the_account(session, world):
    for permission in (
        Permission.ADMIN,
        Permission.ORGANIZER_AREA,
        Permission.ORGANIZATION_MANAGE,
        Permission.EVENT_MANAGE,
        Permission.EVENT_SCAN,
    ):
        assert not is_allowed(
            session, world["attendee"], permission, event_id=world["event"].id, organization_id=world["org"].id
        )


def test_unknown_event_is_not_found(session, world):
    with pytest.raises(NotFound):
        authorize(session, world["organizer"], Permission.EVENT_MANAGE, event_id=uuid.uuid4())


def test_deactivated_user_is_not_authenticated(session, world):
    world["admin"].is_active = False
    with pytest.raises(NotAuthenticated):
        authorize(session, world["admin"], Permission.ACCOUNT)


def test_organizer_event_list_shows_only_own_organizations(session, world, now):
    make_event(session, organization=world["org"], now=now, title="Draft show", status=EventStatus.DRAFT)
    own = {row.title for row in organizers.list_organizer_events(session, actor=world["organizer"])}
    assert own == {"Concert", "Draft show"}
    everything = {row.title for row in organizers.list_organizer_events(session, actor=world["admin"])}
    assert everything == {"Concert", "Draft show", "Rival gig"}
    with pytest.raises(Forbidden):
        organizers.list_organizer_events(session, actor=world["attendee"])


def test_admin_user_management_is_admin_only(session, world, now):
    assert users.search_users(session, actor=world["admin"]).total == 5
    assert "password_hash" not in users.search_users(session, actor=world["admin"]).items[0].model_dump()
    for who in ("organizer", "staff", "attendee"):
        with pytest.raises(Forbidden):
            users.search_users(session, actor=world[who])
        with pytest.raises(Forbidden):
            users.set_user_role(session, actor=world[who], user_id=world[who].id, role="admin", now=now)
    changed = users.set_user_role(session, actor=world["admin"], user_id=world["attendee"].id, role="staff", now=now)
    assert changed.role == Role.STAFF
    with pytest.raises(ValidationFailed):
        users.set_user_role(session, actor=world["admin"], user_id=world["attendee"].id, role="emperor", now=now)
    with pytest.raises(ValidationFailed):
        users.set_user_role(session, actor=world["admin"], user_id=world["admin"].id, role="attendee", now=now)


def test_unknown_event_is_not_found_for_admins_too(session, world):
    with pytest.raises(NotFound):
        authorize(session, world["admin"], Permission.EVENT_SCAN, event_id=uuid.uuid4())


def test_signing_in_lands_each_person_where_they_work(session, world, now):
    workplace = lambda user: workplace_of(session, user, now=now)  # noqa: E731
    assert workplace(world["admin"]) == Workplace.ADMIN
    assert workplace(world["organizer"]) == Workplace.ORGANIZER
    assert workplace(world["staff"]) == Workplace.DOOR
    assert workplace(world["attendee"]) == Workplace.TICKETS
    # A buyer who joined a team as a viewer organizes too.
    viewer = make_user(session, now=now)
    session.add(
        Membership(organization_id=world["org"].id, user_id=viewer.id, team_role=TeamRole.VIEWER, created_at=now)
    )
    session.commit()
    assert workplace(viewer) == Workplace.ORGANIZER


def test_staff_whose_events_have_ended_land_on_their_tickets(session, world, now):
    """The event the staff member scanned at ends in 10 days + 3 hours: after that, no door to go to."""
    later = world["event"].ends_at.replace(tzinfo=now.tzinfo) + timedelta(minutes=1)
    assert workplace_of(session, world["staff"], now=later) == Workplace.TICKETS
    assert workplace_of(session, world["staff"], now=later - timedelta(minutes=2)) == Workplace.DOOR
