"""What the scan page's browser tests need besides the browser: tickets bought through the REST
API, the organizer's view of check-ins, and a fake-camera video made from a real ticket's QR."""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import qrcode
from PIL import Image

JAZZ_NIGHT = "Riverside Jazz Night"
STAFF = ("staff@demo.bilten.org", "Demo-staff-2026")
ORGANIZER = ("organizer@demo.bilten.org", "Demo-organizer-2026")
STAFF_GATE = "Main entrance"
VIDEO_SIZE = 720  # the camera asks for 1280x720 ideally; a square 720p frame is what Chromium fakes


@dataclass(frozen=True)
class Ticket:
    id: str
    code: str
    holder_name: str
    ticket_type: str
    order_id: str
    reference: str = ""  # K7QM-4XHT-2P, what door staff type when the QR will not scan


def api(base_url: str, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        base_url + path, data=data, method=method, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            raw = response.read()
    except urllib.error.HTTPError as exc:
        raise AssertionError(f"{method} {path}: {exc.code} {exc.read()[:500]!r}") from exc
    return json.loads(raw) if raw else None


def event_id(base_url: str, title: str = JAZZ_NIGHT) -> str:
    return next(e["id"] for e in api(base_url, "GET", "/api/v1/events") if e["title"] == title)


def buy_tickets(
    base_url: str, *, holder: str, count: int = 1, title: str = JAZZ_NIGHT, answers: list[dict] | None = None
) -> list[Ticket]:
    """Paid tickets: an order (with checkout `answers` if given), then the test provider's "succeeded" payment."""
    detail = api(base_url, "GET", f"/api/v1/events/{event_id(base_url, title)}")
    ticket_type = next(t for t in detail["ticket_types"] if t["available"] >= count)
    order = api(
        base_url,
        "POST",
        "/api/v1/orders",
        {
            "items": [{"ticket_type_id": ticket_type["id"], "quantity": count}],
            "email": "door-test@example.org",
            "phone": "+49 30 1234567",
            "name": holder,
            "answers": answers or [],
        },
    )
    if order["status"] != "paid":
        order = api(
            base_url,
            "POST",
            f"/api/v1/orders/{order['id']}/test-payment",
            {"outcome": "succeeded"},
            {"X-Order-Token": order["access_token"]},
        )
    assert order["status"] == "paid", order
    return [
        Ticket(
            id=t["id"],
            code=t["code"],
            holder_name=t["holder_name"],
            ticket_type=t["ticket_type"],
            order_id=order["id"],
            reference=t["reference"],
        )
        for t in order["tickets"]
    ]


@functools.cache
def access_token(base_url: str, email: str, password: str) -> str:
    """A REST access token (kept for the test session: logging in hashes a password each time)."""
    return api(base_url, "POST", "/api/v1/auth/login", {"email": email, "password": password})["access_token"]


def as_organizer(base_url: str, method: str, path: str, body: Any = None) -> Any:
    token = access_token(base_url, *ORGANIZER)
    return api(base_url, method, path, body, headers={"Authorization": f"Bearer {token}"})


def attendee(base_url: str, event: str, ticket_id: str) -> dict:
    """The organizer's check-in list row of one ticket."""
    rows = as_organizer(base_url, "GET", f"/api/v1/events/{event}/checkins")["attendees"]
    return next(row for row in rows if row["ticket_id"] == ticket_id)


def qr_png(payload: str, path: Path, *, size: int = VIDEO_SIZE) -> Path:
    image = qrcode.make(payload, error_correction=qrcode.constants.ERROR_CORRECT_M, border=4).convert("RGB")
    canvas = Image.new("RGB", (size, size), "white")
    side = int(size * 0.8)
    canvas.paste(image.resize((side, side), Image.NEAREST), ((size - side) // 2, (size - side) // 2))
    canvas.save(path)
    return path


def presentation_video(payload: str, workdir: Path, *, shown_s: float = 2.0, hidden_s: float = 2.0) -> Path:
    """A y4m for Chromium's fake camera: the ticket held up for `shown_s`, then taken away for
    `hidden_s` (Chromium loops the file, so the ticket comes back again and again)."""
    ffmpeg = shutil.which("ffmpeg")
    assert ffmpeg, "ffmpeg is required (apt-get install -y ffmpeg)"
    qr = qr_png(payload, workdir / "ticket.png")
    blank = workdir / "blank.png"
    Image.new("RGB", (VIDEO_SIZE, VIDEO_SIZE), (235, 235, 235)).save(blank)
    video = workdir / "ticket.y4m"
    subprocess.run(
        [
            ffmpeg,
            "-y",
            "-loglevel",
            "error",
            "-loop",
            "1",
            "-t",
            str(shown_s),
            "-i",
            str(qr),
            "-loop",
            "1",
            "-t",
            str(hidden_s),
            "-i",
            str(blank),
            "-filter_complex",
            f"[0:v][1:v]concat=n=2:v=1,scale={VIDEO_SIZE}:{VIDEO_SIZE},fps=15,format=yuv420p",
            str(video),
        ],
        check=True,
        timeout=60,
    )
    return video
