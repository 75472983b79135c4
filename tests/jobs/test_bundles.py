"""The runs of a batched job recorded together are written as one row, a bundle; a worker
runs a bundle's runs in one call, and each run keeps its own outcome."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from soporte.jobs import queue
from soporte.jobs.models import Job, JobStatus
from soporte.jobs.registry import job

pytestmark = pytest.mark.django_db

calls: list[list[list]] = []
singles: list[tuple] = []


@job("tests.bundled", max_attempts=2, retry_on=(OSError,), batched=True)
def bundled(runs: list[list]) -> list:
    """Answers a run of 99 with an error to retry on; a run of 98 raises, breaking a
    call it shares with other runs; a run of 97 answers with an error not worth a retry."""
    calls.append(runs)
    if any(args[0] == 98 for args in runs):
        raise ConnectionResetError("the server hung up")
    answers = {99: OSError("try later"), 97: ValueError("a bug")}
    return [answers.get(args[0], f"ok {args[0]}") for args in runs]


@job("tests.bundled_larger", batched=True, batch_size=4)
def bundled_larger(runs: list[list]) -> None:
    calls.append(runs)


@job("tests.unbundled")
def unbundled(*args) -> None:
    singles.append(args)


@pytest.fixture(autouse=True)
def _fresh(settings):
    settings.JOBS_MODE = "worker"
    calls.clear()
    singles.clear()


def buffered(*runs: tuple, delay: float = 0) -> None:
    """Record these runs of tests.bundled as a batch of work does, in one buffered block."""
    with transaction.atomic(), queue.buffered_jobs():
        for args in runs:
            bundled.enqueue(*args, delay=delay)


def bundle_of(*ids: int) -> Job:
    return Job.objects.create(name="tests.bundled", args=[[n] for n in ids], bundle=True)


# -- writing ---------------------------------------------------------------------------


def test_buffered_runs_of_a_batched_kind_are_written_as_one_bundle_in_one_insert():
    # given / when
    with (
        CaptureQueriesContext(connection) as queries,
        transaction.atomic(),
        queue.buffered_jobs(),
    ):
        bundled.enqueue(1)
        unbundled.enqueue("a")
        bundled.enqueue(2)
        bundled.enqueue(1)  # the same run again: recorded once
        bundled.enqueue(3, delay=60)  # a delayed run is its own row
        unbundled.enqueue("b")

    # then
    inserts = [q for q in queries.captured_queries if q["sql"].startswith("INSERT")]
    assert len(inserts) == 1
    rows = [(j.name, j.args, j.bundle) for j in Job.objects.order_by("pk")]
    assert rows == [
        ("tests.bundled", [[1], [2]], True),
        ("tests.unbundled", ["a"], False),
        ("tests.bundled", [3], False),
        ("tests.unbundled", ["b"], False),
    ]
    assert Job.objects.runs() == [[1], [2], ["a"], [3], ["b"]]


def test_a_lone_run_is_written_as_a_row_of_its_own():
    buffered((1,))
    [row] = Job.objects.all()
    assert (row.args, row.bundle, row.runs) == ([1], False, [[1]])


def test_a_bundle_holds_a_limited_number_of_runs(monkeypatch):
    monkeypatch.setattr(queue, "BUNDLE_RUNS", 2)
    buffered(*[(n,) for n in range(5)])
    rows = [(j.args, j.bundle) for j in Job.objects.order_by("pk")]
    assert rows == [([[0], [1]], True), ([[2], [3]], True), ([4], False)]


def test_a_bundle_is_handed_over_by_its_id_after_the_commit_with_a_broker(
    settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.JOBS_MODE = "celery"
    dispatched: list[tuple[int, float]] = []
    monkeypatch.setattr(
        queue, "dispatch", lambda job_id, delay=0: dispatched.append((job_id, delay))
    )

    with django_capture_on_commit_callbacks(execute=True):
        buffered((1,), (2,))

    assert dispatched == [(Job.objects.get(bundle=True).pk, 0.0)]


# -- running ---------------------------------------------------------------------------


def test_a_worker_runs_a_bundle_in_one_call_and_counts_its_runs():
    buffered((1,), (2,), (3,))
    unbundled.enqueue("a")

    assert queue.run_batch(50) == 4

    assert calls == [[[1], [2], [3]]]
    assert singles == [("a",)]
    assert set(Job.objects.values_list("status", flat=True)) == {JobStatus.DONE}


def test_a_run_answered_with_an_error_is_retried_alone_and_the_others_are_done():
    buffered((1,), (99,), (2,))

    assert queue.run_batch(50) == 3

    bundle = Job.objects.get(bundle=True)
    assert (bundle.status, bundle.attempts, bundle.last_error) == (JobStatus.DONE, 1, "")
    retry = Job.objects.get(bundle=False)
    assert (retry.args, retry.status, retry.attempts) == ([99], JobStatus.QUEUED, 1)
    assert "OSError: try later" in retry.last_error
    assert retry.run_after > timezone.now()  # after its backoff
    assert queue.run_batch(50) == 0  # not due yet

    # Its second and last attempt fails it, visibly.
    assert queue.run_batch(50, due_only=False) == 1
    assert calls[-1] == [[99]]
    retry.refresh_from_db()
    assert (retry.status, retry.attempts) == (JobStatus.FAILED, 2)
    assert "try later" in retry.last_error


def test_a_run_with_no_attempts_left_or_an_error_not_worth_retrying_is_failed_alone():
    bundle = bundle_of(1, 99, 97)
    Job.objects.filter(pk=bundle.pk).update(attempts=1)  # its second and last attempt

    assert queue.run_batch(50) == 3

    bundle.refresh_from_db()
    assert (bundle.status, bundle.attempts) == (JobStatus.DONE, 2)
    failed = {tuple(j.args): j for j in Job.objects.filter(status=JobStatus.FAILED)}
    assert set(failed) == {(99,), (97,)}
    assert all(j.attempts == 2 and j.finished_at for j in failed.values())
    assert "OSError: try later" in failed[99,].last_error
    assert "ValueError: a bug" in failed[97,].last_error
    # An admin runs a failed run again like any failed job.
    assert queue.retry_failed([failed[99,].pk]) == 1
    assert Job.objects.get(pk=failed[99,].pk).status == JobStatus.QUEUED


def test_when_the_whole_call_fails_each_run_is_tried_alone_with_its_own_outcome():
    buffered((1,), (98,), (2,))

    assert queue.run_batch(50) == 3

    assert calls == [[[1], [98], [2]], [[1]], [[98]], [[2]]]
    assert Job.objects.get(bundle=True).status == JobStatus.DONE
    retry = Job.objects.get(bundle=False)
    assert (retry.args, retry.status, retry.attempts) == ([98], JobStatus.QUEUED, 1)
    assert "ConnectionResetError: the server hung up" in retry.last_error


def test_bundles_and_rows_of_a_kind_claimed_together_run_in_one_call():
    bundle_of(1, 2)
    bundled.enqueue(3)
    bundle_of(4, 5)

    assert queue.run_batch(50) == 5

    assert calls == [[[1], [2], [3], [4], [5]]]


def test_a_bundle_runs_alone_when_dispatched_by_its_id():
    """Celery mode hands over one row at a time: a bundle's runs still go in one call."""
    bundle = bundle_of(1, 99, 2)

    assert queue.run_job(bundle.pk) == "done"

    assert calls == [[[1], [99], [2]]]
    assert Job.objects.get(pk=bundle.pk).status == JobStatus.DONE
    assert Job.objects.get(bundle=False).args == [99]


def test_in_eager_mode_a_bundle_runs_after_the_commit_and_its_failed_run_is_retried_at_once(
    settings, django_capture_on_commit_callbacks
):
    settings.JOBS_MODE = "eager"

    with django_capture_on_commit_callbacks(execute=True):
        buffered((1,), (99,), (2,))
        assert calls == []  # not before the commit

    # The run's second and last attempt straight after the first (max_attempts=2).
    assert calls == [[[1], [99], [2]], [[99]]]
    bundle = Job.objects.get(bundle=True)
    retried = Job.objects.get(bundle=False)
    assert bundle.status == JobStatus.DONE
    assert (retried.args, retried.status, retried.attempts) == ([99], JobStatus.FAILED, 2)


# -- claiming counts runs ----------------------------------------------------------------


def test_a_claim_stops_once_its_rows_hold_the_runs_asked_for():
    bundle_of(1, 2, 3)
    bundle_of(4, 5, 6)
    bundle_of(7, 8, 9)

    # Three runs and the row beyond them that reaches four: two rows, six runs.
    assert queue.run_batch(4) == 6

    assert calls == [[[1], [2], [3], [4], [5], [6]]]
    assert Job.objects.filter(status=JobStatus.QUEUED).count() == 1
    assert queue.run_batch(1) == 3


def test_a_kind_asking_for_larger_batches_tops_up_its_runs_not_its_rows():
    unbundled.enqueue("a")
    for first in (0, 2, 4, 6):
        Job.objects.create(name="tests.bundled_larger", args=[[first], [first + 1]], bundle=True)

    assert queue.run_batch(2) == 5

    # The claim of two runs held one bundle of two: one more bundle makes four.
    assert calls == [[[0], [1], [2], [3]]]
    assert singles == [("a",)]
    assert Job.objects.filter(status=JobStatus.QUEUED).runs() == [[4], [5], [6], [7]]


def test_a_bundle_left_unstarted_too_long_is_handed_back_whole(monkeypatch):
    unbundled.enqueue("a")
    bundle = bundle_of(1, 2)
    clock = iter([0.0, 0.0, queue.CLAIM_SECONDS])  # the bundle starts too late
    monkeypatch.setattr(queue.time, "monotonic", lambda: next(clock))

    assert queue.run_batch(50) == 1

    bundle.refresh_from_db()
    assert (bundle.status, bundle.attempts, bundle.runs) == (JobStatus.QUEUED, 0, [[1], [2]])


def test_a_bundle_whose_worker_died_is_queued_again_whole():
    bundle = bundle_of(1, 2)
    Job.objects.filter(pk=bundle.pk).update(
        status=JobStatus.RUNNING, attempts=1, locked_until=timezone.now() - timedelta(1)
    )
    assert queue.requeue_lost() == 1
    assert queue.run_batch(50) == 2
    assert calls == [[[1], [2]]]


# -- admins ----------------------------------------------------------------------------


def test_an_admin_sees_a_bundle_with_its_runs(api, ada, admin_client):
    bundle = bundle_of(1, 2)

    [listed] = api(ada).get("/jobs").json()
    assert (listed["id"], listed["bundle"], listed["args"]) == (bundle.pk, True, [[1], [2]])
    assert str(bundle) == f"tests.bundled (2 runs) #{bundle.pk}"
    page = admin_client.get("/admin/jobs/job/")
    assert page.status_code == 200
