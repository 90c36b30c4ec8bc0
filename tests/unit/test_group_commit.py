"""Group commit (bilten/group_commit.py): jobs that arrive while a batch runs go together in the next
one, each gets its own outcome, and a quiet moment costs no waiting."""

import threading
import time

import pytest

from bilten.group_commit import GroupCommit


def _wait_until(condition, seconds=5.0):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_a_lone_job_runs_at_once_as_a_batch_of_one():
    batches = []
    group = GroupCommit()

    def run(jobs):
        batches.append(list(jobs))
        return [job * 2 for job in jobs]

    assert group.submit("k", 21, run) == 42
    assert group.submit("k", 1, run) == 2
    assert batches == [[21], [1]]


def test_jobs_arriving_during_a_batch_go_together_next_each_with_its_own_outcome():
    group = GroupCommit()
    first_batch_may_end = threading.Event()
    batches = []

    def run(jobs):
        batches.append(list(jobs))
        if jobs == [0]:
            first_batch_may_end.wait(5)
        return [ValueError(f"job {job} refused") if job == 3 else job * 10 for job in jobs]

    outcomes = {}

    def submit(job):
        try:
            outcomes[job] = group.submit("k", job, run)
        except ValueError as exc:
            outcomes[job] = str(exc)

    leader = threading.Thread(target=submit, args=(0,))
    leader.start()
    _wait_until(lambda: batches == [[0]])
    followers = [threading.Thread(target=submit, args=(job,)) for job in range(1, 6)]
    for thread in followers:
        thread.start()
    _wait_until(lambda: group.queued("k") == 5)
    first_batch_may_end.set()
    for thread in [leader, *followers]:
        thread.join(5)

    assert batches[0] == [0]
    assert sorted(batches[1]) == [1, 2, 3, 4, 5]  # the five that waited, in one batch
    assert len(batches) == 2
    assert outcomes == {0: 0, 1: 10, 2: 20, 3: "job 3 refused", 4: 40, 5: 50}
    assert group.queued("k") == 0


def test_keys_do_not_wait_for_each_other():
    group = GroupCommit()
    release = threading.Event()

    def slow(jobs):
        release.wait(5)
        return jobs

    thread = threading.Thread(target=group.submit, args=("slow", 1, slow))
    thread.start()
    assert group.submit("other", 2, lambda jobs: jobs) == 2  # not queued behind "slow"
    release.set()
    thread.join(5)


def test_a_failing_batch_fails_every_job_in_it_and_the_next_leader_carries_on():
    group = GroupCommit(max_batch=2)
    started = threading.Event()
    release = threading.Event()
    calls = []

    def run(jobs):
        calls.append(list(jobs))
        if jobs == ["first"]:
            started.set()
            release.wait(5)
            return jobs
        if "boom" in jobs:
            raise RuntimeError("the database went away")
        return jobs

    results = {}

    def submit(job):
        try:
            results[job] = group.submit("k", job, run)
        except RuntimeError as exc:
            results[job] = f"error: {exc}"

    first = threading.Thread(target=submit, args=("first",))
    first.start()
    started.wait(5)
    rest = []
    for job in ["boom", "a", "b"]:  # queued in this order; at most 2 per batch
        thread = threading.Thread(target=submit, args=(job,))
        thread.start()
        rest.append(thread)
        _wait_until(lambda n=len(rest): group.queued("k") == n)
    release.set()
    for thread in [first, *rest]:
        thread.join(5)

    assert calls == [["first"], ["boom", "a"], ["b"]]
    assert results == {
        "first": "first",
        "boom": "error: the database went away",
        "a": "error: the database went away",
        "b": "b",
    }


def test_a_batch_must_answer_every_job():
    group = GroupCommit()
    with pytest.raises(RuntimeError, match="a batch of 1 jobs gave 0 outcomes"):
        group.submit("k", 1, lambda jobs: [])
