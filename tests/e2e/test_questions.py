"""Questions at checkout in the browser: an organizer asks (through the API), a guest answers them
(a name per ticket, a t-shirt size, a consent check box), is told what is missing, pays in test mode
and finds the answers on the order page, where they can still be changed."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.support import ORDER_URL, LiveApp, catalog, choose_tickets, open_page, wait_loaded

pytestmark = pytest.mark.e2e

ENGLISH = catalog("en")
ORGANIZER = ("organizer@demo.bilten.org", "Demo-organizer-2026")


def _event_with_questions(page: Page, live_app: LiveApp) -> tuple[str, dict[str, str]]:
    """A new event on sale asking three questions, set up as an organizer's program would."""
    api = page.context.request
    base = live_app.base_url
    login = api.post(f"{base}/api/v1/auth/login", data={"email": ORGANIZER[0], "password": ORGANIZER[1]})
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    organization = api.get(f"{base}/api/v1/organizations", headers=headers).json()[0]
    starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=20)
    event = api.post(
        f"{base}/api/v1/events",
        headers=headers,
        data={
            "organization_id": organization["id"],
            "title": "Questions Workshop",
            "timezone": "Europe/Berlin",
            "venue": "Hall B",
            "city": "Berlin",
            "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(hours=4)).isoformat(),
        },
    ).json()
    created = api.post(
        f"{base}/api/v1/events/{event['id']}/ticket-types",
        headers=headers,
        data={"name": "Workshop seat", "price": 1500, "currency": "EUR", "quantity": 40},
    )
    assert created.status == 201, created.text()
    asked = {}
    for key, body in {
        "name": {"label": "Attendee name", "kind": "text", "required": True, "per_ticket": True},
        "size": {"label": "T-shirt size", "kind": "choice", "options": ["S", "M", "L"], "per_ticket": True},
        "consent": {"label": "I accept the house rules", "kind": "yes_no", "required": True},
    }.items():
        made = api.post(f"{base}/api/v1/events/{event['id']}/questions", headers=headers, data=body)
        assert made.status == 201, made.text()
        asked[key] = made.json()["id"].replace("-", "")
    assert api.post(f"{base}/api/v1/events/{event['id']}/publish", headers=headers).status == 200
    return event["id"], asked


def test_a_guest_answers_the_questions_pays_and_sees_the_answers(page: Page, live_app: LiveApp) -> None:
    event_id, asked = _event_with_questions(page, live_app)
    open_page(page, f"/events/{event_id}", "event")
    choose_tickets(page, "Workshop seat", 2)
    questions = page.locator("#checkout-questions")
    expect(questions).to_contain_text("Ticket 1 — Workshop seat")
    expect(questions).to_contain_text("Ticket 2 — Workshop seat")
    expect(questions.get_by_text("I accept the house rules")).to_have_count(1)  # once per order

    page.locator("#buyer-email").fill("quinn@example.org")
    page.locator("#buyer-phone").fill("+49 30 1234567")
    page.locator(f"[name=answer__{asked['name']}__0]").fill("Quinn Quest")
    page.locator("#reserve").click()
    # Nothing reserved while an answer is missing; each refusal is said beside its field.
    expect(page.locator(".answer-error")).to_have_text(
        ENGLISH["question.error.consent"].replace("{label}", "I accept the house rules")
    )
    page.locator(f"[name=answer__{asked['consent']}__o]").check()
    page.locator("#reserve").click()
    expect(page.locator(".answer-error")).to_have_text(
        ENGLISH["question.error.required"].replace("{label}", "Attendee name")
    )
    assert "/events/" in page.url
    page.locator(f"[name=answer__{asked['name']}__1]").fill("Robin Quest")
    page.locator(f"[name=answer__{asked['size']}__1]").select_option("M")
    page.locator("#reserve").click()
    page.wait_for_url(ORDER_URL)
    wait_loaded(page, "order")

    page.locator("#test-mode-panel #pay-test").click()
    expect(page.locator("#order-confirmed")).to_be_visible()
    answers = page.locator("#order-answers")
    expect(answers).to_contain_text("Quinn Quest")
    expect(answers).to_contain_text("Robin Quest")
    sizes = answers.locator("tr").filter(has_text="T-shirt size").locator(".answer-value")
    expect(sizes).to_have_text([ENGLISH["order.answers.empty"], "M"])  # ticket 1 left it blank
    expect(answers.locator("tr").filter(has_text="I accept the house rules")).to_contain_text(ENGLISH["question.yes"])

    # Before the event the guest may still fix a name.
    page.locator("#edit-answers").click()
    page.locator(f"[name=answer__{asked['name']}__1]").fill("Robin Q. Quest")
    page.locator("#save-answers").click()
    expect(page.locator("#order-answers")).to_contain_text("Robin Q. Quest")
    assert re.search(r"/orders/[0-9a-f-]{36}", page.url)
