"""Picture uploads over real HTTP: decoded in the image pool while reads keep answering, refused
with 503 + Retry-After beyond IMAGE_QUEUE, and limited per account."""

from __future__ import annotations

import io
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from PIL import Image

from bilten.api import api
from bilten.models import EventStatus, Role
from bilten.services.errors import Busy
from bilten.settings import get_settings
from tests.factories import DEFAULT_PASSWORD, make_event, make_organization, make_user
from tests.ratelimit_support import ThreadedServer, client_from, rate_limits_on, settings_env

pytestmark = pytest.mark.postgres


def png(side: int) -> bytes:
    """A PNG that is small on the wire and `side` x `side` pixels once decoded."""
    image = Image.new("RGB", (side, side), (20, 90, 160))
    for band in range(0, side, 400):
        image.paste((band % 255, 120, 40), (0, band, side, band + 40))
    output = io.BytesIO()
    image.save(output, "PNG", optimize=True)
    return output.getvalue()


@pytest.fixture(scope="module")
def huge_png() -> bytes:
    return png(6320)  # 39.9 megapixels, ~130 KB: about 1.5 s of CPU to decode and shrink


@pytest.fixture
def stage(client, pg_session, clock) -> Iterator[dict]:
    """An organizer with a published event, its access token, and the API served over HTTP."""
    owner = make_user(pg_session, role=Role.ORGANIZER, now=clock.now)
    organization = make_organization(pg_session, members=(owner,), now=clock.now)
    event = make_event(pg_session, organization=organization, now=clock.now, status=EventStatus.PUBLISHED)
    tokens = client.post("/api/v1/auth/login", json={"email": owner.email, "password": DEFAULT_PASSWORD}).json()
    with ThreadedServer(api) as server:
        yield {
            "base_url": server.base_url,
            "event_id": str(event.id),
            "headers": {"Authorization": f"Bearer {tokens['access_token']}"},
        }


def upload(stage: dict, data: bytes, address: str = "127.0.0.40"):  # noqa: ANN201
    with client_from(stage["base_url"], address) as http:
        return http.post(
            f"/api/v1/events/{stage['event_id']}/image",
            files={"file": ("poster.png", data, "image/png")},
            headers=stage["headers"],
        )


def test_reads_keep_answering_while_big_pictures_are_decoded(stage, huge_png):
    reads: list[float] = []
    done = threading.Event()

    def read_until_done() -> None:
        with client_from(stage["base_url"], "127.0.0.41") as http:
            while not done.is_set():
                started = time.monotonic()
                assert http.get(f"/api/v1/events/{stage['event_id']}").status_code == 200
                reads.append(time.monotonic() - started)

    reader = threading.Thread(target=read_until_done)
    reader.start()
    started = time.monotonic()
    with ThreadPoolExecutor(3) as pool:
        answers = list(pool.map(lambda _: upload(stage, huge_png), range(3)))
    uploads_took = time.monotonic() - started
    done.set()
    reader.join()

    assert [a.status_code for a in answers] == [200] * 3, [a.text for a in answers]
    assert all(a.json()["image_url"].endswith(".png") for a in answers)
    reads.sort()
    p95 = reads[int(len(reads) * 0.95)]
    # Three 40-megapixel pictures take seconds of CPU; reads meanwhile answer as usual (before the
    # pool, each upload held an endpoint thread and the GIL: reads stalled for whole seconds).
    assert uploads_took > 1.5 and len(reads) > 20
    assert p95 < 0.5 and reads[-1] < 2, (p95, reads[-1])
    print(f"3 uploads in {uploads_took:.1f} s; {len(reads)} reads meanwhile, p95 {p95 * 1000:.0f} ms")


def test_beyond_the_image_queue_uploads_are_refused_with_retry_after(stage, huge_png):
    with settings_env(IMAGE_QUEUE="1"):
        assert get_settings().image_queue == 1
        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(lambda n: upload(stage, huge_png, f"127.0.0.{42 + n}"), range(4)))
    statuses = Counter(a.status_code for a in answers)
    assert statuses == {200: 1, 503: 3}, statuses
    for refused in (a for a in answers if a.status_code == 503):
        assert refused.json()["error"]["code"] == Busy.code and int(refused.headers["retry-after"]) >= 1


def test_uploads_are_limited_per_account_across_addresses(stage):
    small = png(64)
    with rate_limits_on(RATE_LIMIT_UPLOAD_ACCOUNT="2/minute"):
        answers = [upload(stage, small, f"127.0.0.{50 + n}") for n in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 429, 429]
    assert answers[-1].json()["error"]["code"] == "rate_limited" and answers[-1].headers["retry-after"]


def test_a_stranger_is_refused_before_the_picture_is_decoded(stage, huge_png, pg_session, clock):
    stranger = make_user(pg_session, role=Role.ORGANIZER, now=clock.now)
    with client_from(stage["base_url"], "127.0.0.60") as http:
        token = http.post("/api/v1/auth/login", json={"email": stranger.email, "password": DEFAULT_PASSWORD}).json()
        started = time.monotonic()
        refused = http.post(
            f"/api/v1/events/{stage['event_id']}/image",
            files={"file": ("poster.png", huge_png, "image/png")},
            headers={"Authorization": f"Bearer {token['access_token']}"},
        )
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    assert time.monotonic() - started < 1.5  # not decoded: that alone takes longer
