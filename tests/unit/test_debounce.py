"""The Debouncer behind live counters: one run per burst and key, and nothing committed is missed."""

import threading
import time

from bilten.debounce import Debouncer


def test_a_burst_runs_the_action_once_per_key_after_the_delay():
    runs = []
    debouncer = Debouncer(0.05, lambda key: runs.append((key, time.monotonic())))
    asked_at = time.monotonic()
    for _ in range(100):
        debouncer.schedule("event-a", "event-a")
    debouncer.schedule("event-b", "event-b")
    debouncer.wait()
    assert sorted(key for key, _ in runs) == ["event-a", "event-b"]
    assert all(at - asked_at >= 0.05 for _, at in runs)


def test_a_request_made_while_the_action_runs_gets_a_run_of_its_own():
    """The action reads the numbers when it runs: a change committed after that read must lead to
    another run, or the screen would keep a stale figure."""
    started, release, runs = threading.Event(), threading.Event(), []

    def action(n):
        runs.append(n)
        started.set()
        release.wait(5)

    debouncer = Debouncer(0.01, action)
    debouncer.schedule("event", 1)
    assert started.wait(5)
    debouncer.schedule("event", 2)  # the first run is reading right now
    release.set()
    time.sleep(0.05)
    debouncer.wait()
    assert runs == [1, 2]


def test_a_failing_action_is_logged_and_the_next_request_runs_again(caplog):
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database went away")

    debouncer = Debouncer(0.01, flaky)
    debouncer.schedule("event")
    debouncer.wait()
    debouncer.schedule("event")
    debouncer.wait()
    assert len(calls) == 2
    assert "debounced flaky failed" in caplog.text
