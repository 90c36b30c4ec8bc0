"""Role denials through the API: each endpoint checks who is asking."""

import pytest

from bilten.models import Role
from tests.factories import DEFAULT_PASSWORD, make_event, make_organization, make_user


@pytest.fixture
def people(pg_session, clock):
    now = clock.now
    found = {role: make_user(pg_session, role=role, now=now) for role in Role}
    org = make_organization(pg_session, members=(found[Role.ORGANIZER],), now=now)
    rival = make_organization(pg_session, now=now)
    make_event(pg_session, organization=org, now=now, title="Ours")
    make_event(pg_session, organization=rival, now=now, title="Theirs")
    return found


def bearer(client, user):
    tokens = client.post("/api/v1/auth/login", json={"email": user.email, "password": DEFAULT_PASSWORD}).json()
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def test_admin_endpoints_refuse_everyone_but_admins(client, people):
    assert client.get("/api/v1/admin/users").status_code == 401
    for role in (Role.ORGANIZER, Role.STAFF, Role.ATTENDEE):
        headers = bearer(client, people[role])
        assert client.get("/api/v1/admin/users", headers=headers).json()["error"]["code"] == "forbidden"
        response = client.put(f"/api/v1/admin/users/{people[role].id}/role", json={"role": "admin"}, headers=headers)
        assert response.status_code == 403
    admin = bearer(client, people[Role.ADMIN])
    listed = client.get("/api/v1/admin/users", headers=admin)
    assert listed.status_code == 200 and listed.json()["total"] == 4
    assert all("password_hash" not in user for user in listed.json()["items"])
    promoted = client.put(
        f"/api/v1/admin/users/{people[Role.ATTENDEE].id}/role", json={"role": "organizer"}, headers=admin
    )
    assert promoted.status_code == 200 and promoted.json()["role"] == "organizer"


def test_organizers_see_only_their_own_events(client, people):
    assert client.get("/api/v1/organizer/events").status_code == 401
    mine = client.get("/api/v1/organizer/events", headers=bearer(client, people[Role.ORGANIZER])).json()
    assert [e["title"] for e in mine] == ["Ours"]
    everything = client.get("/api/v1/organizer/events", headers=bearer(client, people[Role.ADMIN])).json()
    assert sorted(e["title"] for e in everything) == ["Ours", "Theirs"]
    for role in (Role.STAFF, Role.ATTENDEE):
        assert client.get("/api/v1/organizer/events", headers=bearer(client, people[role])).status_code == 403
