"""Live dashboard latency: a sale committed -> the number changed in the organizer's browser.

Starts the production app in its deployment shape (PostgreSQL, Redis, several granian workers),
opens one event's back office in headless Chromium as its organizer, then commits sales through the
service layer in this process (place the order, pay it on the test provider: the same functions the
REST API calls). A MutationObserver in the page notes when "#total-sold" changes; latency = that
moment minus the moment the payment committed (same machine, same clock). Two parts:
1. single sales, one every `--gap` seconds, each paid `--checkout` seconds after its order was
   placed (a buyer on the checkout page), latency counted from the payment's commit: each payment
   is the first change after a quiet moment, so it must show at once (leading-edge coalescing;
   issue #13 target: p95 < 100 ms). With `--checkout 0` the payment follows its own order's
   change within the coalescing window and shows a window later (250-500 ms);
2. `--bursts` bursts of `--burst` sales back to back: how many times the number changed on the page
   per burst (coalesced: a few, not one per sale) and when the last sale showed.

    .venv/bin/python -m bench.bench_dashboard_latency            # 50 single sales a second apart, 3 bursts of 30
    .venv/bin/python -m bench.bench_dashboard_latency --sales 100 --gap 0.3 --tabs 5
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from playwright.sync_api import Page, sync_playwright
from sqlmodel import Session

from bench.bench_offline_verify import BUN, CHROMIUM_ARGS, VENV_BIN, _answers, _free_port
from bench.common import ROOT, drop_database, fresh_database, percentile
from bench.server import REDIS_URL
from bilten.db import make_engine
from bilten.models import Event, EventStatus, Membership, Organization, Role, TeamRole, TicketType, User
from bilten.services import orders
from bilten.services.security import hash_password
from bilten.services.ticket_codes import generate_event_keys
from bilten.settings import get_settings

PASSWORD = "Bench-organizer-2026"
OBSERVER = """
() => {
  window.__changes = [];
  const target = document.querySelector('#total-sold');
  new MutationObserver(() => window.__changes.push([Date.now(), target.textContent]))
    .observe(target, {childList: true, characterData: true, subtree: true});
}
"""


def seed(url: str) -> tuple[str, uuid.UUID, uuid.UUID]:
    """An organizer owning one event with a ticket type of plenty of seats."""
    now = datetime.now(UTC)
    engine = make_engine(url)
    with Session(engine) as session:
        email = f"bench-{secrets.token_hex(3)}@example.org"
        user = User(email=email, password_hash=hash_password(PASSWORD), role=Role.ORGANIZER, full_name="Bench")
        org = Organization(name="Bench", slug=f"bench-{secrets.token_hex(3)}")
        session.add_all([user, org])
        session.flush()
        session.add(Membership(organization_id=org.id, user_id=user.id, team_role=TeamRole.OWNER))
        keys = generate_event_keys()
        event = Event(
            organization_id=org.id,
            title="Dashboard bench",
            slug="dashboard-bench",
            status=EventStatus.PUBLISHED,
            timezone="UTC",
            starts_at=now + timedelta(days=30),
            ends_at=now + timedelta(days=30, hours=3),
            signing_public_key=keys.public_key,
            signing_private_key_sealed=keys.encrypted_private_key,
        )
        session.add(event)
        session.flush()
        ticket_type = TicketType(event_id=event.id, name="General", price_minor=2500, currency="EUR", quantity=100_000)
        session.add(ticket_type)
        session.commit()
        ids = (email, event.id, ticket_type.id)
    engine.dispose()
    return ids


@contextmanager
def app_server(database_url: str, secret_key: str, workers: int) -> Iterator[str]:
    """The production build on a free port: PostgreSQL, Redis, `workers` granian workers."""
    workdir = Path(tempfile.mkdtemp(prefix="bilten-bench-"))
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REFLEX_", "BILTEN_"))}
    env.update(
        DATABASE_URL=database_url,
        REDIS_URL=REDIS_URL,
        SECRET_KEY=secret_key,
        PUBLIC_URL=f"http://localhost:{port}",
        GRANIAN_WORKERS=str(workers),
        SWEEP_INTERVAL_SECONDS="3600",
        REQUIRE_2FA="none",  # the bench's organizer signs in with a password only
        REFLEX_BUN_PATH=str(BUN),
        REFLEX_TELEMETRY_ENABLED="false",
        REFLEX_CHECK_LATEST_VERSION="false",
        NPM_CONFIG_REGISTRY="https://registry.npmjs.org",
        REFLEX_WEB_WORKDIR=str(workdir / ".web"),
        REFLEX_STATES_WORKDIR=str(workdir / ".states"),
    )
    with open(workdir / "server.log", "wb") as log:
        server = subprocess.Popen(
            [str(VENV_BIN / "reflex"), "run", "--env", "prod", "--frontend-port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://localhost:{port}"
    try:
        deadline = time.monotonic() + 300
        while not (_answers(url + "/ping") and _answers(url + "/")):
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit((workdir / "server.log").read_text(errors="replace")[-3000:])
            time.sleep(0.5)
        yield url
    finally:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(server.pid, sig)
            except ProcessLookupError:
                break
            time.sleep(3)
        shutil.rmtree(workdir, ignore_errors=True)


def open_dashboard(page: Page, url: str, email: str, event_id: uuid.UUID) -> None:
    path = f"/organizer/events/{event_id}"
    page.goto(f"{url}/login?next={path}")
    page.locator('#app-root[data-page="login"][data-loaded="true"]').wait_for(timeout=60_000)
    page.locator("#field-email").fill(email)
    page.locator("#field-password").fill(PASSWORD)
    page.locator("#login-submit").click()
    page.locator('#app-root[data-page="back-office"][data-loaded="true"]').wait_for(timeout=60_000)
    page.locator("#total-sold").wait_for()
    page.evaluate(OBSERVER)


def place_one(session: Session, ticket_type_id: uuid.UUID) -> uuid.UUID:
    """A buyer places an order of one ticket and opens the test checkout."""
    now = datetime.now(UTC)
    placed = orders.place_order(
        session, items=[(ticket_type_id, 1)], email="fan@example.org", phone="+49 30 1234567", name="Fan", now=now
    )
    orders.start_payment(
        session, order_id=placed.order.id, now=now, access_token=orders.order_access_token(placed.order.id)
    )
    return placed.order.id


def pay_one(session: Session, order_id: uuid.UUID) -> float:
    """The buyer pays; returns the wall-clock moment the payment committed (and was published)."""
    token = orders.order_access_token(order_id)
    orders.pay_with_test_provider(session, order_id=order_id, succeeded=True, now=datetime.now(UTC), access_token=token)
    return time.time()


def sell_one(session: Session, ticket_type_id: uuid.UUID, *, checkout_seconds: float = 0.0) -> float:
    """Place and pay an order of one ticket (`checkout_seconds` apart); returns when the payment committed."""
    order_id = place_one(session, ticket_type_id)
    time.sleep(checkout_seconds)
    return pay_one(session, order_id)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sales", type=int, default=50)
    parser.add_argument("--gap", type=float, default=1.5, help="seconds between two single sales")
    parser.add_argument(
        "--checkout", type=float, default=0.7, help="seconds between placing an order and its payment (single sales)"
    )
    parser.add_argument("--tabs", type=int, default=1, help="dashboards open at once (latency read on the first)")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--bursts", type=int, default=3)
    parser.add_argument("--burst", type=int, default=30, help="sales per burst, back to back")
    args = parser.parse_args()

    secret_key = os.environ.get("SECRET_KEY") or secrets.token_urlsafe(48)
    os.environ["SECRET_KEY"] = secret_key  # this process signs the same test-payment tokens as the app
    os.environ["REDIS_URL"] = REDIS_URL  # its sales are published where the app listens
    get_settings.cache_clear()  # read at import already, before these two were set
    database_url = fresh_database()
    try:
        email, event_id, ticket_type_id = seed(database_url)
        engine = make_engine(database_url)
        with app_server(database_url, secret_key, args.workers) as url, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
            pages = [browser.new_context().new_page() for _ in range(args.tabs)]
            for page in pages:
                open_dashboard(page, url, email, event_id)
            page = pages[0]
            time.sleep(2)  # the live loops subscribe at the end of on_load
            latencies = []
            bursts = []
            with Session(engine, expire_on_commit=False) as session:
                sold = 0
                for _ in range(args.sales):
                    committed = sell_one(session, ticket_type_id, checkout_seconds=args.checkout)
                    sold += 1
                    latencies.append(_shown_at(page, sold) - committed * 1000)
                    time.sleep(max(0.0, args.gap - (time.time() - committed)))
                for _ in range(args.bursts):
                    time.sleep(2)  # quiet before the burst
                    changes_before = page.evaluate("() => window.__changes.length")
                    started = time.time()
                    for _ in range(args.burst):
                        committed = sell_one(session, ticket_type_id)
                        sold += 1
                    last_shown = _shown_at(page, sold)
                    time.sleep(1)  # anything still coming
                    changes = page.evaluate("() => window.__changes.length") - changes_before
                    bursts.append((changes, (committed - started) * 1000, last_shown - committed * 1000))
            browser.close()
        engine.dispose()
    finally:
        drop_database(database_url)

    print(
        f"dashboard, single sales: {len(latencies)} sales {args.gap:.1f} s apart (paid {args.checkout:.1f} s after "
        f"placing), {args.tabs} tab(s), "
        f"{args.workers} workers, PostgreSQL + Redis, {os.cpu_count()} cores: sale committed -> number shown "
        f"p50 {percentile(latencies, 0.5):.0f} ms  p95 {percentile(latencies, 0.95):.0f} ms  "
        f"max {max(latencies):.0f} ms  (target p95 < 100 ms)"
    )
    for n, (changes, duration, last) in enumerate(bursts, 1):
        print(
            f"dashboard, burst {n}: {args.burst} sales in {duration:.0f} ms -> the number changed {changes} times "
            f"on the page; the last sale showed {last:.0f} ms after it committed"
        )


def _shown_at(page: Page, sold: int) -> float:
    """When (ms, wall clock) the page first showed `sold` or more tickets sold."""
    page.wait_for_function("n => window.__changes.some(([, text]) => Number(text) >= n)", arg=sold, timeout=10_000)
    return page.evaluate("n => window.__changes.find(([, text]) => Number(text) >= n)[0]", sold)


if __name__ == "__main__":
    main()
