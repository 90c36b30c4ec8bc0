"""What releasing one hold costs, the sweeper alone (no sales, no web server): CPU per hold.

    .venv/bin/python -m bench.bench_sweep_cost --holds 20000
    .venv/bin/python -m bench.bench_sweep_cost --holds 20000 --batch 500 --duty 1

Seeds `--holds` expired one-seat holds on one ticket type (every tenth with an open test checkout,
as bench_sweeper does), runs the sweeper in this process (`tasks.release_expired_holds`) and prints
the wall time, this process's CPU and the CPU of its PostgreSQL backends (psutil), per hold. CPU
per hold does not depend on how busy the machine is; the wall time does.
"""

from __future__ import annotations

import argparse
import os
import secrets
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import make_url

os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(48))  # before the settings are read

from bench.bench_sweeper import seed_holds  # noqa: E402
from bench.common import (  # noqa: E402
    cpu_seconds,
    drop_database,
    fresh_database,
    hot_ticket_type,
    postgres_backends,
    reserved,
    settle_database,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--holds", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=None, help="SWEEP_BATCH_SIZE (default: the setting's)")
    parser.add_argument("--duty", type=float, default=1.0, help="SWEEP_DUTY_CYCLE (1: no pause between batches)")
    parser.add_argument("--with-dropped-indexes", action="store_true", help="as before migration 0014")
    args = parser.parse_args()
    url = fresh_database()
    try:
        os.environ["DATABASE_URL"] = url
        os.environ["SWEEP_DUTY_CYCLE"] = str(args.duty)
        os.environ["SWEEP_MIN_RATE"] = "0"
        if args.batch:
            os.environ["SWEEP_BATCH_SIZE"] = str(args.batch)
        from bilten import tasks
        from bilten.db import get_engine
        from bilten.settings import get_settings

        get_settings.cache_clear()  # read again with DATABASE_URL and the sweep settings above
        get_engine.cache_clear()

        type_id = hot_ticket_type(url, quantity=10_000_000)
        expired_at = datetime.now(UTC) - timedelta(seconds=1)
        seed_holds(url, str(type_id), holds=args.holds, expires_at=expired_at)
        if args.with_dropped_indexes:
            with get_engine().begin() as connection:
                connection.exec_driver_sql("CREATE INDEX ix_ticket_order_status ON ticket_order (status)")
                connection.exec_driver_sql(
                    "CREATE INDEX ix_ticket_order_hold_expires_at ON ticket_order (hold_expires_at)"
                )
        settle_database(url)
        with get_engine().connect() as connection:  # opens the pool's first connection
            connection.exec_driver_sql("SELECT 1")
        database = make_url(url).database or ""
        backends = postgres_backends(database)
        server_before, client_before = cpu_seconds(backends), time.process_time()
        started = time.perf_counter()
        released = tasks.release_expired_holds(datetime.now(UTC))
        wall = time.perf_counter() - started
        client = time.process_time() - client_before
        server_after = cpu_seconds(backends)
        server = sum(server_after[pid] - server_before.get(pid, 0.0) for pid in server_after)
        get_engine().dispose()
        counter, in_lines, capacity = reserved(url, type_id)
    finally:
        drop_database(url)
    per = 1000 / max(released, 1)
    print(
        f"sweep alone: {released:,} of {args.holds:,} holds released in {wall:.2f} s ({released / wall:,.0f}/s), "
        f"batch {args.batch or 'default'}, duty {args.duty}"
        f"{', with the two indexes 0014 dropped' if args.with_dropped_indexes else ''}; load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"  CPU per hold: client {client * per:.3f} ms + PostgreSQL {server * per:.3f} ms "
        f"= {(client + server) * per:.3f} ms (wall {wall * per:.3f} ms)"
    )
    print(f"  seats: counter {counter}, in live orders {in_lines} (must be equal), quantity {capacity}")


if __name__ == "__main__":
    main()
