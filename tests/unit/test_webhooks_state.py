"""The organizer's webhooks page without a browser: an owner adds an endpoint (its secret shown
once), sees the delivery the worker made, and "Send again" posts the same delivery once more; a bad
URL is a clear error and another organization's owner cannot resend."""

from __future__ import annotations

import json

import pytest
from reflex.istate.data import RouterData

import bilten.bilten  # noqa: F401 - registers the routes, and so the page's `organization_id` var
from bilten.models import Role
from bilten.notifications.worker import Delivery
from bilten.services import accounts
from bilten.state.auth import SESSION_COOKIE
from bilten.state.webhooks import WebhooksState
from bilten.webhook_settings import WebhookSettings, get_webhook_settings
from tests.factories import DEFAULT_PASSWORD, make_event, make_organization, make_user
from tests.notifications_support import make_paid_order
from tests.webhook_support import Receiver

CONFIG = WebhookSettings(WEBHOOK_ALLOW_PRIVATE_TARGETS=True, WEBHOOK_TIMEOUT_SECONDS=2)


async def run(state, handler: str, *args):  # noqa: ANN001, ANN201
    result = type(state).event_handlers[handler].fn(state, *args)
    return await result if hasattr(result, "__await__") else result


async def open_webhooks(tab, session, user, organization, now):  # noqa: ANN001, ANN201
    _, token = accounts.log_in_web(session, email=user.email, password=DEFAULT_PASSWORD, now=now)
    path = f"/organizer/organizations/{organization.id}/webhooks"
    tab.router = RouterData.from_router_data(
        {
            "headers": {"cookie": f"{SESSION_COOKIE}={token}"},
            "pathname": path,
            "asPath": path,
            "query": {"organization_id": str(organization.id)},
        }
    )
    page = await tab.get_state(WebhooksState)
    await run(page, "load")
    return page


@pytest.fixture
def receiver():
    with Receiver() as running:
        yield running


@pytest.fixture
def private_targets(monkeypatch):
    monkeypatch.setenv("WEBHOOK_ALLOW_PRIVATE_TARGETS", "1")
    get_webhook_settings.cache_clear()
    yield
    get_webhook_settings.cache_clear()


def cycle(engine, now) -> int:
    delivery = Delivery(engine=engine, clock=lambda: now, webhook_config=CONFIG)
    delivery.dispatch()
    return delivery.deliver_webhooks()


@pytest.mark.anyio
async def test_an_owner_adds_an_endpoint_and_sends_a_delivery_again(
    fresh_tab, session, sqlite_engine, now, receiver, private_targets
):
    from reflex.state import State  # noqa: PLC0415 - only the state tests need Reflex

    owner = make_user(session, role=Role.ORGANIZER, now=now)
    org = make_organization(session, members=(owner,), now=now)
    event = make_event(session, organization=org, now=now)
    page = await open_webhooks(fresh_tab, session, owner, org, now)
    assert page.ready and not page.has_endpoints and page.organization_name == org.name

    await run(page, "create", {"url": "ftp://example.org/hook"})
    assert "http" in page.form_error and not page.has_endpoints

    await run(page, "toggle_new_event", "order.refunded", True)
    await run(page, "create", {"url": receiver.url})
    assert page.form_error == "" and page.new_secret.startswith("whsec_")
    [endpoint] = page.endpoints
    assert endpoint.url == receiver.url and endpoint.events == "order.paid, order.refunded" and endpoint.active

    make_paid_order(session, event=event, now=now)
    assert cycle(sqlite_engine, now) == 1
    await run(page, "load")
    assert page.new_secret == ""  # shown once
    [delivered] = page.deliveries
    assert delivered.event_type == "order.paid" and delivered.status == "succeeded"
    assert delivered.result == "HTTP 200" and delivered.can_send_again

    # Another organization's owner cannot resend it, even knowing both ids.
    rival = make_user(session, role=Role.ORGANIZER, now=now)
    rival_org = make_organization(session, members=(rival,), now=now)
    rival_page = await open_webhooks(State(_reflex_internal_init=True), session, rival, rival_org, now)
    rival_page._organization_id = str(org.id)  # as if the route named the other organization
    await run(rival_page, "send_again", delivered.endpoint_id, delivered.id)
    assert cycle(sqlite_engine, now) == 0 and len(receiver.requests) == 1

    await run(page, "send_again", delivered.endpoint_id, delivered.id)  # the button
    assert page.deliveries[0].status == "pending"
    assert cycle(sqlite_engine, now) == 1
    ids = [json.loads(r.body)["id"] for r in receiver.requests]
    assert ids == [delivered.id, delivered.id]
    await run(page, "load")
    assert page.deliveries[0].status == "succeeded" and page.deliveries[0].attempts == 2

    await run(page, "set_active", endpoint.id, False)
    assert not page.endpoints[0].active and not page.deliveries[0].can_send_again
    await run(page, "delete", endpoint.id)
    assert not page.has_endpoints
