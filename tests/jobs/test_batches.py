"""A worker claims many due jobs in one statement; jobs of a batched kind run together."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from soporte.jobs import queue
from soporte.jobs.models import Job, JobStatus
from soporte.jobs.registry import job

pytestmark = pytest.mark.django_db

batches: list[list[list]] = []
singles: list[tuple] = []
broken_ids: set[int] = set()


@job("tests.single")
def single(*args) -> None:
    singles.append(args)


@job("tests.together", max_attempts=2, retry_on=(OSError,), batched=True)
def together(calls: list[list]) -> list:
    batches.append(calls)
    if any(args[0] in broken_ids for args in calls) and len(calls) > 1:
        raise RuntimeError("one of them breaks the batch")
    return [OSError("try later") if args[0] == 99 else f"ok {args[0]}" for args in calls]


@job("tests.larger", batched=True, batch_size=4)
def larger(calls: list[list]) -> None:
    batches.append(calls)


@pytest.fixture(autouse=True)
def _fresh(settings):
    settings.JOBS_MODE = "worker"
    batches.clear()
    singles.clear()
    broken_ids.clear()


def test_a_batch_is_claimed_in_one_statement_and_batched_kinds_run_in_one_call():
    for n in (1, 2, 3):
        together.enqueue(n)
    single.enqueue("a")

    with CaptureQueriesContext(connection) as queries:
        assert queue.run_batch(50) == 4

    assert batches == [[[1], [2], [3]]]
    assert singles == [("a",)]
    assert set(Job.objects.values_list("status", flat=True)) == {JobStatus.DONE}
    claims = [q for q in queries if "attempts = attempts + 1" in q["sql"]]
    assert len(claims) == 1


def test_a_batch_claims_no_more_than_its_limit_and_only_due_jobs():
    for n in range(5):
        single.enqueue(n)
    single.enqueue("later", delay=3600)
    assert queue.run_batch(3) == 3
    assert queue.run_batch(3) == 2
    assert queue.run_batch(3) == 0
    assert Job.objects.get(args=["later"]).status == JobStatus.QUEUED


def test_a_kind_asking_for_larger_batches_claims_more_of_its_runs_beyond_the_limit():
    single.enqueue("a")
    for n in range(6):
        larger.enqueue(n)
    single.enqueue("b")

    assert queue.run_batch(2) == 5

    # The claim of two held one "larger" run: three more were claimed to make four.
    assert batches == [[[0], [1], [2], [3]]]
    assert singles == [("a",)]
    left = Job.objects.exclude(status=JobStatus.DONE).order_by("id").values_list("args", flat=True)
    assert list(left) == [[4], [5], ["b"]]


def test_a_run_answered_with_an_error_is_retried_alone():
    together.enqueue(1)
    together.enqueue(99)
    assert queue.run_batch(50) == 2
    retried = Job.objects.get(args=[99])
    assert (retried.status, retried.attempts) == (JobStatus.QUEUED, 1)
    assert "try later" in retried.last_error
    assert Job.objects.get(args=[1]).status == JobStatus.DONE


def test_a_failing_batch_runs_its_jobs_one_by_one():
    broken_ids.add(2)
    together.enqueue(1)
    together.enqueue(2)
    assert queue.run_batch(50) == 2
    assert batches == [[[1], [2]], [[1]], [[2]]]
    assert set(Job.objects.values_list("status", flat=True)) == {JobStatus.DONE}


def test_a_job_claimed_elsewhere_is_not_claimed_again():
    single.enqueue(1)
    Job.objects.update(status=JobStatus.RUNNING, attempts=1)
    assert queue.run_batch(50) == 0
    assert singles == []


def test_jobs_left_unstarted_too_long_are_handed_back(monkeypatch):
    for n in range(3):
        single.enqueue(n)
    clock = iter([0.0, 0.0, queue.CLAIM_SECONDS])  # the third job starts too late
    monkeypatch.setattr(queue.time, "monotonic", lambda: next(clock))
    assert queue.run_batch(50) == 1
    back = Job.objects.filter(status=JobStatus.QUEUED)
    assert back.count() == 2
    assert set(back.values_list("attempts", flat=True)) == {0}


def test_a_batched_kind_called_directly_returns_its_result_or_raises():
    assert together(5) == "ok 5"
    with pytest.raises(OSError, match="try later"):
        together(99)


def test_jobs_recorded_in_a_buffered_block_are_written_in_one_insert_once_each():
    from django.db import transaction

    with (
        transaction.atomic(),
        CaptureQueriesContext(connection) as queries,
        queue.buffered_jobs(),
    ):
        single.enqueue(1)
        single.enqueue(1)  # the same run again: recorded once
        single.enqueue(2)
        single.enqueue(1, delay=60)  # a delayed run is its own
        assert not Job.objects.exists()  # nothing written yet

    inserts = [q for q in queries.captured_queries if q["sql"].startswith("INSERT")]
    assert len(inserts) == 1
    rows = sorted((j.args, j.run_after > j.created_at) for j in Job.objects.all())
    assert rows == [([1], False), ([1], True), ([2], False)]


def test_a_buffered_block_that_fails_writes_no_job_and_a_dropped_tail_is_not_written():
    from django.db import transaction

    with pytest.raises(RuntimeError), transaction.atomic(), queue.buffered_jobs():
        single.enqueue(1)
        raise RuntimeError("the change failed")
    assert not Job.objects.exists()

    with transaction.atomic(), queue.buffered_jobs() as jobs:
        single.enqueue(1)
        kept = len(jobs)
        single.enqueue(2)  # queued by work rolled back to a savepoint
        del jobs[kept:]
    assert list(Job.objects.values_list("args", flat=True)) == [[1]]
