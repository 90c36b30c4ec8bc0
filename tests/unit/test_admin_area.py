"""The admin area: finding users, changing roles, disabling and enabling accounts, the platform's
organizations, events, failed notifications and recent changes. Admins only, every change audited,
and the platform never left without an active admin."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from reflex.istate.data import RouterData
from sqlmodel import Session, select, update

from bilten.models import (
    AuditEntry,
    EventStatus,
    Membership,
    Notification,
    NotificationStatus,
    Order,
    OrderLine,
    OrderStatus,
    RefreshToken,
    Role,
    ScanDevice,
    TeamRole,
    TicketType,
    User,
    WebSession,
)
from bilten.services import accounts, devices, platform, users
from bilten.services.errors import (
    Forbidden,
    InvalidCredentials,
    InvalidToken,
    NotAuthenticated,
    NotFound,
    TokenReused,
    ValidationFailed,
)
from bilten.state import admin as admin_state
from bilten.state.admin import AdminChangesState, AdminEventsState, AdminOrganizationsState, AdminState, AdminUsersState
from bilten.state.auth import SESSION_COOKIE, AuthState
from tests.factories import DEFAULT_PASSWORD, make_event, make_organization, make_user

NON_ADMINS = ("organizer", "staff", "attendee")
# A revoked refresh token is refused like a reused one (both are 401: log in again).
REFUSED_REFRESH = (InvalidToken, TokenReused)


@pytest.fixture
def people(session, now):
    admin = make_user(session, role=Role.ADMIN, email="root@example.org", now=now)
    organizer = make_user(session, role=Role.ORGANIZER, email="olga@example.org", now=now)
    staff = make_user(session, role=Role.STAFF, email="sami@example.org", now=now)
    attendee = make_user(session, email="ada@example.org", now=now)
    attendee.full_name = "Ada Lovelace"
    session.add(attendee)
    session.commit()
    org = make_organization(session, members=(organizer,), now=now)
    return {"admin": admin, "organizer": organizer, "staff": staff, "attendee": attendee, "org": org}


def audit_entries(session: Session, action: str) -> list[AuditEntry]:
    return list(session.exec(select(AuditEntry).where(AuditEntry.action == action)).all())


def admin_calls(session, people, now):  # noqa: ANN001, ANN201
    """Every admin-area service, called on the attendee's account where it needs a target."""
    target = people["attendee"].id
    return {
        "search_users": lambda actor: users.search_users(session, actor=actor),
        "set_user_role": lambda actor: users.set_user_role(session, actor=actor, user_id=target, role="admin", now=now),
        "disable_user": lambda actor: users.disable_user(session, actor=actor, user_id=target, now=now),
        "enable_user": lambda actor: users.enable_user(session, actor=actor, user_id=target, now=now),
        "platform_overview": lambda actor: platform.platform_overview(session, actor=actor),
        "list_organizations": lambda actor: platform.list_organizations(session, actor=actor),
        "list_all_events": lambda actor: platform.list_all_events(session, actor=actor),
        "recent_admin_changes": lambda actor: platform.recent_admin_changes(session, actor=actor),
    }


# -- denials ------------------------------------------------------------------------------------


def test_nobody_but_admins_reaches_any_admin_service(session, people, now):
    for name, call in admin_calls(session, people, now).items():
        with pytest.raises(NotAuthenticated):
            call(None)
        for who in NON_ADMINS:
            with pytest.raises(Forbidden):
                call(people[who])
        assert name  # each one refused everybody
    session.refresh(people["attendee"])
    assert people["attendee"].role == Role.ATTENDEE and people["attendee"].is_active
    assert session.exec(select(AuditEntry)).all() == []


def test_an_organization_owner_is_no_admin(session, people, now):
    owner = people["organizer"]
    assert session.exec(select(Membership).where(Membership.user_id == owner.id)).one().team_role == TeamRole.OWNER
    with pytest.raises(Forbidden):
        platform.list_organizations(session, actor=owner)
    with pytest.raises(Forbidden):
        users.disable_user(session, actor=owner, user_id=people["staff"].id, now=now)


def test_a_disabled_admin_is_refused(session, people, now):
    other_admin = make_user(session, role=Role.ADMIN, now=now)
    users.disable_user(session, actor=people["admin"], user_id=other_admin.id, now=now)
    with pytest.raises(NotAuthenticated):
        users.search_users(session, actor=other_admin)


# -- searching ----------------------------------------------------------------------------------


def test_search_users_by_email_or_name_role_and_status(session, people, now):
    admin = people["admin"]
    assert users.search_users(session, actor=admin).total == 4
    assert [u.email for u in users.search_users(session, actor=admin, search="  OLGA@ ").items] == ["olga@example.org"]
    assert [u.email for u in users.search_users(session, actor=admin, search="lovelace").items] == ["ada@example.org"]
    assert users.search_users(session, actor=admin, search="%").total == 0  # LIKE wildcards are plain text
    staff_only = users.search_users(session, actor=admin, role="staff")
    assert [u.email for u in staff_only.items] == ["sami@example.org"]
    users.disable_user(session, actor=admin, user_id=people["staff"].id, now=now)
    assert [u.email for u in users.search_users(session, actor=admin, active=False).items] == ["sami@example.org"]
    assert users.search_users(session, actor=admin, active=True).total == 3
    listed = users.search_users(session, actor=admin, search="sami").items[0]
    assert listed.is_active is False and "password_hash" not in listed.model_dump()


def test_search_users_pages_through_everyone(session, people, now):
    for n in range(5):
        make_user(session, email=f"extra{n}@example.org", now=now + timedelta(minutes=n))
    first = users.search_users(session, actor=people["admin"], limit=4, offset=0)
    second = users.search_users(session, actor=people["admin"], limit=4, offset=4)
    third = users.search_users(session, actor=people["admin"], limit=4, offset=8)
    assert (first.total, len(first.items), len(second.items), len(third.items)) == (9, 4, 4, 1)
    assert first.items[0].email == "extra4@example.org"  # newest first
    seen = [u.id for page in (first, second, third) for u in page.items]
    assert len(set(seen)) == 9


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"role": "emperor"}, "error.role_invalid"),
        ({"limit": 0}, "error.page_invalid"),
        ({"limit": users.MAX_PAGE_SIZE + 1}, "error.page_invalid"),
        ({"offset": -1}, "error.page_invalid"),
        ({"search": "x" * (users.MAX_SEARCH_LENGTH + 1)}, "error.search_too_long"),
    ],
)
def test_bad_search_input_is_refused_clearly(session, people, kwargs, key):
    with pytest.raises(ValidationFailed) as refused:
        users.search_users(session, actor=people["admin"], **kwargs)
    assert refused.value.key == key


# -- roles --------------------------------------------------------------------------------------


def test_role_change_is_audited_with_the_acting_admin(session, people, now):
    changed = users.set_user_role(
        session, actor=people["admin"], user_id=people["attendee"].id, role="organizer", now=now
    )
    assert changed.role == Role.ORGANIZER
    session.refresh(people["attendee"])
    assert people["attendee"].role == Role.ORGANIZER
    (entry,) = audit_entries(session, "user.role_changed")
    assert entry.actor_user_id == people["admin"].id and entry.object_id == str(people["attendee"].id)
    assert entry.data == {"email": "ada@example.org", "from": "attendee", "to": "organizer"}
    # The same role again changes nothing and writes nothing.
    users.set_user_role(session, actor=people["admin"], user_id=people["attendee"].id, role="organizer", now=now)
    assert len(audit_entries(session, "user.role_changed")) == 1


def test_bad_role_changes_change_nothing(session, people, now):
    with pytest.raises(ValidationFailed) as refused:
        users.set_user_role(session, actor=people["admin"], user_id=people["attendee"].id, role="emperor", now=now)
    assert refused.value.key == "error.role_invalid"
    with pytest.raises(NotFound):
        users.set_user_role(session, actor=people["admin"], user_id=uuid.uuid4(), role="staff", now=now)
    session.refresh(people["attendee"])
    assert people["attendee"].role == Role.ATTENDEE
    assert audit_entries(session, "user.role_changed") == []


def test_the_last_active_admin_cannot_step_down(session, people, now):
    admin = people["admin"]
    with pytest.raises(ValidationFailed) as refused:
        users.set_user_role(session, actor=admin, user_id=admin.id, role="attendee", now=now)
    assert refused.value.key == "error.last_admin_role"
    # A disabled admin is no help: the platform needs an admin who can log in.
    dormant = make_user(session, role=Role.ADMIN, now=now)
    users.disable_user(session, actor=admin, user_id=dormant.id, now=now)
    with pytest.raises(ValidationFailed):
        users.set_user_role(session, actor=admin, user_id=admin.id, role="organizer", now=now)
    session.refresh(admin)
    assert admin.role == Role.ADMIN


def test_an_admin_may_step_down_when_another_remains(session, people, now):
    colleague = make_user(session, role=Role.ADMIN, now=now)
    users.set_user_role(session, actor=people["admin"], user_id=people["admin"].id, role="organizer", now=now)
    session.refresh(people["admin"])
    assert people["admin"].role == Role.ORGANIZER
    # Now the colleague is the last one.
    with pytest.raises(ValidationFailed):
        users.set_user_role(session, actor=colleague, user_id=colleague.id, role="staff", now=now)
    with pytest.raises(Forbidden):
        users.search_users(session, actor=people["admin"])


def test_an_admin_demoted_meanwhile_is_refused(session, people, now):
    """The actor's row is read again under lock: a role taken away a moment ago counts."""
    colleague = make_user(session, role=Role.ADMIN, now=now)
    actor = people["admin"]  # still an admin in this session's memory
    session.exec(update(User).where(User.id == actor.id).values(role=Role.ORGANIZER))
    session.commit()  # demoted by another admin: committed (a refused service call rolls its own work back)
    with pytest.raises(Forbidden):
        users.set_user_role(session, actor=actor, user_id=colleague.id, role="attendee", now=now)
    with pytest.raises(Forbidden):
        users.disable_user(session, actor=actor, user_id=colleague.id, now=now)


# -- disabling and enabling ---------------------------------------------------------------------


@contextmanager
def logged_in_everywhere(session: Session, email: str, now) -> Iterator[dict[str, str]]:  # noqa: ANN001
    _, web_token = accounts.log_in_web(session, email=email, password=DEFAULT_PASSWORD, now=now)
    api_pair = accounts.log_in_api(session, email=email, password=DEFAULT_PASSWORD, now=now)
    device = devices.sign_in_device(session, email=email, password=DEFAULT_PASSWORD, name="Door 1", now=now)
    yield {"web": web_token, "access": api_pair.access_token, "refresh": api_pair.refresh_token, "device": device.token}


def test_disabling_logs_the_user_out_everywhere_at_once(session, people, now):
    staff = people["staff"]
    with logged_in_everywhere(session, staff.email, now) as tokens:
        assert accounts.user_for_web_session(session, token=tokens["web"], now=now).id == staff.id

        disabled = users.disable_user(session, actor=people["admin"], user_id=staff.id, now=now)

        assert disabled.is_active is False
        later = now + timedelta(seconds=5)
        assert accounts.user_for_web_session(session, token=tokens["web"], now=later) is None
        with pytest.raises(InvalidToken):
            accounts.user_for_access_token(session, token=tokens["access"], now=later)
        with pytest.raises(REFUSED_REFRESH):
            accounts.refresh_api_tokens(session, refresh_token=tokens["refresh"], now=later)
        with pytest.raises(InvalidToken):
            devices.user_for_device_token(session, token=tokens["device"], now=later)
    rows = [
        *session.exec(select(WebSession).where(WebSession.user_id == staff.id)).all(),
        *session.exec(select(RefreshToken).where(RefreshToken.user_id == staff.id)).all(),
        *session.exec(select(ScanDevice).where(ScanDevice.user_id == staff.id)).all(),
    ]
    assert len(rows) == 3 and all(row.revoked_at == now for row in rows)
    (entry,) = audit_entries(session, "user.disabled")
    assert entry.actor_user_id == people["admin"].id and entry.object_id == str(staff.id)
    assert entry.data == {
        "email": staff.email,
        "web_sessions_ended": 1,
        "refresh_tokens_revoked": 1,
        "scan_devices_revoked": 1,
    }


def test_a_disabled_user_cannot_log_in_and_learns_nothing_more(session, people, now):
    attendee = people["attendee"]
    users.disable_user(session, actor=people["admin"], user_id=attendee.id, now=now)
    with pytest.raises(InvalidCredentials) as right_password:
        accounts.log_in_web(session, email=attendee.email, password=DEFAULT_PASSWORD, now=now)
    with pytest.raises(InvalidCredentials) as wrong_password:
        accounts.log_in_web(session, email=attendee.email, password="Wrong-password-1", now=now)
    # The same answer as a wrong password: the form does not tell that the account exists.
    assert right_password.value.key == wrong_password.value.key == "error.invalid_credentials"
    with pytest.raises(InvalidCredentials):
        accounts.log_in_api(session, email=attendee.email, password=DEFAULT_PASSWORD, now=now)


def test_enabling_lets_the_user_log_in_again_but_old_sessions_stay_ended(session, people, now):
    attendee = people["attendee"]
    with logged_in_everywhere(session, attendee.email, now) as tokens:
        users.disable_user(session, actor=people["admin"], user_id=attendee.id, now=now)
        enabled = users.enable_user(session, actor=people["admin"], user_id=attendee.id, now=now)
        assert enabled.is_active is True
        assert accounts.user_for_web_session(session, token=tokens["web"], now=now) is None
        with pytest.raises(REFUSED_REFRESH):
            accounts.refresh_api_tokens(session, refresh_token=tokens["refresh"], now=now)
    user, _ = accounts.log_in_web(session, email=attendee.email, password=DEFAULT_PASSWORD, now=now)
    assert user.id == attendee.id
    (entry,) = audit_entries(session, "user.enabled")
    assert entry.actor_user_id == people["admin"].id and entry.data == {"email": attendee.email}
    # Enabling an active account (or disabling a disabled one) changes nothing and audits nothing.
    users.enable_user(session, actor=people["admin"], user_id=attendee.id, now=now)
    assert len(audit_entries(session, "user.enabled")) == 1


def test_an_admin_cannot_disable_themselves(session, people, now):
    make_user(session, role=Role.ADMIN, now=now)  # another admin exists: the rule is about oneself
    with pytest.raises(ValidationFailed) as refused:
        users.disable_user(session, actor=people["admin"], user_id=people["admin"].id, now=now)
    assert refused.value.key == "error.cannot_disable_self"
    session.refresh(people["admin"])
    assert people["admin"].is_active
    assert audit_entries(session, "user.disabled") == []


def test_an_admin_may_disable_another_admin_while_one_remains(session, people, now):
    colleague = make_user(session, role=Role.ADMIN, now=now)
    users.disable_user(session, actor=people["admin"], user_id=colleague.id, now=now)
    session.refresh(colleague)
    assert not colleague.is_active
    with pytest.raises(NotFound):
        users.disable_user(session, actor=people["admin"], user_id=uuid.uuid4(), now=now)


# -- organizations, events, notifications, changes ----------------------------------------------


def add_paid_order(session: Session, event, ticket_type: TicketType, quantity: int, status: OrderStatus, now):  # noqa: ANN001
    order = Order(
        event_id=event.id,
        status=status,
        buyer_email="buyer@example.org",
        currency=ticket_type.currency,
        total_minor=ticket_type.price_minor * quantity,
        created_at=now,
    )
    session.add(order)
    session.flush()
    session.add(
        OrderLine(
            order_id=order.id,
            ticket_type_id=ticket_type.id,
            quantity=quantity,
            unit_price_minor=ticket_type.price_minor,
            line_total_minor=ticket_type.price_minor * quantity,
        )
    )
    session.commit()


def test_organizations_with_members_events_and_owners(session, people, now):
    org = people["org"]
    session.add(Membership(organization_id=org.id, user_id=people["staff"].id, team_role=TeamRole.STAFF))
    session.commit()
    make_event(session, organization=org, now=now, title="Jazz night")
    make_event(session, organization=org, now=now, title="Folk night")
    empty = make_organization(session, now=now)

    page = platform.list_organizations(session, actor=people["admin"])
    assert page.total == 2
    listed = {row.id: row for row in page.items}
    assert (listed[org.id].members, listed[org.id].events, listed[org.id].owners) == (2, 2, ["olga@example.org"])
    assert (listed[empty.id].members, listed[empty.id].events, listed[empty.id].owners) == (0, 0, [])
    found = platform.list_organizations(session, actor=people["admin"], search=org.slug.upper())
    assert [row.id for row in found.items] == [org.id]
    assert platform.list_organizations(session, actor=people["admin"], limit=1, offset=1).items[0].id in listed


def test_all_events_across_organizations_with_seats_sold(session, people, now):
    rival = make_organization(session, now=now)
    ours = make_event(session, organization=people["org"], now=now, title="Jazz night", quantity=50, days_ahead=5)
    theirs = make_event(session, organization=rival, now=now, title="Rival draft", status=EventStatus.DRAFT)
    ticket_type = session.exec(select(TicketType).where(TicketType.event_id == ours.id)).one()
    add_paid_order(session, ours, ticket_type, 3, OrderStatus.PAID, now)
    add_paid_order(session, ours, ticket_type, 2, OrderStatus.PENDING, now)  # held, not sold

    page = platform.list_all_events(session, actor=people["admin"])
    assert page.total == 2
    assert [row.title for row in page.items] == ["Rival draft", "Jazz night"]  # latest start first
    jazz = page.items[1]
    assert (jazz.sold, jazz.capacity, jazz.organization_name) == (3, 50, people["org"].name)
    assert jazz.status == EventStatus.PUBLISHED
    assert [r.id for r in platform.list_all_events(session, actor=people["admin"], search="JAZZ").items] == [ours.id]
    drafts = platform.list_all_events(session, actor=people["admin"], status="draft")
    assert [r.id for r in drafts.items] == [theirs.id]
    with pytest.raises(ValidationFailed) as refused:
        platform.list_all_events(session, actor=people["admin"], status="postponed")
    assert refused.value.key == "error.event_status_invalid"


def test_overview_counts_failed_notifications(session, people, now):
    for n, status in enumerate((NotificationStatus.FAILED, NotificationStatus.FAILED, NotificationStatus.SENT)):
        session.add(Notification(idempotency_key=f"k{n}", recipient=f"r{n}@example.org", status=status))
    session.commit()
    users.disable_user(session, actor=people["admin"], user_id=people["staff"].id, now=now)
    overview = platform.platform_overview(session, actor=people["admin"])
    assert (overview.users, overview.disabled_users, overview.organizations, overview.events) == (4, 1, 1, 0)
    assert overview.failed_notifications == 2


def test_recent_changes_list_admin_actions_newest_first(session, people, now):
    admin = people["admin"]
    users.set_user_role(session, actor=admin, user_id=people["attendee"].id, role="staff", now=now)
    users.disable_user(session, actor=admin, user_id=people["staff"].id, now=now + timedelta(minutes=1))
    users.enable_user(session, actor=admin, user_id=people["staff"].id, now=now + timedelta(minutes=2))
    accounts.log_in_web(session, email=people["attendee"].email, password=DEFAULT_PASSWORD, now=now)  # not admin work

    changes = platform.recent_admin_changes(session, actor=admin)
    assert [c.action for c in changes] == ["user.enabled", "user.disabled", "user.role_changed"]
    assert {c.actor_email for c in changes} == {"root@example.org"}
    assert [c.target for c in changes] == ["sami@example.org", "sami@example.org", "ada@example.org"]
    assert changes[2].data["from"] == "attendee" and changes[2].data["to"] == "staff"


# -- the page's state handlers: the same refusals without a browser -----------------------------


@pytest.fixture
def app_states(fresh_tab):
    return fresh_tab


async def run(state, handler: str, *args):  # noqa: ANN001, ANN201
    return await type(state).event_handlers[handler].fn(state, *args)


async def signed_in_tab(root, session: Session, user: User | None, now):  # noqa: ANN001, ANN201
    auth = await root.get_state(AuthState)
    if user is not None:
        _, token = accounts.log_in_web(session, email=user.email, password=DEFAULT_PASSWORD, now=now)
        # As the websocket handshake brings it: the HttpOnly cookie, read on the server only.
        root.router = RouterData.from_router_data({"headers": {"cookie": f"{SESSION_COOKIE}={token}"}})
    return auth


@pytest.mark.anyio
@pytest.mark.parametrize("who", [None, *NON_ADMINS])
async def test_non_admins_get_nothing_from_the_admin_page_or_its_handlers(app_states, session, people, now, who):
    make_event(session, organization=people["org"], now=now)
    users.set_user_role(session, actor=people["admin"], user_id=people["staff"].id, role="staff", now=now)
    audited_before = len(session.exec(select(AuditEntry)).all())
    user = people[who] if who else None
    auth = await signed_in_tab(app_states, session, user, now)

    page = await app_states.get_state(AdminState)
    await run(page, "load")
    assert page.loaded and not page.allowed and page.overview.users == 0
    assert auth.denied is (user is not None)  # signed-in users see "not allowed"; others go to log in

    sections = {
        AdminUsersState: "_rows",
        AdminOrganizationsState: "_rows",
        AdminEventsState: "_rows",
        AdminChangesState: "_rows",
    }
    for state_cls, rows in sections.items():
        section = await app_states.get_state(state_cls)
        await run(section, "load")
        assert getattr(section, rows) == [], state_cls.__name__

    tab = await app_states.get_state(AdminUsersState)
    target = people["attendee"]
    await run(tab, "change_role", str(target.id), "admin")
    tab._rows = [users.AdminUser.of(target)]  # as if the list had been shown: the service still refuses
    await run(tab, "ask_toggle", str(target.id))
    await run(tab, "confirm_toggle")
    session.refresh(target)
    assert target.role == Role.ATTENDEE and target.is_active
    assert len(session.exec(select(AuditEntry)).all()) == audited_before + (1 if user else 0)  # the login only


@pytest.mark.anyio
async def test_the_admin_page_and_its_handlers_work_for_admins(app_states, session, people, now, app_clock):
    make_event(session, organization=people["org"], now=now, title="Jazz night")
    auth = await signed_in_tab(app_states, session, people["admin"], now)
    page = await app_states.get_state(AdminState)
    await run(page, "load")
    assert page.allowed and not auth.denied and page.overview.users == 4 and page.overview.events == 1

    tab = await app_states.get_state(AdminUsersState)
    await run(tab, "load")
    assert tab.total == 4
    views = {view.email: view for view in tab.users}
    assert views["root@example.org"].is_self and not views["ada@example.org"].is_self

    target = people["attendee"]
    await run(tab, "change_role", str(target.id), "organizer")
    app_clock.advance(seconds=1)  # the two changes are listed newest first
    await run(tab, "ask_toggle", str(target.id))
    assert tab.confirm_open and tab.confirm_disable and "ada@example.org" in tab.confirm_text
    await run(tab, "confirm_toggle")
    session.refresh(target)
    assert target.role == Role.ORGANIZER and not target.is_active
    assert [row.is_active for row in tab._rows if row.id == target.id] == [False]

    events = await app_states.get_state(AdminEventsState)
    await run(events, "load")
    (shown,) = events.events
    assert shown.title == "Jazz night" and shown.office_url.startswith("/organizer/events/")
    changes = await app_states.get_state(AdminChangesState)
    await run(changes, "load")
    assert [view.action for view in changes.changes] == ["user.disabled", "user.role_changed"]


@pytest.mark.anyio
async def test_admin_lists_page_through_their_rows(app_states, session, people, now):
    for n in range(30):  # 34 accounts with the four people: two pages of 25
        make_user(session, email=f"fan{n:02d}@example.org", now=now)

    def turn(state, handler):  # the page buttons' handlers are plain functions
        return type(state).event_handlers[handler].fn(state)

    await signed_in_tab(app_states, session, people["admin"], now)
    tab = await app_states.get_state(AdminUsersState)
    await run(tab, "load")
    assert (tab.offset, tab.total, len(tab._rows)) == (0, 34, admin_state.PAGE_SIZE)
    assert tab.has_next and not tab.has_previous

    assert turn(tab, "previous_page") is None  # nothing before the first page
    follow_up = turn(tab, "next_page")
    assert follow_up is AdminUsersState.load and tab.offset == admin_state.PAGE_SIZE
    await run(tab, "load")
    assert len(tab._rows) == 9 and not tab.has_next and tab.has_previous
    assert turn(tab, "next_page") is None  # nothing after the last page

    assert turn(tab, "previous_page") is AdminUsersState.load and tab.offset == 0
