"""Do picture uploads stall the API? Six uploads of a 6320 x 6320 PNG at once, while reads are timed.

Serves the real backend (`reflex run --env prod --backend-only`, one granian worker, Redis) on a
fresh PostgreSQL database, times `GET /api/v1/events/{id}` 40 times a second (each from when it was
due), first on an idle server, then while six organizers upload a 130 KB PNG that decodes to 40
megapixels each.

    .venv/bin/python -m bench.upload_stall                       # this checkout
    .venv/bin/python -m bench.upload_stall --src /tmp/before     # another source tree (e.g. `git archive`)
"""

from __future__ import annotations

import argparse
import io
import os
import secrets
import signal
import subprocess
import threading
import time
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from PIL import Image
from sqlmodel import Session

from bench.common import ROOT, drop_database, free_port, fresh_database, percentile
from bilten.db import make_engine
from bilten.models import Event, EventStatus, Membership, Organization, Role, TeamRole, User
from bilten.services.accounts import log_in_api
from bilten.services.security import hash_password
from bilten.services.ticket_codes import generate_event_keys

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
PASSWORD = "Bench-uploads-2026"
UPLOADS = 6
READS_PER_SECOND = 40
SIDE = 6320  # 39.9 megapixels: just under the 40-megapixel cap


def big_png() -> bytes:
    """A 6320 x 6320 PNG of about 130 KB: flat colour bands compress to almost nothing."""
    image = Image.new("RGB", (SIDE, SIDE), (20, 90, 160))
    for band in range(0, SIDE, 400):
        image.paste((band % 255, 120, 40), (0, band, SIDE, band + 40))
    output = io.BytesIO()
    image.save(output, "PNG", optimize=True)
    return output.getvalue()


def seed(url: str) -> tuple[str, str]:
    """An organizer owning one published event; returns (event id, access token)."""
    now = datetime.now(UTC)
    engine = make_engine(url)
    with Session(engine, expire_on_commit=False) as session:
        user = User(
            email="bench-organizer@example.org",
            password_hash=hash_password(PASSWORD),
            role=Role.ORGANIZER,
            created_at=now,
        )
        org = Organization(name="Bench", slug=f"bench-{uuid.uuid4().hex[:6]}")
        session.add_all([user, org])
        session.flush()
        session.add(Membership(organization_id=org.id, user_id=user.id, team_role=TeamRole.OWNER, created_at=now))
        keys = generate_event_keys()
        event = Event(
            organization_id=org.id,
            title="Harbour Lights",
            slug="harbour-lights",
            status=EventStatus.PUBLISHED,
            timezone="UTC",
            starts_at=now + timedelta(days=30),
            ends_at=now + timedelta(days=30, hours=3),
            signing_public_key=keys.public_key,
            signing_private_key_sealed=keys.encrypted_private_key,
        )
        session.add(event)
        session.commit()
        event_id = str(event.id)
        token = log_in_api(session, email=user.email, password=PASSWORD, now=now).access_token
    engine.dispose()
    return event_id, token


def start_backend(src: Path, url: str, port: int, media_dir: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "PYTHONPATH": str(src),
        "DATABASE_URL": url,
        "REDIS_URL": REDIS_URL,
        "PUBLIC_URL": f"http://127.0.0.1:{port}",
        "MEDIA_DIR": str(media_dir),
        "GRANIAN_WORKERS": "1",
        "REFLEX_TELEMETRY_ENABLED": "false",
        "REFLEX_CHECK_LATEST_VERSION": "false",
        "SWEEP_INTERVAL_SECONDS": "3600",
    }
    command = [str(ROOT / ".venv/bin/reflex"), "run", "--env", "prod", "--backend-only", "--backend-port", str(port)]
    log = open(media_dir.parent / f"{media_dir.name}.log", "wb")  # noqa: SIM115 - the server's for its life
    process = subprocess.Popen(
        [*command, "--loglevel", "warning"],
        cwd=src,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.time() + 180
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2) as response:
                if response.status == 200:
                    return process
        except OSError:
            time.sleep(0.5)
    stop(process)
    raise RuntimeError("backend did not start")


def stop(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(process.pid, signal.SIGKILL)


def time_reads(base: str, event_id: str, until: threading.Event, at_least: int = 0) -> list[float]:
    """Reads on a schedule (open loop, READS_PER_SECOND), each timed from when it was due: a stall
    counts once for every read that fell due during it, not once in all."""
    latencies = []
    due = time.perf_counter()
    with httpx.Client(base_url=base, timeout=60) as client:
        while not until.is_set() or len(latencies) < at_least:
            wait = due - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            assert client.get(f"/api/v1/events/{event_id}").status_code == 200
            latencies.append((time.perf_counter() - due) * 1000)
            due += 1 / READS_PER_SECOND
    return latencies


def upload(base: str, event_id: str, token: str, data: bytes, results: list) -> None:  # noqa: ANN001
    started = time.perf_counter()
    with httpx.Client(base_url=base, timeout=120) as client:
        answer = client.post(
            f"/api/v1/events/{event_id}/image",
            files={"file": ("poster.png", data, "image/png")},
            headers={"Authorization": f"Bearer {token}"},
        )
    results.append((answer.status_code, time.perf_counter() - started))


def line(label: str, latencies: list[float]) -> str:
    return (
        f"{label}: {len(latencies)} reads  p50 {percentile(latencies, 0.5):.1f} ms  "
        f"p95 {percentile(latencies, 0.95):.1f} ms  max {max(latencies):.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", type=Path, default=ROOT, help="the source tree to serve (default: this one)")
    args = parser.parse_args()
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(48))
    data = big_png()
    url = fresh_database()
    port = free_port()
    media_dir = Path(f"/tmp/bench-media-{uuid.uuid4().hex[:6]}")
    backend = None
    try:
        event_id, token = seed(url)
        backend = start_backend(args.src.resolve(), url, port, media_dir)
        base = f"http://127.0.0.1:{port}"
        warmed = threading.Event()
        warmed.set()
        time_reads(base, event_id, warmed, at_least=50)  # warm up

        idle_done = threading.Event()
        threading.Timer(3, idle_done.set).start()
        idle = time_reads(base, event_id, idle_done)

        results: list = []
        uploaders = [
            threading.Thread(target=upload, args=(base, event_id, token, data, results)) for _ in range(UPLOADS)
        ]
        uploads_done = threading.Event()
        during: list[float] = []
        reader = threading.Thread(target=lambda: during.extend(time_reads(base, event_id, uploads_done)))
        reader.start()
        time.sleep(0.2)
        started = time.perf_counter()
        for thread in uploaders:
            thread.start()
        for thread in uploaders:
            thread.join()
        uploads_took = time.perf_counter() - started
        uploads_done.set()
        reader.join()

        print(f"source: {args.src.resolve()}  picture: {SIDE}x{SIDE} PNG, {len(data) // 1024} KB, {UPLOADS} at once")
        print(line("reads, idle server     ", idle))
        print(line("reads, during uploads  ", during))
        statuses: dict[int, int] = {}
        for status, _ in results:
            statuses[status] = statuses.get(status, 0) + 1
        print(
            f"uploads: {statuses}, each {min(t for _, t in results):.1f}-{max(t for _, t in results):.1f} s, "
            f"all done in {uploads_took:.1f} s"
        )
    finally:
        if backend is not None:
            stop(backend)
        drop_database(url)


if __name__ == "__main__":
    main()
