"""`/api/v1/organizations`: founding, inviting (the email lands in the outbox), joining, roles and
removals on PostgreSQL, with every denial answered in JSON and nothing changed."""

from __future__ import annotations

import threading
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlmodel import Session, func, select

from bilten.models import Invitation, Membership, Notification, OutboxEvent, Role, StaffAssignment, TeamRole
from bilten.notifications.outbox import dispatch_outbox
from bilten.services import teams
from bilten.services.errors import AlreadyInvited
from tests.factories import DEFAULT_PASSWORD, make_event, make_organization, make_user


def bearer(client, user) -> dict[str, str]:
    tokens = client.post("/api/v1/auth/login", json={"email": user.email, "password": DEFAULT_PASSWORD}).json()
    return {"Authorization": f"Bearer {tokens['access_token']}"}


@pytest.fixture
def world(pg_session, clock):
    now = clock.now
    owner = make_user(pg_session, role=Role.ORGANIZER, now=now, email="owner@example.org")
    rival = make_user(pg_session, role=Role.ORGANIZER, now=now, email="rival@example.org")
    org = make_organization(pg_session, members=(owner,), now=now)
    rival_org = make_organization(pg_session, members=(rival,), now=now)
    members = {}
    for role in (TeamRole.MANAGER, TeamRole.VIEWER, TeamRole.STAFF):
        user = make_user(pg_session, role=Role.ORGANIZER, now=now, email=f"{role.value}@example.org")
        pg_session.add(Membership(organization_id=org.id, user_id=user.id, team_role=role, created_at=now))
        members[role.value] = user
    pg_session.commit()
    event = make_event(pg_session, organization=org, now=now, title="Ours")
    rival_event = make_event(pg_session, organization=rival_org, now=now, title="Theirs")
    return {"owner": owner, "rival": rival, "org": org, "event": event, "rival_event": rival_event, **members}


def _count(session, model, *where) -> int:
    return session.exec(select(func.count()).select_from(model).where(*where)).one()


def _token_in_outbox(session, email: str) -> str:
    session.expire_all()
    for event in session.exec(select(OutboxEvent).where(OutboxEvent.topic == "team.member_invited")).all():
        invitation = session.get(Invitation, event.payload["invitation_id"])
        if invitation.email == email:
            return parse_qs(urlsplit(event.payload["accept_url"]).query)["token"][0]
    raise AssertionError(f"no invitation email for {email} in the outbox")


def test_the_caller_founds_an_organization_and_owns_it(client, pg_session, clock):
    attendee = make_user(pg_session, now=clock.now, email="founder@example.org")
    headers = bearer(client, attendee)

    created = client.post("/api/v1/organizations", json={"name": "Harbour Nights"}, headers=headers)

    assert created.status_code == 201
    body = created.json()
    assert (body["name"], body["slug"], body["role"]) == ("Harbour Nights", "harbour-nights", "owner")
    again = client.post("/api/v1/organizations", json={"name": "Harbour nights"}, headers=headers).json()
    assert again["slug"] == "harbour-nights-2"
    mine = client.get("/api/v1/organizations", headers=headers).json()
    assert [(o["name"], o["role"]) for o in mine] == [("Harbour Nights", "owner"), ("Harbour nights", "owner")]
    # The attendee is an organizer now: the organizer area opens.
    assert client.get("/api/v1/organizer/events", headers=headers).status_code == 200


def test_founding_refuses_strangers_and_empty_names(client, pg_session, clock):
    assert client.post("/api/v1/organizations", json={"name": "Nobody's"}).status_code == 401
    user = make_user(pg_session, now=clock.now)
    refused = client.post(
        "/api/v1/organizations", json={"name": "  "}, headers={**bearer(client, user), "Accept-Language": "ar"}
    )
    assert refused.status_code == 422
    assert refused.json()["error"] == {"code": "validation_error", "message": "أدخل اسم المؤسسة."}
    assert client.get("/api/v1/organizations", headers=bearer(client, user)).json() == []


def test_an_invitation_email_lands_in_the_outbox_and_its_link_lets_the_invitee_join(client, pg_session, clock, world):
    org_id = world["org"].id
    invited = client.post(
        f"/api/v1/organizations/{org_id}/invitations",
        json={"email": "Newcomer@Example.org", "role": "manager"},
        headers=bearer(client, world["owner"]),
    )
    assert invited.status_code == 201
    assert invited.json()["email"] == "newcomer@example.org" and invited.json()["role"] == "manager"
    assert "token" not in str(invited.json())  # only the invited mailbox gets the link

    token = _token_in_outbox(pg_session, "newcomer@example.org")
    assert dispatch_outbox(pg_session, now=clock.now)
    notification = pg_session.exec(select(Notification).where(Notification.topic == "team.member_invited")).one()
    assert notification.recipient == "newcomer@example.org" and notification.payload["accept_url"].endswith(token)

    # The invitee signs up and accepts; an outsider holding the link cannot.
    client.post("/api/v1/auth/register", json={"email": "newcomer@example.org", "password": DEFAULT_PASSWORD})
    newcomer_headers = {
        "Authorization": "Bearer "
        + client.post(
            "/api/v1/auth/login", json={"email": "newcomer@example.org", "password": DEFAULT_PASSWORD}
        ).json()["access_token"]
    }
    wrong = client.post("/api/v1/invitations/accept", json={"token": token}, headers=bearer(client, world["viewer"]))
    assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "invitation_wrong_account"
    joined = client.post("/api/v1/invitations/accept", json={"token": token}, headers=newcomer_headers)
    assert joined.status_code == 200 and joined.json()["role"] == "manager"
    again = client.post("/api/v1/invitations/accept", json={"token": token}, headers=newcomer_headers)
    assert again.status_code == 409 and again.json()["error"]["code"] == "invitation_used"

    members = client.get(f"/api/v1/organizations/{org_id}/members", headers=bearer(client, world["owner"])).json()
    assert {m["email"]: m["role"] for m in members}["newcomer@example.org"] == "manager"
    events = client.get("/api/v1/organizer/events", headers=newcomer_headers).json()
    assert [e["title"] for e in events] == ["Ours"]


def test_staff_invitations_name_events_of_the_organization(client, pg_session, clock, world):
    org_id, owner = world["org"].id, bearer(client, world["owner"])
    url = f"/api/v1/organizations/{org_id}/invitations"
    no_events = client.post(url, json={"email": "door@example.org", "role": "staff"}, headers=owner)
    assert no_events.status_code == 422
    theirs = client.post(
        url,
        json={"email": "door@example.org", "role": "staff", "event_ids": [str(world["rival_event"].id)]},
        headers=owner,
    )
    assert theirs.status_code == 422
    ours = client.post(
        url, json={"email": "door@example.org", "role": "staff", "event_ids": [str(world["event"].id)]}, headers=owner
    )
    assert ours.status_code == 201 and ours.json()["event_ids"] == [str(world["event"].id)]

    door = make_user(pg_session, now=clock.now, email="door@example.org")
    token = _token_in_outbox(pg_session, "door@example.org")
    assert (
        client.post("/api/v1/invitations/accept", json={"token": token}, headers=bearer(client, door)).status_code
        == 200
    )
    pg_session.expire_all()
    assignment = pg_session.exec(select(StaffAssignment).where(StaffAssignment.user_id == door.id)).one()
    assert assignment.event_id == world["event"].id


def test_invited_twice_or_already_a_member_is_a_conflict_and_changes_nothing(client, pg_session, world):
    url, owner = f"/api/v1/organizations/{world['org'].id}/invitations", bearer(client, world["owner"])
    assert client.post(url, json={"email": "twice@example.org", "role": "viewer"}, headers=owner).status_code == 201
    before = (_count(pg_session, Invitation), _count(pg_session, OutboxEvent))

    twice = client.post(url, json={"email": "twice@example.org", "role": "manager"}, headers=owner)
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "already_invited"
    member = client.post(url, json={"email": "manager@example.org", "role": "viewer"}, headers=owner)
    assert member.status_code == 409 and member.json()["error"]["code"] == "already_member"
    bad = client.post(url, json={"email": "x@example.org", "role": "emperor"}, headers=owner)
    assert bad.status_code == 422
    assert (_count(pg_session, Invitation), _count(pg_session, OutboxEvent)) == before


@pytest.mark.parametrize("who", ["manager", "viewer", "staff", "rival"])
def test_only_the_organizations_owners_invite_change_roles_or_remove(client, pg_session, world, who):
    org_id, headers = world["org"].id, bearer(client, world[who])
    target = world["viewer" if who != "viewer" else "manager"]
    before = (_count(pg_session, Invitation), _count(pg_session, Membership))

    invite = client.post(
        f"/api/v1/organizations/{org_id}/invitations", json={"email": "x@example.org", "role": "owner"}, headers=headers
    )
    patch = client.patch(f"/api/v1/organizations/{org_id}/members/{target.id}", json={"role": "owner"}, headers=headers)
    delete = client.delete(f"/api/v1/organizations/{org_id}/members/{target.id}", headers=headers)
    listed = client.get(f"/api/v1/organizations/{org_id}/invitations", headers=headers)

    for response in (invite, patch, delete, listed):
        assert response.status_code == 403 and response.json()["error"]["code"] == "forbidden"
    assert (_count(pg_session, Invitation), _count(pg_session, Membership)) == before


def test_members_are_visible_to_the_team_but_not_to_staff_or_other_organizations(client, world):
    url = f"/api/v1/organizations/{world['org'].id}/members"
    assert client.get(url).status_code == 401
    for who in ("owner", "manager", "viewer"):
        listed = client.get(url, headers=bearer(client, world[who]))
        assert listed.status_code == 200 and [m["role"] for m in listed.json()] == [
            "owner",
            "manager",
            "viewer",
            "staff",
        ]
    for who in ("staff", "rival"):
        assert client.get(url, headers=bearer(client, world[who])).status_code == 403


def test_roles_change_but_the_last_owner_stays(client, pg_session, world):
    org_id, owner = world["org"].id, bearer(client, world["owner"])
    members_url = f"/api/v1/organizations/{org_id}/members"

    demote_self = client.patch(f"{members_url}/{world['owner'].id}", json={"role": "manager"}, headers=owner)
    assert demote_self.status_code == 409 and demote_self.json()["error"]["code"] == "last_owner"
    leave = client.delete(f"{members_url}/{world['owner'].id}", headers=owner)
    assert leave.status_code == 409 and leave.json()["error"]["code"] == "last_owner"

    promoted = client.patch(f"{members_url}/{world['manager'].id}", json={"role": "owner"}, headers=owner)
    assert promoted.status_code == 200 and promoted.json()["role"] == "owner"
    to_staff = client.patch(
        f"{members_url}/{world['viewer'].id}",
        json={"role": "staff", "event_ids": [str(world["event"].id)]},
        headers=owner,
    )
    assert to_staff.status_code == 200 and to_staff.json()["events"] == ["Ours"]

    assert client.delete(f"{members_url}/{world['staff'].id}", headers=owner).status_code == 204
    assert client.delete(f"{members_url}/{world['owner'].id}", headers=owner).status_code == 204  # now it may leave
    remaining = client.get(members_url, headers=bearer(client, world["manager"])).json()
    assert [(m["email"], m["role"]) for m in remaining] == [
        ("manager@example.org", "owner"),
        ("viewer@example.org", "staff"),
    ]


def test_a_member_may_leave_and_revoked_invitations_stop_working(client, pg_session, clock, world):
    org_id = world["org"].id
    viewer = bearer(client, world["viewer"])
    assert (
        client.delete(f"/api/v1/organizations/{org_id}/members/{world['viewer'].id}", headers=viewer).status_code == 204
    )
    assert client.get("/api/v1/organizations", headers=viewer).json() == []

    owner = bearer(client, world["owner"])
    invitation = client.post(
        f"/api/v1/organizations/{org_id}/invitations",
        json={"email": "maybe@example.org", "role": "viewer"},
        headers=owner,
    ).json()
    token = _token_in_outbox(pg_session, "maybe@example.org")
    revoke_url = f"/api/v1/organizations/{org_id}/invitations/{invitation['id']}"
    assert client.delete(revoke_url, headers=bearer(client, world["manager"])).status_code == 403
    assert client.delete(revoke_url, headers=owner).status_code == 204
    maybe = make_user(pg_session, now=clock.now, email="maybe@example.org")
    refused = client.post("/api/v1/invitations/accept", json={"token": token}, headers=bearer(client, maybe))
    assert refused.status_code == 410 and refused.json()["error"]["code"] == "invitation_revoked"


def test_the_same_address_invited_at_the_same_moment_gets_one_invitation(pg_engine, pg_session, clock, world):
    """Both requests pass the "already invited?" check; the partial unique index lets one through."""
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def invite() -> None:
        with Session(pg_engine, expire_on_commit=False) as session:
            owner = session.get(type(world["owner"]), world["owner"].id)
            barrier.wait()
            try:
                teams.invite_member(
                    session,
                    actor=owner,
                    organization_id=world["org"].id,
                    email="race@example.org",
                    role="viewer",
                    now=clock.now,
                )
                outcomes.append("invited")
            except AlreadyInvited:
                outcomes.append("already invited")

    threads = [threading.Thread(target=invite) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert sorted(outcomes) == ["already invited", "invited"]
    assert _count(pg_session, Invitation, Invitation.email == "race@example.org") == 1
    assert _count(pg_session, OutboxEvent, OutboxEvent.topic == "team.member_invited") == 1
