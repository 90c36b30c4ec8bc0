"""The Debouncer behind live counters: the first change after a quiet moment at once, a burst in
one more run per delay, and nothing committed is missed."""

import threading
import time

from bilten.debounce import Debouncer

DELAY = 0.25


class ManualTime:
    """A clock that moves only when told, and timers that fire when it passes their moment."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.waiting: list[tuple[float, int, object]] = []
        self.delays: list[float] = []

    def clock(self) -> float:
        return self.now

    def timer(self, delay: float, function):  # noqa: ANN001, ANN201
        self.delays.append(delay)
        manual = self

        class Timer:
            def start(self) -> None:
                manual.waiting.append((manual.now + delay, len(manual.delays), function))

            def join(self, timeout=None) -> None:  # noqa: ANN001
                return None

        return Timer()

    def advance(self, seconds: float) -> None:
        target = self.now + seconds
        while due := sorted(t for t in self.waiting if t[0] <= target):
            moment, order, function = due[0]
            self.waiting.remove(due[0])
            self.now = max(self.now, moment)
            function()
        self.now = target


def _debouncer(manual: ManualTime, runs: list):
    def action(value):
        runs.append((round(manual.now - 1000.0, 3), value))

    return Debouncer(DELAY, action, clock=manual.clock, timer=manual.timer)


def test_the_first_change_after_a_quiet_moment_runs_at_once():
    manual, runs = ManualTime(), []
    debouncer = _debouncer(manual, runs)
    debouncer.schedule("event", "sale 1")
    assert manual.delays == [0.0]
    manual.advance(0)
    assert runs == [(0.0, "sale 1")]

    manual.advance(DELAY + 0.5)  # quiet again: the next change goes out at once too
    debouncer.schedule("event", "sale 2")
    manual.advance(0)
    assert runs[-1] == (0.75, "sale 2")
    assert manual.delays == [0.0, 0.0]


def test_a_burst_after_the_first_run_is_coalesced_into_one_run_a_delay_after_it_started():
    manual, runs = ManualTime(), []
    debouncer = _debouncer(manual, runs)
    debouncer.schedule("event", "first")
    manual.advance(0)
    step = 1 / 64  # binary fractions keep the fake clock exact
    for _ in range(12):  # 12 sales within the next 0.1875 s
        manual.advance(step)
        debouncer.schedule("event", "burst")
    manual.advance(DELAY - 12 * step - step / 16)
    assert runs == [(0.0, "first")]  # the burst waits for the window to close
    manual.advance(step / 16)
    assert runs == [(0.0, "first"), (DELAY, "burst")]
    manual.advance(1.0)
    assert len(runs) == 2  # one run for the whole burst


def test_a_change_soon_after_a_run_waits_for_that_runs_window_only():
    manual, runs = ManualTime(), []
    debouncer = _debouncer(manual, runs)
    debouncer.schedule("event", "first")
    manual.advance(0.125)
    debouncer.schedule("event", "second")
    assert manual.delays == [0.0, DELAY - 0.125]
    manual.advance(DELAY)
    assert runs == [(0.0, "first"), (DELAY, "second")]


def test_keys_are_coalesced_separately():
    manual, runs = ManualTime(), []
    debouncer = _debouncer(manual, runs)
    debouncer.schedule("event-a", "a1")
    debouncer.schedule("event-b", "b1")
    manual.advance(0)
    debouncer.schedule("event-a", "a2")
    manual.advance(DELAY)
    assert runs == [(0.0, "a1"), (0.0, "b1"), (DELAY, "a2")]


def test_keys_quiet_for_longer_than_the_delay_are_forgotten(monkeypatch):
    monkeypatch.setattr("bilten.debounce.FORGET_AFTER_KEYS", 3)
    manual, runs = ManualTime(), []
    debouncer = _debouncer(manual, runs)
    for n in range(4):
        debouncer.schedule(n, n)
        manual.advance(DELAY)
    debouncer.schedule("new", "new")
    manual.advance(0)
    assert len(debouncer._last_started) <= 3
    assert runs[-1] == (4 * DELAY, "new")


def test_with_real_threads_a_burst_costs_at_most_two_runs_a_delay_apart():
    """(Exact timing is checked above with a manual clock; this checks the real timers.)"""
    runs = []
    debouncer = Debouncer(0.05, lambda key: runs.append(time.monotonic()))
    for _ in range(100):
        debouncer.schedule("event-a", "event-a")  # the first runs at once; later ones ride along
    debouncer.wait()
    assert 1 <= len(runs) <= 2
    debouncer.schedule("event-a", "event-a")
    debouncer.wait()
    assert 2 <= len(runs) <= 3
    gaps = [later - earlier for earlier, later in zip(runs, runs[1:], strict=False)]
    assert all(gap >= 0.045 for gap in gaps)  # a delay after the previous run started (read just before)


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
    debouncer.wait()
    assert runs == [1, 2]


def test_wait_also_waits_for_a_run_in_progress():
    started, finished = threading.Event(), []

    def slow():
        started.set()
        time.sleep(0.1)
        finished.append(1)

    debouncer = Debouncer(0.01, slow)
    debouncer.schedule("event")
    assert started.wait(5)
    debouncer.wait()
    assert finished == [1]


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
