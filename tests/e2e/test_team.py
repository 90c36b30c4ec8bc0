"""Teams in headless Chromium: the demo organizer invites a manager from the team page; the invitee
follows the emailed link, creates an account, accepts and sees the organization's events; the owner
then makes them staff for one event through the events dialog. And an organizer signs up with their
organization in one go."""

from __future__ import annotations

import re
import sqlite3
import time
import uuid
from email import policy
from email.parser import BytesParser

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.support import (
    LiveApp,
    catalog,
    emailed_link,
    log_in,
    open_page,
    sign_in_after_signing_up,
    wait_loaded,
)

pytestmark = pytest.mark.e2e

ENGLISH = catalog("en")
ORGANIZER = ("organizer@demo.bilten.org", "Demo-organizer-2026")
DEMO_ORGANIZATION = "Bilten Demo Productions"
OTHER_ORGANIZATION = "Harbor Events"  # the demo organizer is not a member
PASSWORD = "Lantern-harbour-91"


def _organization_id(live_app: LiveApp, name: str) -> str:
    with sqlite3.connect(live_app.database_path) as db:
        (raw,) = db.execute("SELECT id FROM organization WHERE name = ?", (name,)).fetchone()
    return str(uuid.UUID(raw))


def _invitation_link(live_app: LiveApp, email: str) -> str:
    """The accept link of the invitation email, read from the .eml file the app's notification
    worker wrote (no SMTP server configured); the path and query, for this test's browser."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        for path in sorted(live_app.mail_dir.glob("*.eml")):
            with path.open("rb") as file:
                message = BytesParser(policy=policy.default).parse(file)
            if message["To"] != email:
                continue
            assert DEMO_ORGANIZATION in message["Subject"]
            text = message.get_body(preferencelist=("plain",)).get_content()
            url = re.search(r"https?://\S+/join\?token=[A-Za-z0-9_-]+", text).group(0)
            assert url.startswith(live_app.base_url)
            return url.removeprefix(live_app.base_url)
        time.sleep(0.2)
    raise AssertionError(f"no invitation email for {email} in {live_app.mail_dir}")


def _scans_at(live_app: LiveApp, email: str) -> list[str]:
    """The titles of the events a user has door assignments at, from the app's database."""
    with sqlite3.connect(live_app.database_path) as db:
        rows = db.execute(
            "SELECT event.title FROM staff_assignment"
            " JOIN event ON event.id = staff_assignment.event_id"
            " JOIN user_account ON user_account.id = staff_assignment.user_id"
            " WHERE user_account.email = ? ORDER BY event.title",
            (email,),
        ).fetchall()
    return [title for (title,) in rows]


def _choose_role(page: Page, email: str, role: str) -> None:
    page.locator("#members-table tr", has_text=email).locator(".member-role").click()
    page.get_by_role("option", name=ENGLISH[f"team.role.{role}"]).click()


def test_owner_invites_a_manager_who_joins_through_the_emailed_link(browser: Browser, live_app: LiveApp) -> None:
    invitee = f"manager-{uuid.uuid4().hex[:8]}@example.org"
    owner_context = browser.new_context(base_url=live_app.base_url, locale="en-US")
    invitee_context = browser.new_context(base_url=live_app.base_url, locale="en-US")
    try:
        owner = owner_context.new_page()
        log_in(owner, *ORGANIZER, next_path="/organizer")
        owner.wait_for_url(re.compile(r"/organizer/?$"))
        wait_loaded(owner, "organizer")
        ours = owner.locator(".my-organization", has_text=DEMO_ORGANIZATION)
        ours.locator(".team-link").click()
        owner.wait_for_url(re.compile(r"/organizer/organizations/[0-9a-f-]{36}/team/?$"))
        wait_loaded(owner, "team")
        expect(owner.locator("h1")).to_have_text(DEMO_ORGANIZATION)
        expect(owner.locator("#members-table")).to_contain_text(ORGANIZER[0])

        # Manager is the form's first choice of role.
        owner.locator("#field-invite-email").fill(invitee)
        owner.locator("#invite-submit").click()
        pending = owner.locator("#invitations-table tr", has_text=invitee)
        expect(pending).to_contain_text(ENGLISH["team.role.manager"])

        # Invited twice: a clear error, and still one pending invitation.
        owner.locator("#field-invite-email").fill(invitee)
        owner.locator("#invite-submit").click()
        expect(owner.locator("#invite-error")).to_have_text(ENGLISH["error.team_already_invited"])
        expect(owner.locator("#invitations-table tr", has_text=invitee)).to_have_count(1)

        # The invitee has no account yet: the link leads to registering and back.
        page = invitee_context.new_page()
        open_page(page, _invitation_link(live_app, invitee), "join")
        expect(page.locator("#join-intro")).to_contain_text(DEMO_ORGANIZATION)
        expect(page.locator("#join-email")).to_contain_text(invitee)
        page.locator("#join-register").click()
        page.wait_for_url(re.compile(r"/register\?next="))
        wait_loaded(page, "register")
        page.locator("#field-full_name").fill("Mona Manager")
        page.locator("#field-email").fill(invitee)
        page.locator("#field-password").fill(PASSWORD)
        page.locator("#field-password_confirm").fill(PASSWORD)
        page.locator("#register-submit").click()
        sign_in_after_signing_up(page, invitee, PASSWORD)
        page.wait_for_url(re.compile(r"/join/?\?token="))
        wait_loaded(page, "join")
        page.locator("#join-accept").click()

        page.wait_for_url(re.compile(r"/organizer/?$"))
        wait_loaded(page, "organizer")
        expect(page.locator("#organizer-events")).to_contain_text("Riverside Jazz Night")
        expect(page.locator("#organizer-events")).not_to_contain_text("Harbor Sunset Cruise")
        expect(page.locator(".my-organization", has_text=DEMO_ORGANIZATION)).to_contain_text(
            ENGLISH["team.role.manager"]
        )

        # The owner sees the new manager in the team; the invitation is no longer pending.
        owner.reload()
        wait_loaded(owner, "team")
        row = owner.locator("#members-table tr", has_text=invitee)
        expect(row).to_have_attribute("data-role", "manager")
        expect(owner.locator("#no-invitations")).to_be_visible()

        # Making them staff asks for their events; Cancel leaves them a manager.
        dialog = owner.locator("#staff-events-dialog")
        _choose_role(owner, invitee, "staff")
        expect(dialog).to_be_visible()
        expect(dialog).to_contain_text(invitee)
        owner.locator("#cancel-staff-events").click()
        expect(dialog).to_have_count(0)
        expect(row).to_have_attribute("data-role", "manager")
        expect(row.locator(".member-role")).to_have_text(ENGLISH["team.role.manager"])
        assert _scans_at(live_app, invitee) == []

        # Saving without an event is refused in the dialog; with one, they scan there as staff.
        _choose_role(owner, invitee, "staff")
        owner.locator("#save-staff-events").click()
        expect(owner.locator("#staff-events-error")).to_have_text(ENGLISH["error.team_staff_needs_events"])
        expect(row).to_have_attribute("data-role", "manager")
        dialog.locator("label", has_text="Riverside Jazz Night").locator(".staff-event-choice").click()
        owner.locator("#save-staff-events").click()
        expect(dialog).to_have_count(0)
        expect(row).to_have_attribute("data-role", "staff")
        expect(row.locator(".member-events")).to_have_text("Riverside Jazz Night")
        assert _scans_at(live_app, invitee) == ["Riverside Jazz Night"]
        owner.reload()
        wait_loaded(owner, "team")
        expect(row).to_have_attribute("data-role", "staff")
        expect(row.locator(".member-role")).to_have_text(ENGLISH["team.role.staff"])

        # Staff do not manage the team; nobody reaches another organization's team.
        open_page(page, owner.url.removeprefix(live_app.base_url), "team")
        expect(page.locator("#forbidden")).to_be_visible()
        open_page(owner, f"/organizer/organizations/{_organization_id(live_app, OTHER_ORGANIZATION)}/team", "team")
        expect(owner.locator("#forbidden")).to_be_visible()
    finally:
        owner_context.close()
        invitee_context.close()


def test_an_organizer_signs_up_with_their_organization(page: Page, live_app: LiveApp) -> None:
    email = f"founder-{uuid.uuid4().hex[:8]}@example.org"
    open_page(page, "/register?next=/account", "register")
    page.locator("#field-full_name").fill("Farah Founder")
    page.locator("#field-email").fill(email)
    page.locator("#field-password").fill(PASSWORD)
    page.locator("#field-password_confirm").fill(PASSWORD)
    page.locator("#register-organizing").click()
    page.locator("#field-organization_name").fill("Farah's Festivals")
    page.locator("#register-submit").click()
    sign_in_after_signing_up(page, email, PASSWORD)

    # The organization waits for the confirmed address: the account page says so.
    page.wait_for_url(re.compile(r"/account/?$"))
    wait_loaded(page, "account")
    expect(page.locator("#email-unconfirmed")).to_be_visible()
    open_page(page, emailed_link(live_app, email, r"/verify-email\?token=[A-Za-z0-9_-]+"), "verify-email")
    expect(page.locator("#verify-result")).to_contain_text("Farah's Festivals")
    page.locator("#verify-to-organizer").click()
    page.wait_for_url(re.compile(r"/organizer/?$"))
    wait_loaded(page, "organizer")
    expect(page.locator("#organizer-events")).to_have_count(0)
    mine = page.locator(".my-organization", has_text="Farah's Festivals")
    expect(mine).to_contain_text(ENGLISH["team.role.owner"])
    mine.locator(".team-link").click()
    wait_loaded(page, "team")
    expect(page.locator("#members-table tr", has_text=email)).to_have_attribute("data-role", "owner")
