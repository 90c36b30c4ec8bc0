"""Several hosts, one bucket (STORAGE_BACKEND=s3): an export written by `bilten worker` downloads
from any web host, to the event's team only; a picture uploaded through one web host is served by
another. Each process has its own empty local folders, so a file can only have come through the
bucket. The bucket is a local S3-compatible server reached over HTTP with the real boto3."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from PIL import Image
from sqlmodel import select

from bilten import jobs
from bilten.models import EventStatus, Role, TicketType
from bilten.services import exports, orders
from bilten.settings import PROJECT_ROOT, get_settings
from tests.factories import DEFAULT_PASSWORD, make_event, make_organization, make_user
from tests.ratelimit_support import free_port
from tests.s3_support import LocalS3, point_app_at_bucket

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


@pytest.fixture(scope="module")
def local_s3() -> Iterator[LocalS3]:
    with LocalS3() as server:
        yield server


def files_under(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file()] if folder.exists() else []


@pytest.fixture
def bucket(local_s3: LocalS3, monkeypatch, tmp_path) -> str:
    """A new bucket that this process's app (web host A) uses; A's local folders stay empty."""
    name = local_s3.new_bucket()
    point_app_at_bucket(monkeypatch, local_s3, name)
    monkeypatch.setattr(get_settings(), "media_dir", tmp_path / "host-a" / "media")
    monkeypatch.setattr(get_settings(), "export_dir", tmp_path / "host-a" / "exports")
    return name


def process_env(s3: LocalS3, bucket: str, pg_url: str, folder: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        **s3.env(bucket),
        "DATABASE_URL": pg_url,
        "MEDIA_DIR": str(folder / "media"),
        "EXPORT_DIR": str(folder / "exports"),
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture
def host_b(local_s3: LocalS3, bucket: str, pg_url: str, tmp_path: Path) -> Iterator[str]:
    """A second web host: the same API in its own process, its own (empty) folders, the same bucket."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "bilten.api:api", "--host", "127.0.0.1", "--port", str(port)]
        + ["--lifespan", "off", "--log-level", "warning"],
        cwd=PROJECT_ROOT,
        env=process_env(local_s3, bucket, pg_url, tmp_path / "host-b"),
    )
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while True:
            try:
                if httpx.get(base_url + "/api/health", timeout=2).status_code < 500:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, "host B did not start"
            time.sleep(0.2)
        yield base_url
    finally:
        stop(server)
    assert files_under(tmp_path / "host-b") == []


@pytest.fixture
def stage(pg_session, clock) -> dict:
    """An organizer's published event with three paid orders, and an organizer of another organization."""
    owner = make_user(pg_session, role=Role.ORGANIZER, now=clock.now)
    organization = make_organization(pg_session, members=(owner,), now=clock.now)
    event = make_event(pg_session, organization=organization, now=clock.now, status=EventStatus.PUBLISHED)
    ticket_type = pg_session.exec(select(TicketType).where(TicketType.event_id == event.id)).first()
    for n in range(3):
        placed = orders.place_order(
            pg_session,
            items=[(ticket_type.id, 1)],
            email=f"fan{n}@example.org",
            phone="+49 30 1234567",
            name=f"Fan {n}",
            now=clock.now,
        )
        token = orders.order_access_token(placed.order.id)
        orders.start_payment(pg_session, order_id=placed.order.id, now=clock.now, access_token=token)
        orders.pay_with_test_provider(
            pg_session, order_id=placed.order.id, succeeded=True, now=clock.now, access_token=token
        )
    rival = make_user(pg_session, role=Role.ORGANIZER, now=clock.now)
    make_organization(pg_session, members=(rival,), now=clock.now)
    return {"owner": owner, "rival": rival, "event_id": str(event.id)}


def bearer(http, user) -> dict[str, str]:  # noqa: ANN001
    answer = http.post("/api/v1/auth/login", json={"email": user.email, "password": DEFAULT_PASSWORD})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def test_an_export_written_by_the_worker_downloads_from_another_web_host_to_the_team_only(
    client,
    stage,
    bucket,
    host_b,
    local_s3,
    pg_session,
    clock,
    pg_url,
    redis_url,
    tmp_path,
    monkeypatch,
):
    monkeypatch.setattr(get_settings(), "redis_url", redis_url)
    monkeypatch.setattr(jobs, "_export_sender", None)
    # The worker is another process, on the real clock: its housekeeping fails exports queued more
    # than an hour before its now, so the API here stamps the export with the real time too (the
    # tests' `now` is the start of the hour the run began in, up to an hour and more ago).
    clock.now = datetime.now(UTC)
    worker = subprocess.Popen(
        [sys.executable, "-m", "bilten.cli", "worker", "--threads", "2"],
        cwd=PROJECT_ROOT,
        env=process_env(
            local_s3, bucket, pg_url, tmp_path / "worker", REDIS_URL=redis_url, MAIL_OUTBOX_DIR=str(tmp_path / "mail")
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        owner_a = bearer(client, stage["owner"])
        started = client.post(
            f"/api/v1/events/{stage['event_id']}/exports", json={"kind": "orders", "format": "csv"}, headers=owner_a
        )
        assert started.status_code == 202, started.text
        export_id = started.json()["id"]
        deadline = time.monotonic() + 60
        while (status := client.get(f"/api/v1/exports/{export_id}", headers=owner_a).json())["status"] != "done":
            assert status["status"] in ("queued", "running") and time.monotonic() < deadline, status
            time.sleep(0.2)
    finally:
        stop(worker)

    # The worker wrote it to the bucket only: no host has it on its own disk.
    assert local_s3.keys(bucket) == [f"exports/{export_id}.csv"]
    assert files_under(tmp_path / "worker") == files_under(tmp_path / "host-a") == []

    with httpx.Client(base_url=host_b, timeout=30) as http:
        owner_b, rival_b = bearer(http, stage["owner"]), bearer(http, stage["rival"])
        download = http.get(status["download_url"], headers=owner_b)
        assert download.status_code == 200, download.text
        assert download.headers["content-type"].startswith("text/csv")
        assert download.headers["cache-control"] == "private, no-store"
        assert download.headers["content-disposition"].startswith('attachment; filename="orders-')
        rows = list(csv.DictReader(io.StringIO(download.content.decode("utf-8-sig"))))
        assert sorted(row["buyer_email"] for row in rows) == [
            "fan0@example.org",
            "fan1@example.org",
            "fan2@example.org",
        ]
        # Another organization's owner and strangers learn nothing, not even that it exists.
        assert http.get(status["download_url"], headers=rival_b).status_code == 404
        assert http.get(f"/api/v1/exports/{export_id}", headers=rival_b).status_code == 404
        assert http.get(status["download_url"]).status_code == 401
    # Host A serves the same bytes.
    assert client.get(status["download_url"], headers=owner_a).content == download.content

    # Past the retention period the sweeper (of any host) removes it from the bucket, and its entry.
    removed = exports.clean_up_exports(pg_session, now=clock.now + timedelta(hours=25), retention=timedelta(hours=24))
    assert removed == 1 and local_s3.keys(bucket) == []
    assert client.get(status["download_url"], headers=owner_a).status_code == 404


def test_a_picture_uploaded_through_one_host_is_served_by_another(
    client,
    stage,
    bucket,
    host_b,
    local_s3,
    tmp_path,
):
    picture = io.BytesIO()
    Image.new("RGB", (320, 200), (200, 40, 90)).save(picture, "PNG")
    owner_a = bearer(client, stage["owner"])
    uploaded = client.post(
        f"/api/v1/events/{stage['event_id']}/image",
        files={"file": ("poster.png", picture.getvalue(), "image/png")},
        headers=owner_a,
    )
    assert uploaded.status_code == 200, uploaded.text
    image_url = uploaded.json()["image_url"]
    name = image_url.rsplit("/", 1)[1]
    assert image_url == f"/api/media/{name}" and local_s3.keys(bucket) == [f"media/{name}"]
    assert files_under(tmp_path / "host-a") == []

    with httpx.Client(base_url=host_b, timeout=30) as http:
        assert http.get(f"/api/v1/events/{stage['event_id']}").json()["image_url"] == image_url
        served = http.get(image_url)
        assert served.status_code == 200 and served.headers["content-type"] == "image/png"
        assert served.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert served.headers["x-content-type-options"] == "nosniff"
        assert Image.open(io.BytesIO(served.content)).size == (320, 200)
        for guess in ("0" * 32 + ".png", "..%2f..%2fsecret_key", "..%2Fexports%2Fx.csv", name + ".part"):
            assert http.get(f"/api/media/{guess}").status_code == 404
    assert client.get(image_url).content == served.content
