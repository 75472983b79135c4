"""Background jobs: recorded with their change, run once, retried, visible when failed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from soporte.jobs import queue
from soporte.jobs.models import Job, JobStatus
from soporte.jobs.registry import job
from soporte.jobs.worker import Worker

pytestmark = pytest.mark.django_db

calls: list[tuple] = []
failures = {"left": 0}


@job("tests.record")
def record(*args) -> None:
    calls.append(args)


@job("tests.flaky", max_attempts=3, retry_on=(OSError,), backoff=0.01)
def flaky(label: str) -> None:
    calls.append((label,))
    if failures["left"]:
        failures["left"] -= 1
        raise ConnectionRefusedError("the server is down")


@job("tests.broken", retry_on=(OSError,))
def broken() -> None:
    raise ValueError("a bug, not a hiccup")


@pytest.fixture(autouse=True)
def _fresh():
    calls.clear()
    failures["left"] = 0


def test_a_job_runs_only_once_its_change_is_committed(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        record.enqueue(1, "a")
        assert calls == []  # not before the commit
    assert calls == [(1, "a")]
    assert Job.objects.get().status == JobStatus.DONE


def test_a_rolled_back_change_leaves_no_job(django_capture_on_commit_callbacks):
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        record.enqueue(1)
        raise RuntimeError("the change failed")
    assert calls == []
    assert not Job.objects.exists()


def test_an_unknown_job_name_is_refused_when_queued():
    with pytest.raises(LookupError, match="tests.nothing"):
        queue.enqueue("tests.nothing")


def test_a_hiccup_is_retried_until_it_works(django_capture_on_commit_callbacks):
    failures["left"] = 2
    with django_capture_on_commit_callbacks(execute=True):
        flaky.enqueue("x")
    done = Job.objects.get()
    assert (done.status, done.attempts) == (JobStatus.DONE, 3)
    assert calls == [("x",)] * 3


def test_a_job_that_keeps_failing_is_failed_with_its_error(django_capture_on_commit_callbacks):
    failures["left"] = 10
    with django_capture_on_commit_callbacks(execute=True):
        flaky.enqueue("x")
    failed = Job.objects.get()
    assert (failed.status, failed.attempts) == (JobStatus.FAILED, 3)
    assert "ConnectionRefusedError: the server is down" in failed.last_error
    assert failed.finished_at is not None


def test_an_error_not_worth_retrying_fails_the_job_at_once(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        broken.enqueue()
    failed = Job.objects.get()
    assert (failed.status, failed.attempts) == (JobStatus.FAILED, 1)
    assert "ValueError: a bug, not a hiccup" in failed.last_error


def test_a_job_claimed_by_one_run_is_skipped_by_another(settings):
    settings.JOBS_MODE = "worker"
    record.enqueue(7)
    queued = Job.objects.get()
    # Another worker claimed it first.
    Job.objects.filter(pk=queued.pk).update(status=JobStatus.RUNNING, attempts=1)
    assert queue.run_job(queued.pk) == "skipped"
    assert calls == []


class TestWorkerMode:
    @pytest.fixture(autouse=True)
    def _worker_mode(self, settings):
        settings.JOBS_MODE = "worker"

    def test_the_request_only_records_the_job_and_the_worker_runs_it(self):
        record.enqueue(1)
        assert calls == []
        assert Worker({}).step() == 1
        assert calls == [(1,)]
        assert Worker({}).step() == 0

    def test_a_delayed_job_waits_for_its_time(self):
        record.enqueue(2, delay=3600)
        assert Worker({}).step() == 0
        Job.objects.update(run_after=timezone.now() - timedelta(seconds=1))
        assert Worker({}).step() == 1
        assert calls == [(2,)]

    def test_a_retry_waits_for_its_backoff(self):
        failures["left"] = 1
        flaky.enqueue("y")
        worker = Worker({})
        worker.step()
        retried = Job.objects.get()
        assert (retried.status, retried.attempts) == (JobStatus.QUEUED, 1)
        assert retried.run_after > timezone.now() - timedelta(seconds=1)
        Job.objects.update(run_after=timezone.now())
        worker.step()
        assert Job.objects.get().status == JobStatus.DONE

    def test_a_job_whose_worker_died_runs_again(self):
        record.enqueue(3)
        # A worker claimed it and was killed: its claim expired.
        Job.objects.update(
            status=JobStatus.RUNNING, attempts=1, locked_until=timezone.now() - timedelta(1)
        )
        assert Worker({}).step() == 0  # not until the sweep finds it
        Worker({"jobs.sweep": 60}).step()
        done = Job.objects.get()
        assert (done.status, done.attempts) == (JobStatus.DONE, 2)
        assert calls == [(3,)]

    def test_the_worker_runs_periodic_jobs_at_their_interval(self):
        worker = Worker({"tests.record": 3600})
        worker.step()
        worker.step()
        assert calls == [()]

    def test_a_failing_periodic_job_does_not_stop_the_others(self, caplog):
        worker = Worker({"tests.broken": 60, "tests.record": 60})
        worker.step()
        assert calls == [()]
        assert "Periodic job tests.broken failed" in caplog.text


def test_old_finished_jobs_are_purged_and_failed_ones_kept():
    old = timezone.now() - timedelta(days=8)
    Job.objects.create(name="tests.record", status=JobStatus.DONE, finished_at=old)
    Job.objects.create(name="tests.record", status=JobStatus.DONE, finished_at=timezone.now())
    Job.objects.create(name="tests.broken", status=JobStatus.FAILED, finished_at=old)
    assert queue.purge_finished(7) == 1
    assert sorted(Job.objects.values_list("status", flat=True)) == ["done", "failed"]


# -- admins see failed jobs and run them again ---------------------------------------


@pytest.fixture
def failed_job(django_capture_on_commit_callbacks) -> Job:
    with django_capture_on_commit_callbacks(execute=True):
        broken.enqueue()
    return Job.objects.get()


def test_an_admin_lists_failed_jobs_with_their_error(api, ada, failed_job):
    response = api(ada).get("/jobs?status=failed")
    assert response.status_code == 200
    [listed] = response.json()
    assert listed["id"] == failed_job.pk
    assert listed["name"] == "tests.broken"
    assert "a bug, not a hiccup" in listed["last_error"]


def test_an_admin_runs_a_failed_job_again(api, ada, failed_job, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api(ada).post(f"/jobs/{failed_job.pk}/retry")
    assert response.status_code == 200, response.content
    # It fails again (the bug is still there), with a fresh count of attempts.
    again = Job.objects.get()
    assert (again.status, again.attempts) == (JobStatus.FAILED, 1)


def test_only_a_failed_job_can_be_run_again(api, ada, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        record.enqueue()
    done = Job.objects.get()
    response = api(ada).post(f"/jobs/{done.pk}/retry")
    assert response.status_code == 409
    assert "Only a failed job" in response.json()["detail"]
    assert api(ada).post("/jobs/999999/retry").status_code == 404


def test_agents_do_not_see_jobs(api, alice, failed_job):
    assert api(alice).get("/jobs").status_code == 403
    assert api(alice).post(f"/jobs/{failed_job.pk}/retry").status_code == 403
    assert Job.objects.get().status == JobStatus.FAILED
