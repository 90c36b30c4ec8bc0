"""The pure parts of bilten/observability: redaction, the metrics access rule, request ids,
counters that wait for the commit, the metric files of dead processes, the state event log."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import shutil
import subprocess
import sys
from types import SimpleNamespace

import pytest
from sqlalchemy import text

from bilten.observability import context, metrics, scrape
from bilten.observability.access import is_local_address, may_read_metrics
from bilten.observability.events import EventLog
from bilten.observability.logging import ConsoleFormatter, Redactor, make_handler, scrub
from bilten.services.errors import SoldOut

TOKEN = "metrics-" + "k" * 32


@pytest.mark.parametrize(
    ("raw", "gone", "kept"),
    [
        ("mail to jane.doe@example.com now", "jane.doe@example.com", "j***@example.com"),
        ('{"password": "hunter2", "email": "a@b.io"}', "hunter2", '"password": "[redacted]"'),
        ("GET /api/v1/orders/1?token=AbCdEf123_-x&x=1", "AbCdEf123_-x", "token=[redacted]&x=1"),
        ("Authorization: Bearer eyJhbGciOi.eyJzdWIi.sig-nat_ure", "eyJhbGciOi", "Authorization: [redacted]"),
        ("calling with bearer abc.def.ghi", "abc.def.ghi", "Bearer [redacted]"),
        ("key sk_live_51Habc and whsec_abcdef123", "sk_live_51Habc", "key [redacted] and [redacted]"),
        ("device bdv_q1w2e3r4 scanned", "bdv_q1w2e3r4", "device [redacted] scanned"),
        ("secret_key='s3cr3t'", "s3cr3t", "secret_key='[redacted]'"),
    ],
)
def test_scrub_takes_secrets_out_and_masks_emails(raw, gone, kept):
    cleaned = scrub(raw)
    assert gone not in cleaned and kept in cleaned


def test_the_redactor_cleans_arguments_extras_and_tracebacks():
    try:
        raise ValueError("password=letmein for bob@example.org")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "user %s", ("bob@example.org",), sys.exc_info())
    record.__dict__.update({"api_key": "abc123", "payload": {"refresh_token": "r-1", "who": "bob@example.org"}})
    Redactor().filter(record)
    assert record.getMessage() == "user b***@example.org"
    assert record.api_key == "[redacted]" and record.payload == {
        "refresh_token": "[redacted]",
        "who": "b***@example.org",
    }
    assert "letmein" not in record.exc_text and "ValueError" in record.exc_text


@pytest.mark.parametrize(
    ("host", "local"),
    [
        ("127.0.0.1", True),
        ("127.0.0.9", True),
        ("::1", True),
        ("10.1.2.3", True),
        ("172.20.0.5", True),
        ("192.168.1.1", True),
        ("fd12::1", True),
        ("::ffff:127.0.0.1", True),
        ("203.0.113.5", False),  # Python's is_private says True: documentation range
        ("198.51.100.1", False),
        ("8.8.8.8", False),
        ("172.32.0.1", False),
        ("100.64.0.1", False),
        ("2001:db8::1", False),
        ("testclient", False),
        ("", False),
        (None, False),
    ],
)
def test_local_addresses(host, local):
    assert is_local_address(host) is local


def test_the_metrics_access_rule():
    def allowed(host, authorization=None, headers=(), token=TOKEN):
        return may_read_metrics(host, authorization=authorization, header_names=headers, token=token)

    assert allowed("127.0.0.1") and allowed("10.0.0.8", authorization="Bearer wrong")
    assert not allowed("203.0.113.5")
    assert not allowed("203.0.113.5", authorization="Bearer wrong")
    assert not allowed("203.0.113.5", authorization=TOKEN)  # no scheme
    assert allowed("203.0.113.5", authorization=f"Bearer {TOKEN}")
    assert allowed("203.0.113.5", authorization=f"bearer {TOKEN}")
    assert not allowed("203.0.113.5", authorization="Bearer ", token=None)
    assert not allowed("203.0.113.5", authorization="Bearer ", token="")
    assert not allowed("203.0.113.5", headers=["X-Forwarded-For"])
    assert not allowed("127.0.0.1", headers=["X-Forwarded-For"])  # came through a local proxy
    assert not allowed("127.0.0.1", headers=["Forwarded"]) and not allowed("127.0.0.1", headers=["x-real-ip"])
    assert allowed("127.0.0.1", authorization=f"Bearer {TOKEN}", headers=["X-Forwarded-For"])


@pytest.mark.parametrize("incoming", ["abc", "A.b-c_9", "x" * 128, "0af1c2d3e4f5a6b7c8d9e0f1a2b3c4d5"])
def test_sane_request_ids_are_kept(incoming):
    assert context.accepted_request_id(incoming) == incoming


@pytest.mark.parametrize("incoming", [None, "", "x" * 129, "a b", "a/b", "id\n2", "é"])
def test_other_request_ids_are_replaced(incoming):
    replaced = context.accepted_request_id(incoming)
    assert replaced != incoming and len(replaced) == 32 and int(replaced, 16) >= 0


def test_counters_wait_for_the_commit_and_forget_a_rollback(session):
    seen = []
    session.execute(text("SELECT 1"))
    metrics.after_commit(session, seen.append, "rolled back")
    session.rollback()
    session.commit()
    assert seen == []

    session.execute(text("SELECT 1"))
    metrics.after_commit(session, seen.append, "committed")
    savepoint = session.begin_nested()
    metrics.after_commit(session, seen.append, "after the savepoint")
    savepoint.rollback()  # a savepoint's rollback leaves the outer transaction's facts
    assert seen == []
    session.commit()
    assert seen == ["committed", "after the savepoint"]
    session.commit()
    assert seen == ["committed", "after the savepoint"]  # once


def test_metric_files_of_dead_processes_are_pruned_and_live_ones_kept(tmp_path):
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(gone.stdout)
    (tmp_path / f"counter_{dead_pid}.db").write_bytes(b"")
    (tmp_path / f"gauge_livesum_{dead_pid}.db").write_bytes(b"")
    (tmp_path / f"counter_{os.getpid()}.db").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("not ours")
    assert metrics.prune_dead_processes(tmp_path) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([f"counter_{os.getpid()}.db", "notes.txt"])


def test_the_exposition_lists_the_business_metrics_from_the_start():
    """(The HTTP metrics appear with the first request: their labels are not known before.)"""
    text = scrape.exposition(include_state=False).decode()
    for name in (
        "bilten_tickets_sold_total",
        "bilten_notifications_failed_total",
        "bilten_live_connections",
        "bilten_db_pool_in_use",
    ):
        assert f"\n{name} " in text
    for outcome in metrics.ORDER_OUTCOMES:
        assert f'bilten_orders_total{{outcome="{outcome}"}}' in text
    for result in metrics.CHECKIN_RESULTS:
        assert f'bilten_checkins_total{{result="{result}"}}' in text


def _state_event(name: str, handler):
    """Run `handler` the way Reflex runs an event: preprocess, then the handler, in one task."""

    async def run():
        state = SimpleNamespace(router_data={"pathname": "/orders/[id]"}, substates={})
        event = SimpleNamespace(name=name, router_data={"pathname": "/orders/[id]"})

        async def task_body():
            await EventLog().preprocess(None, state, event)
            await handler()

        task = asyncio.ensure_future(task_body())
        try:
            await task
        except Exception:  # noqa: BLE001 - the log line is what is looked at
            pass
        await asyncio.sleep(0)  # the done callback runs on the next turn of the loop

    asyncio.run(run())


@pytest.fixture
def event_log():
    stream = io.StringIO()
    handler = make_handler("json", stream)
    logger = logging.getLogger("bilten.state.events")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    logger.removeHandler(handler)


def test_state_events_are_logged_with_their_outcome(event_log):
    async def fine():
        context.note_user(SimpleNamespace(id="user-7"))

    async def refused():
        context.note_failure(SoldOut.code)

    async def broken():
        raise RuntimeError("token=abc123")

    name = "reflex___state____state.bilten___state___order____order_state.cancel"
    for handler in (fine, refused, broken):
        _state_event(name, handler)
    ok, no, error = event_log()
    assert ok["message"] == "state event" and ok["event"] == "order_state.cancel" and ok["outcome"] == "ok"
    assert ok["user_id"] == "user-7" and ok["route"] == "/orders/[id]" and len(ok["request_id"]) == 32
    assert ok["duration_ms"] >= 0 and ok["level"] == "INFO"
    assert no["outcome"] == "refused" and no["error"] == "sold_out"
    assert error["outcome"] == "error" and error["level"] == "ERROR" and "abc123" not in error["exception"]
    assert len({ok["request_id"], no["request_id"], error["request_id"]}) == 3


def test_the_console_format_is_one_readable_line():
    record = logging.LogRecord("bilten.api.access", logging.INFO, __file__, 1, "api request", (), None)
    record.__dict__.update({"request_id": "r-1", "route": "/api/health", "status": 200, "duration_ms": 1.5})
    line = ConsoleFormatter().format(record)
    assert "INFO bilten.api.access: api request [r-1] route=/api/health status=200 duration_ms=1.5" in line


def test_every_checkin_verdict_has_its_counter():
    from bilten.models import CheckInResult

    assert set(metrics.CHECKIN_RESULTS) == {result.value for result in CheckInResult}


def test_route_templates_come_from_the_api_routes_only():
    from bilten.observability.middleware import ROUTE_KEY, route_template

    assert route_template({"route": SimpleNamespace(path_format="/api/v1/orders/{order_id}")}) == (
        "/api/v1/orders/{order_id}"
    )
    # In the running app an unknown /api path falls through to Reflex's catch-all for its pages.
    assert route_template({"route": SimpleNamespace(path_format="/{path}")}) == "unmatched"
    assert route_template({ROUTE_KEY: "/api/v1/orders"}) == "/api/v1/orders"  # the sold-out gate's answers
    assert route_template({}) == "unmatched"


def test_a_process_that_cannot_create_the_metrics_directory_uses_a_private_one(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")  # even root cannot make a directory inside a file
    env = {k: v for k, v in os.environ.items() if k != "BILTEN_METRICS_DIR_OWNER"}
    env["PROMETHEUS_MULTIPROC_DIR"] = str(blocker / "metrics")
    program = "from bilten.observability import metrics; metrics.count_paid(1); print(metrics.MULTIPROC_DIR)"
    started = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, env=env)
    assert started.returncode == 0, started.stderr
    assert "bilten-metrics-" in started.stdout and "not writable" in started.stderr
    shutil.rmtree(started.stdout.strip())
