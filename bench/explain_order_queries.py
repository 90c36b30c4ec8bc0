"""The plans of every query that filters orders on `status` or `hold_expires_at`, on a big table.

    .venv/bin/python -m bench.explain_order_queries            # 500,000 orders over 200 events
    .venv/bin/python -m bench.explain_order_queries --with-dropped-indexes   # the plans before 0014

Migration 0014 dropped ticket_order's plain `status` and `hold_expires_at` indexes. This seeds a
fresh database at head (60 % paid, 34 % expired, 4 % cancelled, 2 % pending of which half already
ran out) and prints each query's plan twice: as planned for its values (custom) and as a prepared
statement is planned after psycopg's fifth execution (generic). No plan may read the whole table
except the platform-wide sales total, which aggregates most of it anyway.
"""

from __future__ import annotations

import os
import secrets
import sys
import time

os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(48))  # before the settings are first read

import psycopg  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench.common import drop_database, fresh_database, hot_ticket_type  # noqa: E402
from bilten.settings import get_settings  # noqa: E402

QUERIES = {
    "sweeper's walk (hold_sweep._EXPIRED_HOLDS)": (
        "SELECT id, event_id, payment_provider FROM ticket_order WHERE ticket_order.status = 'pending' "
        "AND hold_expires_at <= $1 ORDER BY hold_expires_at LIMIT 200 FOR UPDATE SKIP LOCKED",
        ["now()"],
    ),
    "metrics: holds open (observability/scrape.py)": (
        "SELECT count(*) FROM ticket_order WHERE ticket_order.status = 'pending' AND hold_expires_at > $1",
        ["now()"],
    ),
    "metrics: sweeper lag (observability/scrape.py)": (
        "SELECT min(hold_expires_at) FROM ticket_order WHERE ticket_order.status = 'pending' AND hold_expires_at <= $1",
        ["now()"],
    ),
    "back office: an event's orders by status (event_orders.list_event_orders)": (
        "SELECT count(*) FROM ticket_order WHERE event_id = $1 AND status = $2",
        ["(SELECT event_id FROM ticket_order LIMIT 1)", "'paid'"],
    ),
    "event overview: paid and pending counts (event_admin/reading.py)": (
        "SELECT status, count(id) FROM ticket_order WHERE event_id = $1 AND status IN ('paid', 'pending') "
        "GROUP BY status",
        ["(SELECT event_id FROM ticket_order LIMIT 1)"],
    ),
    "cancel an event: its live orders (event_admin/cancelling.py)": (
        "SELECT id FROM ticket_order WHERE event_id = $1 AND status IN ('paid', 'pending') FOR UPDATE",
        ["(SELECT event_id FROM ticket_order LIMIT 1)"],
    ),
    "report: seats per type and status (reports.py)": (
        "SELECT l.ticket_type_id, o.status, sum(l.quantity) FROM ticket_order o JOIN order_line l ON l.order_id = o.id "
        "WHERE o.event_id = $1 AND o.status IN ('paid', 'pending') GROUP BY l.ticket_type_id, o.status",
        ["(SELECT event_id FROM ticket_order LIMIT 1)"],
    ),
    "report: paid orders of some events (reports.py)": (
        "SELECT count(*) FROM ticket_order WHERE event_id = ANY($1) AND status = 'paid' AND paid_at IS NOT NULL",
        ["(SELECT array_agg(id) FROM (SELECT id FROM event LIMIT 3) e)"],
    ),
    "report: an organization's events (reports.py)": (
        "SELECT o.event_id, o.status, o.currency, sum(l.quantity) FROM ticket_order o "
        "JOIN order_line l ON l.order_id = o.id JOIN event e ON e.id = o.event_id "
        "WHERE e.organization_id = $1 AND o.status IN ('paid', 'pending') GROUP BY o.event_id, o.status, o.currency",
        ["(SELECT organization_id FROM event LIMIT 1)"],
    ),
    "platform admin: seats sold per event (platform.py)": (
        "SELECT o.event_id, sum(l.quantity) FROM ticket_order o JOIN order_line l ON l.order_id = o.id "
        "WHERE o.status = 'paid' GROUP BY o.event_id",
        [],
    ),
}


def seed(cursor: psycopg.Cursor, type_id: str, *, orders: int, events: int) -> None:
    cursor.execute(
        "INSERT INTO event SELECT (jsonb_populate_record(NULL::event, to_jsonb(e) || jsonb_build_object("
        "'id', gen_random_uuid(), 'slug', e.slug || '-' || n))).* FROM event e, generate_series(2, %s) n",
        (events,),
    )
    cursor.execute("CREATE TEMP TABLE ev AS SELECT row_number() OVER () - 1 AS k, id FROM event")
    cursor.execute(
        "CREATE TEMP TABLE o AS SELECT gen_random_uuid() AS id, ev.id AS event_id, n "
        "FROM generate_series(1, %s) n JOIN ev ON ev.k = n %% %s",
        (orders, events),
    )
    cursor.execute(
        "INSERT INTO ticket_order (id, event_id, status, buyer_email, buyer_phone, buyer_name, locale, total_minor, "
        "currency, payment_provider, payment_reference, hold_expires_at, created_at, paid_at, discount_minor, billing) "
        "SELECT id, event_id, (CASE WHEN n %% 100 < 60 THEN 'paid' WHEN n %% 100 < 94 THEN 'expired' "
        "WHEN n %% 100 < 98 THEN 'cancelled' ELSE 'pending' END), "
        "'b' || n || '@example.org', '', '', 'en', 2500, 'EUR', '', '', "
        "CASE WHEN n %% 100 = 99 THEN now() + interval '10 minutes' ELSE now() - (n %% 1000) * interval '1 hour' END, "
        "now() - interval '1 day', CASE WHEN n %% 100 < 60 THEN now() END, 0, '{}' FROM o WHERE %s",
        (True,),
    )
    cursor.execute(
        "INSERT INTO order_line (id, order_id, ticket_type_id, quantity, unit_price_minor, line_total_minor) "
        "SELECT gen_random_uuid(), id, %s, 1, 2500, 2500 FROM o",
        (type_id,),
    )


def main() -> None:
    with_dropped = "--with-dropped-indexes" in sys.argv
    get_settings.cache_clear()
    url = fresh_database()
    libpq = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        type_id = str(hot_ticket_type(url, quantity=10_000_000))
        with (
            psycopg.connect(libpq, autocommit=True, prepare_threshold=None) as connection,
            connection.cursor() as cursor,
        ):
            started = time.monotonic()
            seed(cursor, type_id, orders=500_000, events=200)
            if with_dropped:
                cursor.execute("CREATE INDEX ix_ticket_order_status ON ticket_order (status)")
                cursor.execute("CREATE INDEX ix_ticket_order_hold_expires_at ON ticket_order (hold_expires_at)")
            cursor.execute("VACUUM ANALYZE")
            print(f"seeded 500,000 orders over 200 events in {time.monotonic() - started:.0f} s")
            indexes = cursor.execute(
                "SELECT indexname FROM pg_indexes WHERE tablename = 'ticket_order' ORDER BY 1"
            ).fetchall()
            print("ticket_order's indexes:", ", ".join(name for (name,) in indexes))
            for title, (sql, args) in QUERIES.items():
                print(f"\n== {title}\n   {sql}")
                for mode in ("force_custom_plan", "force_generic_plan"):
                    cursor.execute(f"SET plan_cache_mode = {mode}")
                    cursor.execute("DEALLOCATE ALL")
                    cursor.execute(f"PREPARE q AS {sql}")
                    values = [cursor.execute(f"SELECT quote_literal({arg})").fetchone()[0] for arg in args]
                    execute = f"EXECUTE q({', '.join(values)})" if values else "EXECUTE q"
                    plan = cursor.execute(f"EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) {execute}").fetchall()
                    print(f"  -- {mode.split('_')[1]} plan")
                    for (line,) in plan:
                        print(f"     {line}")
    finally:
        drop_database(url)


if __name__ == "__main__":
    main()
