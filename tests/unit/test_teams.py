"""Organizations and teams: founding, inviting, joining, roles, leaving, and every denial."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlmodel import func, select

from bilten.models import (
    AuditEntry,
    Invitation,
    Membership,
    Notification,
    Organization,
    OutboxEvent,
    Role,
    StaffAssignment,
    TeamRole,
    User,
)
from bilten.notifications.outbox import dispatch_outbox
from bilten.notifications.rendering import MissingData, render_notification
from bilten.services import accounts, organizers, teams, verification
from bilten.services.access import Permission, authorize, is_allowed
from bilten.services.errors import (
    AlreadyInvited,
    AlreadyMember,
    Forbidden,
    InvitationExpired,
    InvitationInvalid,
    InvitationRevoked,
    InvitationUsed,
    InvitationWrongAccount,
    LastOwner,
    NotAuthenticated,
    NotFound,
    ValidationFailed,
)
from tests.factories import make_event, make_organization, make_user


def _join(session, org, user, role: TeamRole, now) -> None:
    session.add(Membership(organization_id=org.id, user_id=user.id, team_role=role, created_at=now))
    session.commit()


@pytest.fixture
def team(session, now):
    """One organization with a member of each role, a rival organization, an outsider, an admin."""
    owner = make_user(session, role=Role.ORGANIZER, now=now, email="owner@example.org")
    manager = make_user(session, role=Role.ORGANIZER, now=now, email="manager@example.org")
    viewer = make_user(session, role=Role.ORGANIZER, now=now, email="viewer@example.org")
    staff = make_user(session, role=Role.STAFF, now=now, email="staff@example.org")
    rival = make_user(session, role=Role.ORGANIZER, now=now, email="rival@example.org")
    outsider = make_user(session, now=now, email="outsider@example.org")
    admin = make_user(session, role=Role.ADMIN, now=now, email="admin@example.org")
    org = make_organization(session, members=(owner,), now=now)
    rival_org = make_organization(session, members=(rival,), now=now)
    _join(session, org, manager, TeamRole.MANAGER, now)
    _join(session, org, viewer, TeamRole.VIEWER, now)
    _join(session, org, staff, TeamRole.STAFF, now)
    concert = make_event(session, organization=org, now=now, title="Concert")
    gala = make_event(session, organization=org, now=now, title="Gala", days_ahead=20)
    rival_event = make_event(session, organization=rival_org, now=now, title="Rival gig")
    session.add(StaffAssignment(event_id=concert.id, user_id=staff.id, created_at=now))
    session.add(StaffAssignment(event_id=rival_event.id, user_id=staff.id, created_at=now))
    session.commit()
    return locals()


def _count(session, model, *where) -> int:
    return session.exec(select(func.count()).select_from(model).where(*where)).one()


def _token_of(session, invitation_id) -> str:
    """The token of an invitation's link, as the outbox event for its email carries it."""
    for event in session.exec(select(OutboxEvent).where(OutboxEvent.topic == "team.member_invited")).all():
        if event.payload["invitation_id"] == str(invitation_id):
            return parse_qs(urlsplit(event.payload["accept_url"]).query)["token"][0]
    raise AssertionError("no invitation email queued")


def _invite(session, team, now, email="new@example.org", role="manager", event_ids=()):
    row = teams.invite_member(
        session,
        actor=team["owner"],
        organization_id=team["org"].id,
        email=email,
        role=role,
        event_ids=event_ids,
        now=now,
    )
    return row, _token_of(session, row.id)


def _snapshot(session) -> tuple[int, ...]:
    """How many rows of each kind a refused change must leave untouched."""
    return tuple(
        _count(session, model)
        for model in (Organization, Membership, Invitation, StaffAssignment, OutboxEvent, AuditEntry)
    )


# ---------------------------------------------------------------------------------------------
# Founding an organization


def test_the_founder_becomes_owner_and_an_attendee_becomes_an_organizer(session, now):
    attendee = make_user(session, now=now)
    assert not is_allowed(session, attendee, Permission.ORGANIZER_AREA)

    row = teams.create_organization(session, actor=attendee, name="  Acme   Events ", now=now)

    assert (row.name, row.slug, row.role) == ("Acme Events", "acme-events", TeamRole.OWNER)
    session.refresh(attendee)
    assert attendee.role == Role.ORGANIZER
    authorize(session, attendee, Permission.ORGANIZATION_TEAM, organization_id=row.id)
    audit = session.exec(select(AuditEntry).where(AuditEntry.action == "organization.created")).one()
    assert audit.organization_id == row.id and audit.actor_user_id == attendee.id
    assert [(o.name, o.role) for o in teams.list_organizations(session, actor=attendee)] == [
        ("Acme Events", TeamRole.OWNER)
    ]


def test_slugs_stay_unique_and_names_without_latin_letters_get_one(session, now):
    admin = make_user(session, role=Role.ADMIN, now=now)
    first = teams.create_organization(session, actor=admin, name="Acme Events", now=now)
    second = teams.create_organization(session, actor=admin, name="ACME events!", now=now)
    arabic = teams.create_organization(session, actor=admin, name="فعاليات القاهرة", now=now)
    assert (first.slug, second.slug, arabic.slug) == ("acme-events", "acme-events-2", "organization")
    assert session.get(User, admin.id).role == Role.ADMIN  # admins keep their platform role


def test_founding_needs_a_name_and_a_signed_in_caller(session, now):
    user = make_user(session, now=now)
    before = _snapshot(session)
    with pytest.raises(ValidationFailed) as missing:
        teams.create_organization(session, actor=user, name="   ", now=now)
    assert missing.value.key == "error.organization_name_required"
    with pytest.raises(ValidationFailed) as too_long:
        teams.create_organization(session, actor=user, name="x" * 201, now=now)
    assert too_long.value.key == "error.name_too_long"
    with pytest.raises(NotAuthenticated):
        teams.create_organization(session, actor=None, name="Ghost Org", now=now)
    assert _snapshot(session) == before
    assert session.get(User, user.id).role == Role.ATTENDEE


def test_signing_up_as_an_organizer_keeps_the_organization_for_the_verified_account(session, now):
    user = accounts.register_user(
        session,
        email="founder@example.org",
        password="Correct-horse-42",
        organization_name="Founders Hall",
        now=now,
    ).user
    assert teams.list_organizations(session, actor=user) == []  # founded when the address is confirmed
    event = session.exec(select(OutboxEvent).where(OutboxEvent.topic == "user.registered")).one()
    verification.verify_email(session, token=event.payload["verify_url"].split("token=")[1], now=now)
    user = session.get(User, user.id)
    assert user.role == Role.ORGANIZER
    (org,) = teams.list_organizations(session, actor=user)
    assert (org.name, org.role) == ("Founders Hall", TeamRole.OWNER)


def test_signing_up_with_a_bad_organization_name_makes_nothing(session, now):
    with pytest.raises(ValidationFailed):
        accounts.register_user(
            session, email="founder@example.org", password="Correct-horse-42", organization_name=" ", now=now
        )
    session.rollback()
    assert _count(session, User) == 0 and _count(session, Organization) == 0


# ---------------------------------------------------------------------------------------------
# Inviting


def test_owner_invites_with_a_hashed_token_a_week_long_and_an_email_queued(session, team, now):
    row, token = _invite(session, team, now, email="  New.Person@Example.org ", role="manager")

    stored = session.get(Invitation, row.id)
    assert stored.email == "new.person@example.org" and stored.team_role == TeamRole.MANAGER
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest() != token
    assert stored.expires_at == now + timedelta(days=7) and stored.invited_by_user_id == team["owner"].id
    (event,) = session.exec(select(OutboxEvent).where(OutboxEvent.topic == "team.member_invited")).all()
    assert event.payload["accept_url"].endswith(f"/join?token={token}")
    audit = session.exec(select(AuditEntry).where(AuditEntry.action == "team.member_invited")).one()
    assert audit.organization_id == team["org"].id and audit.data["email"] == "new.person@example.org"
    assert token not in str(audit.data)
    assert [
        i.email for i in teams.list_invitations(session, actor=team["owner"], organization_id=team["org"].id, now=now)
    ] == ["new.person@example.org"]


@pytest.mark.parametrize("who", ["manager", "viewer", "staff", "outsider", "rival"])
def test_only_owners_invite(session, team, now, who):
    before = _snapshot(session)
    with pytest.raises(Forbidden):
        teams.invite_member(
            session,
            actor=team[who],
            organization_id=team["org"].id,
            email="sneaky@example.org",
            role="owner",
            now=now,
        )
    with pytest.raises(Forbidden):
        teams.list_invitations(session, actor=team[who], organization_id=team["org"].id, now=now)
    with pytest.raises(Forbidden):
        teams.team_overview(session, actor=team[who], organization_id=team["org"].id, now=now)
    assert _snapshot(session) == before


def test_admins_may_manage_any_team_but_an_unknown_organization_is_not_found(session, team, now):
    row = teams.invite_member(
        session, actor=team["admin"], organization_id=team["org"].id, email="a@example.org", role="viewer", now=now
    )
    assert row.role == TeamRole.VIEWER
    with pytest.raises(NotFound):
        teams.invite_member(
            session,
            actor=team["admin"],
            organization_id=team["concert"].id,  # not an organization's id
            email="a@example.org",
            role="viewer",
            now=now,
        )


def test_an_address_invited_twice_or_already_in_the_team_is_refused(session, team, now):
    _invite(session, team, now, email="twice@example.org")
    before = _snapshot(session)
    with pytest.raises(AlreadyInvited):
        _invite(session, team, now, email="TWICE@example.org", role="viewer")
    with pytest.raises(AlreadyMember):
        _invite(session, team, now, email="manager@example.org")
    with pytest.raises(AlreadyMember):
        _invite(session, team, now, email="owner@example.org")  # inviting oneself
    assert _snapshot(session) == before


def test_an_expired_invitation_makes_way_for_a_new_one(session, team, now):
    old, old_token = _invite(session, team, now, email="late@example.org")
    later = now + timedelta(days=8)
    new, new_token = _invite(session, team, later, email="late@example.org", role="viewer")
    assert session.get(Invitation, old.id).revoked_at == later
    assert new.role == TeamRole.VIEWER and new_token != old_token


@pytest.mark.parametrize(
    ("email", "role", "events", "key"),
    [
        ("not-an-address", "manager", (), "error.email_invalid"),
        ("x@example.org", "boss", (), "error.team_role_invalid"),
        ("x@example.org", "staff", (), "error.team_staff_needs_events"),
        ("x@example.org", "staff", ("rival_event",), "error.team_event_not_in_organization"),
        ("x@example.org", "staff", ("not-a-uuid",), "error.team_event_not_in_organization"),
    ],
)
def test_bad_invitations_get_their_own_error_and_change_nothing(session, team, now, email, role, events, key):
    event_ids = [team[e].id if e in team else e for e in events]
    before = _snapshot(session)
    with pytest.raises(ValidationFailed) as refused:
        _invite(session, team, now, email=email, role=role, event_ids=event_ids)
    assert refused.value.key == key
    assert _snapshot(session) == before


# ---------------------------------------------------------------------------------------------
# Accepting


def test_the_invited_account_joins_and_then_manages_the_organizations_events(session, team, now):
    newcomer = make_user(session, now=now, email="new@example.org")
    row, token = _invite(session, team, now, role="manager")
    preview = teams.invitation_preview(session, token=token, now=now)
    assert (preview.email, preview.role, preview.status) == ("new@example.org", TeamRole.MANAGER, "pending")

    joined = teams.accept_invitation(session, actor=newcomer, token=token, now=now + timedelta(days=6))

    assert joined.id == team["org"].id and joined.role == TeamRole.MANAGER
    assert session.get(Invitation, row.id).accepted_at == now + timedelta(days=6)
    authorize(session, newcomer, Permission.EVENT_MANAGE, event_id=team["concert"].id)
    with pytest.raises(Forbidden):
        authorize(session, newcomer, Permission.ORGANIZATION_TEAM, organization_id=team["org"].id)
    titles = {e.title for e in organizers.list_organizer_events(session, actor=newcomer)}
    assert titles == {"Concert", "Gala"}
    assert _count(session, AuditEntry, AuditEntry.action == "team.invitation_accepted") == 1
    assert teams.invitation_preview(session, token=token, now=now).status == "used"


def test_invited_staff_scan_only_at_the_chosen_events(session, team, now):
    doorman = make_user(session, now=now, email="door@example.org")
    _, token = _invite(session, team, now, email="door@example.org", role="staff", event_ids=[team["gala"].id])
    teams.accept_invitation(session, actor=doorman, token=token, now=now)

    authorize(session, doorman, Permission.EVENT_SCAN, event_id=team["gala"].id)
    for denied in (team["concert"], team["rival_event"]):
        with pytest.raises(Forbidden):
            authorize(session, doorman, Permission.EVENT_SCAN, event_id=denied.id)
    with pytest.raises(Forbidden):
        authorize(session, doorman, Permission.EVENT_VIEW, event_id=team["gala"].id)
    member = next(
        m
        for m in teams.list_members(session, actor=team["owner"], organization_id=team["org"].id)
        if m.user_id == doorman.id
    )
    assert member.role == TeamRole.STAFF and member.events == ("Gala",)


def test_accepting_with_another_account_or_a_dead_link_is_refused(session, team, now):
    invitee = make_user(session, now=now, email="new@example.org")
    row, token = _invite(session, team, now)
    before = _snapshot(session)

    with pytest.raises(InvitationWrongAccount):
        teams.accept_invitation(session, actor=team["outsider"], token=token, now=now)
    with pytest.raises(NotAuthenticated):
        teams.accept_invitation(session, actor=None, token=token, now=now)
    for bad in ("", "no-such-token", "x" * 500):
        with pytest.raises(InvitationInvalid):
            teams.accept_invitation(session, actor=invitee, token=bad, now=now)
    with pytest.raises(InvitationExpired):
        teams.accept_invitation(session, actor=invitee, token=token, now=now + timedelta(days=7))
    assert _snapshot(session) == before
    assert teams.invitation_preview(session, token=token, now=now + timedelta(days=7)).status == "expired"

    teams.accept_invitation(session, actor=invitee, token=token, now=now)
    with pytest.raises(InvitationUsed):
        teams.accept_invitation(session, actor=invitee, token=token, now=now)


def test_a_revoked_invitation_no_longer_works(session, team, now):
    invitee = make_user(session, now=now, email="new@example.org")
    row, token = _invite(session, team, now)
    teams.revoke_invitation(session, actor=team["owner"], organization_id=team["org"].id, invitation_id=row.id, now=now)

    with pytest.raises(InvitationRevoked):
        teams.accept_invitation(session, actor=invitee, token=token, now=now)
    with pytest.raises(InvitationRevoked):
        teams.revoke_invitation(
            session, actor=team["owner"], organization_id=team["org"].id, invitation_id=row.id, now=now
        )
    assert teams.list_invitations(session, actor=team["owner"], organization_id=team["org"].id, now=now) == []
    assert _count(session, AuditEntry, AuditEntry.action == "team.invitation_revoked") == 1
    # The address may be invited again.
    _invite(session, team, now)


def test_only_this_organizations_owners_revoke_its_invitations(session, team, now):
    row, _ = _invite(session, team, now)
    for who in ("manager", "viewer", "staff", "rival"):
        with pytest.raises(Forbidden):
            teams.revoke_invitation(
                session, actor=team[who], organization_id=team["org"].id, invitation_id=row.id, now=now
            )
    # The rival's own organization does not reach it either.
    with pytest.raises(NotFound):
        teams.revoke_invitation(
            session, actor=team["rival"], organization_id=team["rival_org"].id, invitation_id=row.id, now=now
        )
    assert session.get(Invitation, row.id).revoked_at is None


def test_joining_a_team_one_already_belongs_to_is_refused(session, team, now):
    _, token = _invite(session, team, now, email="new@example.org")
    newcomer = make_user(session, now=now, email="new@example.org")
    _join(session, team["org"], newcomer, TeamRole.VIEWER, now)
    with pytest.raises(AlreadyMember):
        teams.accept_invitation(session, actor=newcomer, token=token, now=now)


# ---------------------------------------------------------------------------------------------
# Roles


def _role(session, team, who) -> TeamRole | None:
    return session.exec(
        select(Membership.team_role).where(
            Membership.organization_id == team["org"].id, Membership.user_id == team[who].id
        )
    ).first()


def test_owner_changes_roles_and_the_last_owner_cannot_be_demoted(session, team, now):
    org_id = team["org"].id
    with pytest.raises(LastOwner):
        teams.change_role(
            session, actor=team["owner"], organization_id=org_id, user_id=team["owner"].id, role="manager", now=now
        )
    assert _role(session, team, "owner") == TeamRole.OWNER

    promoted = teams.change_role(
        session, actor=team["owner"], organization_id=org_id, user_id=team["manager"].id, role="owner", now=now
    )
    assert promoted.role == TeamRole.OWNER
    # With a second owner the first may step down.
    teams.change_role(
        session, actor=team["owner"], organization_id=org_id, user_id=team["owner"].id, role="viewer", now=now
    )
    assert _role(session, team, "owner") == TeamRole.VIEWER
    actions = session.exec(select(AuditEntry.data).where(AuditEntry.action == "team.role_changed")).all()
    assert [(a["from"], a["to"]) for a in actions] == [("manager", "owner"), ("owner", "viewer")]


@pytest.mark.parametrize("who", ["manager", "viewer", "staff", "outsider", "rival"])
def test_only_owners_change_roles(session, team, now, who):
    before = _snapshot(session)
    with pytest.raises(Forbidden):
        teams.change_role(
            session,
            actor=team[who],
            organization_id=team["org"].id,
            user_id=team["viewer"].id,
            role="owner",
            now=now,
        )
    assert _snapshot(session) == before and _role(session, team, "viewer") == TeamRole.VIEWER


def test_role_changes_refuse_bad_input_and_strangers(session, team, now):
    org_id = team["org"].id
    with pytest.raises(ValidationFailed) as bad_role:
        teams.change_role(
            session, actor=team["owner"], organization_id=org_id, user_id=team["viewer"].id, role="boss", now=now
        )
    assert bad_role.value.key == "error.team_role_invalid"
    with pytest.raises(NotFound):  # not a member of this organization
        teams.change_role(
            session, actor=team["owner"], organization_id=org_id, user_id=team["rival"].id, role="viewer", now=now
        )
    with pytest.raises(ValidationFailed) as no_events:
        teams.change_role(
            session, actor=team["owner"], organization_id=org_id, user_id=team["viewer"].id, role="staff", now=now
        )
    assert no_events.value.key == "error.team_staff_needs_events"
    assert _role(session, team, "viewer") == TeamRole.VIEWER


def test_staff_events_follow_the_role(session, team, now):
    org_id, viewer = team["org"].id, team["viewer"]
    as_staff = teams.change_role(
        session,
        actor=team["owner"],
        organization_id=org_id,
        user_id=viewer.id,
        role="staff",
        event_ids=[team["gala"].id],
        now=now,
    )
    assert as_staff.events == ("Gala",)
    authorize(session, viewer, Permission.EVENT_SCAN, event_id=team["gala"].id)

    # Back to viewer: no more scanning here; the staff member's other organizations keep theirs.
    teams.change_role(session, actor=team["owner"], organization_id=org_id, user_id=viewer.id, role="viewer", now=now)
    assert not is_allowed(session, viewer, Permission.EVENT_SCAN, event_id=team["gala"].id)


# ---------------------------------------------------------------------------------------------
# Removing and leaving


def test_owner_removes_a_member_with_their_door_assignments_here_only(session, team, now):
    staff = team["staff"]
    teams.remove_member(session, actor=team["owner"], organization_id=team["org"].id, user_id=staff.id, now=now)

    assert _role(session, team, "staff") is None
    assert not is_allowed(session, staff, Permission.EVENT_SCAN, event_id=team["concert"].id)
    authorize(session, staff, Permission.EVENT_SCAN, event_id=team["rival_event"].id)  # another organization's
    audit = session.exec(select(AuditEntry).where(AuditEntry.action == "team.member_removed")).one()
    assert audit.data == {"user_id": str(staff.id), "role": "staff"}


def test_the_last_owner_cannot_leave_but_other_members_can(session, team, now):
    org_id = team["org"].id
    before = _snapshot(session)
    with pytest.raises(LastOwner):
        teams.remove_member(session, actor=team["owner"], organization_id=org_id, user_id=team["owner"].id, now=now)
    with pytest.raises(LastOwner):
        teams.remove_member(session, actor=team["admin"], organization_id=org_id, user_id=team["owner"].id, now=now)
    assert _snapshot(session) == before

    teams.remove_member(session, actor=team["viewer"], organization_id=org_id, user_id=team["viewer"].id, now=now)
    assert _role(session, team, "viewer") is None
    assert _count(session, AuditEntry, AuditEntry.action == "team.member_left") == 1


@pytest.mark.parametrize("who", ["manager", "viewer", "staff", "outsider", "rival"])
def test_only_owners_remove_others(session, team, now, who):
    target = team["viewer" if who == "manager" else "manager"]  # someone else: leaving is allowed
    before = _snapshot(session)
    with pytest.raises(Forbidden):
        teams.remove_member(session, actor=team[who], organization_id=team["org"].id, user_id=target.id, now=now)
    assert _snapshot(session) == before


def test_removing_someone_who_is_not_a_member_is_not_found(session, team, now):
    with pytest.raises(NotFound):
        teams.remove_member(
            session, actor=team["owner"], organization_id=team["org"].id, user_id=team["rival"].id, now=now
        )


# ---------------------------------------------------------------------------------------------
# Seeing the team


def test_members_are_listed_to_members_but_not_to_staff_or_strangers(session, team, now):
    for who in ("owner", "manager", "viewer", "admin"):
        members = teams.list_members(session, actor=team[who], organization_id=team["org"].id)
        assert [m.role for m in members] == [TeamRole.OWNER, TeamRole.MANAGER, TeamRole.VIEWER, TeamRole.STAFF]
    staff_row = members[-1]
    assert staff_row.events == ("Concert",)  # not the rival organization's event
    for who in ("staff", "outsider", "rival"):
        with pytest.raises(Forbidden):
            teams.list_members(session, actor=team[who], organization_id=team["org"].id)
    with pytest.raises(NotAuthenticated):
        teams.list_members(session, actor=None, organization_id=team["org"].id)


def test_team_overview_holds_members_invitations_and_events(session, team, now):
    _invite(session, team, now, email="later@example.org", role="viewer")
    overview = teams.team_overview(session, actor=team["owner"], organization_id=team["org"].id, now=now)
    assert overview.organization.role == TeamRole.OWNER
    assert len(overview.members) == 4 and [i.email for i in overview.invitations] == ["later@example.org"]
    assert [e.title for e in overview.events] == ["Gala", "Concert"]


# ---------------------------------------------------------------------------------------------
# The invitation email


def test_the_invitation_email_goes_to_the_address_in_its_language_with_the_link(session, team, now):
    arabic_reader = make_user(session, now=now, email="amira@example.org")
    arabic_reader.locale = "ar"
    arabic_reader.full_name = "Amira"
    session.add(arabic_reader)
    session.commit()
    _, token = _invite(session, team, now, email="amira@example.org", role="staff", event_ids=[team["gala"].id])
    _, english_token = _invite(session, team, now, email="someone@example.org", role="viewer")

    dispatch_outbox(session, now=now)

    notifications = {n.recipient: n for n in session.exec(select(Notification)).all()}
    assert notifications["amira@example.org"].locale == "ar"
    assert notifications["someone@example.org"].locale == "en"  # no account: the owner's language
    arabic = render_notification(session, notifications["amira@example.org"], public_url="https://x.test")
    assert f"/join?token={token}" in arabic.text and token in arabic.html
    assert "Gala" in arabic.text and "Amira" in arabic.text
    assert arabic.subject.startswith("دعوة")
    english = render_notification(session, notifications["someone@example.org"], public_url="https://x.test")
    assert team["org"].name in english.subject and english_token in english.text
    assert english_token not in english.text_to_store()  # the stored copy of the email hides the link
    assert all("accept_url" not in e.payload for e in session.exec(select(OutboxEvent)).all())


def test_a_revoked_invitation_email_is_not_sent(session, team, now):
    row, _ = _invite(session, team, now)
    dispatch_outbox(session, now=now)
    teams.revoke_invitation(session, actor=team["owner"], organization_id=team["org"].id, invitation_id=row.id, now=now)
    notification = session.exec(select(Notification)).one()
    with pytest.raises(MissingData):
        render_notification(session, notification, public_url="https://x.test")
