"""Schemathesis over the whole OpenAPI document, as a stranger, a buyer and an organizer would call it:
no answer may be a server error, and every status and body must be one the document lists.

The API runs on the test PostgreSQL database (the `client` fixture's overrides) behind a real uvicorn
server in this process; Schemathesis's own CLI drives it from a second process, with a fixed seed
and a bounded number of examples per operation (about a minute on two cores).
"""

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import uvicorn
from sqlmodel import select

from bilten.api import api
from bilten.models import Role, TicketType
from tests.factories import DEFAULT_PASSWORD, make_event, make_organization, make_user

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
EXAMPLES_PER_OPERATION = 8
SEED = 20261204
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def live_api(client):
    """The API (with the `client` fixture's database and clock) served over real HTTP."""
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(api, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def callers(client, pg_session, clock):
    """Bearer headers: nobody, a buyer with a paid order, an organizer with an event on sale."""
    organizer = make_user(pg_session, role=Role.ORGANIZER, now=clock.now)
    buyer = make_user(pg_session, now=clock.now)
    org = make_organization(pg_session, members=(organizer,), now=clock.now)
    event = make_event(pg_session, organization=org, now=clock.now, prices=(2500, 0), quantity=50)
    free = pg_session.exec(select(TicketType).where(TicketType.event_id == event.id, TicketType.price_minor == 0)).one()

    def bearer(user) -> str:
        login = client.post("/api/v1/auth/login", json={"email": user.email, "password": DEFAULT_PASSWORD})
        assert login.status_code == 200, login.text
        return f"Authorization: Bearer {login.json()['access_token']}"

    buyer_header = bearer(buyer)
    order = client.post(
        "/api/v1/orders",
        json={"items": [{"ticket_type_id": str(free.id), "quantity": 1}], "email": buyer.email},
        headers={"Authorization": buyer_header.split(": ", 1)[1]},
    )
    assert order.status_code == 201, order.text
    return {"anonymous": None, "buyer": buyer_header, "organizer": bearer(organizer)}


@pytest.mark.parametrize("who", ["anonymous", "buyer", "organizer"])
def test_no_server_error_and_every_answer_documented(live_api, callers, who, tmp_path):
    command = [
        str(SCHEMATHESIS),
        "run",
        f"{live_api}/api/openapi.json",
        "--checks",
        CHECKS,
        "--max-examples",
        str(EXAMPLES_PER_OPERATION),
        "--seed",
        str(SEED),
        "--phases",
        "examples,coverage,fuzzing",
        "--workers",
        "1",
        "--request-timeout",
        "20",
        "--no-shrink",
        "--continue-on-failure",
        "--suppress-health-check",
        "all",
        "--warnings",
        "off",
    ]
    if callers[who]:
        command += ["--header", callers[who]]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "", "NO_COLOR": "1", "HOME": str(tmp_path)}
    started = time.monotonic()
    run = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path)
    elapsed = time.monotonic() - started
    report = run.stdout[-12000:] + run.stderr[-3000:]
    assert run.returncode == 0, f"schemathesis as {who} found problems ({elapsed:.0f} s):\n{report}"
    assert "operations" in run.stdout.lower() or "tested" in run.stdout.lower(), report
