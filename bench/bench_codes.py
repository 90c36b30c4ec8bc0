"""Signed ticket codes per second: Ed25519 signing (issuing tickets) and verifying (scanning at the door).

    .venv/bin/python -m bench.bench_codes [--count 20000]

Also times a code's QR image (PNG), what every ticket email and PDF draws. One core, one thread.
"""

from __future__ import annotations

import argparse
import os
import secrets
import time
import uuid

os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(48))  # only to seal the throw-away event key

from bilten.notifications.attachments import qr_png  # noqa: E402
from bilten.services.ticket_codes import (  # noqa: E402
    generate_event_keys,
    load_private_key,
    load_public_key,
    sign_ticket_code,
    verify_ticket_code,
)


def per_second(count: int, seconds: float) -> str:
    return f"{count / seconds:>10,.0f}/s  ({seconds / count * 1e6:,.1f} µs each)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20000)
    args = parser.parse_args()

    keys = generate_event_keys()
    private_key, public_key = load_private_key(keys.encrypted_private_key), load_public_key(keys.public_key)
    event_id = uuid.uuid4()
    ticket_ids = [uuid.uuid4() for _ in range(args.count)]

    started = time.perf_counter()
    codes = [sign_ticket_code(private_key, event_id=event_id, ticket_id=ticket_id) for ticket_id in ticket_ids]
    signed = time.perf_counter() - started

    started = time.perf_counter()
    for code in codes:
        verify_ticket_code(code, public_key)
    verified = time.perf_counter() - started

    qr_count = max(args.count // 50, 20)
    started = time.perf_counter()
    for code in codes[:qr_count]:
        qr_png(code)
    drawn = time.perf_counter() - started

    print(f"ticket codes ({len(codes[0])} characters, Ed25519), {args.count:,} codes, one thread:")
    print(f"  sign    {per_second(args.count, signed)}")
    print(f"  verify  {per_second(args.count, verified)}")
    print(f"  QR PNG  {per_second(qr_count, drawn)}")


if __name__ == "__main__":
    main()
