"""`/api/v1/admin/*` over HTTP on PostgreSQL: users, roles, disabling, organizations and events,
every refusal, and a disabled account losing its tokens and browser sessions at once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlmodel import Session, select

from bilten.models import AuditEntry, EventStatus, Role, User
from bilten.services import accounts, users
from bilten.services.errors import Forbidden, ValidationFailed
from tests.factories import DEFAULT_PASSWORD, make_event, make_organization, make_user

NON_ADMINS = (Role.ORGANIZER, Role.STAFF, Role.ATTENDEE)


@pytest.fixture
def people(pg_session, clock):
    now = clock.now
    found = {role: make_user(pg_session, role=role, email=f"{role}@example.org", now=now) for role in Role}
    org = make_organization(pg_session, members=(found[Role.ORGANIZER],), now=now)
    rival = make_organization(pg_session, now=now)
    make_event(pg_session, organization=org, now=now, title="Ours", quantity=40)
    make_event(pg_session, organization=rival, now=now, title="Theirs draft", status=EventStatus.DRAFT)
    return found


def login(client, email: str, password: str = DEFAULT_PASSWORD):  # noqa: ANN201
    return client.post("/api/v1/auth/login", json={"email": email, "password": password})


def bearer(client, user: User) -> dict[str, str]:
    return {"Authorization": f"Bearer {login(client, user.email).json()['access_token']}"}


def assert_error(response, status: int, code: str) -> str:  # noqa: ANN001
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code
    assert body["error"]["message"] and not body["error"]["message"].startswith("error.")
    return body["error"]["message"]


def admin_requests(target_id) -> list[tuple[str, str, dict | None]]:  # noqa: ANN001
    return [
        ("GET", "/api/v1/admin/users", None),
        ("PUT", f"/api/v1/admin/users/{target_id}/role", {"role": "admin"}),
        ("POST", f"/api/v1/admin/users/{target_id}/disable", None),
        ("POST", f"/api/v1/admin/users/{target_id}/enable", None),
        ("GET", "/api/v1/admin/organizations", None),
        ("GET", "/api/v1/admin/events", None),
    ]


def test_every_admin_endpoint_refuses_anonymous_and_non_admin_callers(client, people, pg_session):
    target = people[Role.ATTENDEE]
    for method, path, body in admin_requests(target.id):
        assert_error(client.request(method, path, json=body), 401, "not_authenticated")
        assert_error(
            client.request(method, path, json=body, headers={"Authorization": "Bearer forged"}), 401, "invalid_token"
        )
    for role in NON_ADMINS:
        headers = bearer(client, people[role])
        for method, path, body in admin_requests(target.id):
            assert_error(client.request(method, path, json=body, headers=headers), 403, "forbidden")
    pg_session.refresh(target)
    assert target.role == Role.ATTENDEE and target.is_active
    audited = {entry.action for entry in pg_session.exec(select(AuditEntry)).all()}
    assert audited == {"user.logged_in"}


def test_admin_searches_filters_and_pages_users(client, people):
    admin = bearer(client, people[Role.ADMIN])
    everyone = client.get("/api/v1/admin/users", headers=admin).json()
    assert (everyone["total"], everyone["limit"], everyone["offset"]) == (4, 50, 0)
    assert all(set(user) >= {"id", "email", "role", "is_active"} for user in everyone["items"])
    assert all("password_hash" not in user for user in everyone["items"])

    found = client.get("/api/v1/admin/users", params={"search": "ORGANIZER@"}, headers=admin).json()
    assert [u["email"] for u in found["items"]] == ["organizer@example.org"]
    staff = client.get("/api/v1/admin/users", params={"role": "staff"}, headers=admin).json()
    assert [u["email"] for u in staff["items"]] == ["staff@example.org"]
    first = client.get("/api/v1/admin/users", params={"limit": 3}, headers=admin).json()
    rest = client.get("/api/v1/admin/users", params={"limit": 3, "offset": 3}, headers=admin).json()
    assert (len(first["items"]), len(rest["items"]), rest["total"]) == (3, 1, 4)
    assert {u["id"] for u in first["items"]} | {u["id"] for u in rest["items"]} == {u["id"] for u in everyone["items"]}

    for params in ({"limit": 0}, {"limit": 101}, {"offset": -1}, {"role": "emperor"}, {"active": "maybe"}):
        assert_error(client.get("/api/v1/admin/users", params=params, headers=admin), 422, "validation_error")


def test_admin_changes_roles_and_keeps_one_admin(client, people, pg_session):
    admin_user = people[Role.ADMIN]
    admin = bearer(client, admin_user)
    target = people[Role.ATTENDEE]
    changed = client.put(f"/api/v1/admin/users/{target.id}/role", json={"role": "organizer"}, headers=admin)
    assert changed.status_code == 200 and changed.json()["role"] == "organizer"
    entry = pg_session.exec(select(AuditEntry).where(AuditEntry.action == "user.role_changed")).one()
    assert entry.actor_user_id == admin_user.id and entry.data["to"] == "organizer"

    bad = client.put(f"/api/v1/admin/users/{target.id}/role", json={"role": "emperor"}, headers=admin)
    assert "role" in assert_error(bad, 422, "validation_error").lower()
    message = assert_error(
        client.put(f"/api/v1/admin/users/{admin_user.id}/role", json={"role": "attendee"}, headers=admin),
        422,
        "validation_error",
    )
    assert "administrator" in message
    missing = client.put(
        "/api/v1/admin/users/00000000-0000-0000-0000-000000000000/role", json={"role": "staff"}, headers=admin
    )
    assert_error(missing, 404, "not_found")
    pg_session.refresh(admin_user)
    assert admin_user.role == Role.ADMIN


def test_a_disabled_user_is_logged_out_of_the_api_and_the_web_at_once(client, people, pg_session, clock):
    admin_user = people[Role.ADMIN]
    admin = bearer(client, admin_user)
    victim = people[Role.ORGANIZER]
    tokens = login(client, victim.email).json()
    victim_headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    _, web_token = accounts.log_in_web(pg_session, email=victim.email, password=DEFAULT_PASSWORD, now=clock.now)
    assert client.get("/api/v1/organizer/events", headers=victim_headers).status_code == 200

    disabled = client.post(f"/api/v1/admin/users/{victim.id}/disable", headers=admin)

    assert disabled.status_code == 200 and disabled.json()["is_active"] is False
    assert_error(client.get("/api/v1/organizer/events", headers=victim_headers), 401, "invalid_token")
    refreshed = client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 401
    with Session(pg_session.get_bind(), expire_on_commit=False) as fresh:
        assert accounts.user_for_web_session(fresh, token=web_token, now=clock.now) is None
    # Logging in again is refused with the same words as a wrong password.
    wrong = assert_error(login(client, victim.email, "Wrong-password-1"), 401, "invalid_credentials")
    assert assert_error(login(client, victim.email), 401, "invalid_credentials") == wrong
    listed = client.get("/api/v1/admin/users", params={"active": "false"}, headers=admin).json()
    assert [u["email"] for u in listed["items"]] == [victim.email]

    assert_error(client.post(f"/api/v1/admin/users/{admin_user.id}/disable", headers=admin), 422, "validation_error")
    enabled = client.post(f"/api/v1/admin/users/{victim.id}/enable", headers=admin)
    assert enabled.status_code == 200 and enabled.json()["is_active"] is True
    assert login(client, victim.email).status_code == 200
    actions = [
        entry.action
        for entry in pg_session.exec(
            select(AuditEntry).where(AuditEntry.actor_user_id == admin_user.id).order_by(AuditEntry.created_at)
        ).all()
        if entry.action.startswith("user.") and entry.action != "user.logged_in"
    ]
    assert sorted(actions) == ["user.disabled", "user.enabled"]


def test_admin_lists_organizations_and_all_events(client, people):
    admin = bearer(client, people[Role.ADMIN])
    organizations = client.get("/api/v1/admin/organizations", headers=admin).json()
    assert organizations["total"] == 2
    owned = next(org for org in organizations["items"] if org["owners"])
    assert owned["owners"] == ["organizer@example.org"] and owned["members"] == 1 and owned["events"] == 1
    searched = client.get("/api/v1/admin/organizations", params={"search": owned["slug"]}, headers=admin).json()
    assert [org["id"] for org in searched["items"]] == [owned["id"]]

    events = client.get("/api/v1/admin/events", headers=admin).json()
    assert sorted(e["title"] for e in events["items"]) == ["Ours", "Theirs draft"]
    ours = next(e for e in events["items"] if e["title"] == "Ours")
    assert (ours["sold"], ours["capacity"], ours["status"]) == (0, 40, "published")
    drafts = client.get("/api/v1/admin/events", params={"status": "draft"}, headers=admin).json()
    assert [e["title"] for e in drafts["items"]] == ["Theirs draft"]
    assert [
        e["title"] for e in client.get("/api/v1/admin/events", params={"search": "ours"}, headers=admin).json()["items"]
    ] == ["Ours"]
    assert_error(
        client.get("/api/v1/admin/events", params={"status": "postponed"}, headers=admin), 422, "validation_error"
    )


def test_two_admins_stepping_down_at_once_leave_one_admin(pg_engine, pg_session, clock):
    """Each demotes the other at the same moment: the admin rows are locked before they are
    counted, so exactly one change goes through."""
    first = make_user(pg_session, role=Role.ADMIN, now=clock.now)
    second = make_user(pg_session, role=Role.ADMIN, now=clock.now)
    start = threading.Barrier(2)

    def demote(actor_id, target_id):  # noqa: ANN001, ANN202
        with Session(pg_engine, expire_on_commit=False) as session:
            actor = session.get(User, actor_id)
            start.wait()
            try:
                users.set_user_role(session, actor=actor, user_id=target_id, role="attendee", now=clock.now)
            except (ValidationFailed, Forbidden) as exc:
                return type(exc).__name__
            return "ok"

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(pool.map(demote, (first.id, second.id), (second.id, first.id)))

    assert sorted(outcomes) == ["Forbidden", "ok"]
    with Session(pg_engine) as session:
        admins = session.exec(select(User).where(User.role == Role.ADMIN, User.is_active.is_(True))).all()
    assert len(admins) == 1
