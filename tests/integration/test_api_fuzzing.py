"""Schemathesis over the whole OpenAPI document, as a stranger, a buyer and an organizer would call it:
no answer may be a server error, and every status and body must be one the document lists.

The API runs on the test PostgreSQL database (the `client` fixture's overrides) behind a real uvicorn
server in this process; Schemathesis's own CLI drives it from a second process, with a fixed seed
and a bounded number of examples per operation (one to two minutes for the three callers on two cores).
"""

import json
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
EXAMPLES_PER_OPERATION = 3
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
def world(client, pg_session, clock):
    """Callers (nobody, a buyer with orders, an organizer with an event on sale) and the ids of what
    they own, so generated requests reach real rows and not only 404s."""
    organizer = make_user(pg_session, role=Role.ORGANIZER, now=clock.now)
    buyer = make_user(pg_session, now=clock.now)
    org = make_organization(pg_session, members=(organizer,), now=clock.now)
    event = make_event(pg_session, organization=org, now=clock.now, prices=(2500, 0), quantity=50)
    paid, free = pg_session.exec(
        select(TicketType).where(TicketType.event_id == event.id).order_by(TicketType.position)
    ).all()

    def bearer(user) -> str:
        login = client.post("/api/v1/auth/login", json={"email": user.email, "password": DEFAULT_PASSWORD})
        assert login.status_code == 200, login.text
        return login.json()["access_token"]

    tokens = {"buyer": bearer(buyer), "organizer": bearer(organizer)}
    orders = [
        client.post(
            "/api/v1/orders",
            json={"items": [{"ticket_type_id": str(ticket_type.id), "quantity": 1}], "email": buyer.email},
            headers={"Authorization": f"Bearer {tokens['buyer']}"},
        ).json()
        for ticket_type in (free, paid)
    ]
    ids = [event.id, paid.id, free.id, org.id, organizer.id, buyer.id]
    ids += [order["id"] for order in orders] + [ticket["id"] for order in orders for ticket in order["tickets"]]
    return {
        "headers": {"anonymous": None, "buyer": tokens["buyer"], "organizer": tokens["organizer"]},
        "ids": [str(value) for value in ids],
        # Real link tokens, and what an attacker tries: wrong ones, non-ASCII ones (they were 500s once).
        "order_tokens": [order["access_token"] for order in orders] + ["x" * 24, "é", "ü" * 24, "😀"],
    }


def _config(document: dict, world: dict) -> str:
    """A Schemathesis config: every path id and the order link token come from these lists half the
    time (TOML strings and JSON strings share their escapes)."""
    path_ids = sorted(
        {
            parameter["name"]
            for item in document["paths"].values()
            for operation in item.values()
            for parameter in operation.get("parameters", [])
            if parameter["in"] == "path" and parameter["name"].endswith("_id")
        }
    )
    lines = [
        "[dictionaries.known-ids]",
        "values = " + json.dumps(world["ids"]),
        "[dictionaries.order-tokens]",
        "values = " + json.dumps(world["order_tokens"], ensure_ascii=False),
        "[parameters]",
        *(f'"path.{name}" = {{ dictionary = "known-ids", probability = 0.5 }}' for name in path_ids),
        '"query.token" = { dictionary = "order-tokens", probability = 0.5 }',
    ]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("who", ["anonymous", "buyer", "organizer"])
def test_no_server_error_and_every_answer_documented(live_api, client, world, who, tmp_path):
    config = tmp_path / "schemathesis.toml"
    config.write_text(_config(client.get("/api/openapi.json").json(), world), encoding="utf-8")
    command = [
        str(SCHEMATHESIS),
        "--config-file",
        str(config),
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
    if world["headers"][who]:
        command += ["--header", f"Authorization: Bearer {world['headers'][who]}"]
    env = {**os.environ, "NO_COLOR": "1", "HOME": str(tmp_path)}
    started = time.monotonic()
    run = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path)
    elapsed = time.monotonic() - started
    report = run.stdout[-12000:] + run.stderr[-3000:]
    assert run.returncode == 0, f"schemathesis as {who} found problems ({elapsed:.0f} s):\n{report}"
    operations = sum(
        1
        for path in api.openapi()["paths"].values()
        for method in path
        if method in {"get", "post", "put", "patch", "delete"}
    )
    assert f"Tested: {operations}" in run.stdout, report  # every operation of the document ran
