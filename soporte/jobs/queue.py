"""Record, run and retry background jobs.

A job is a row written in the transaction of the change that calls for it, so a change
is never committed without its jobs, nor a job queued for a change rolled back. What runs
it depends on settings.JOBS_MODE:

- "worker" (no broker): `soporte worker`, which `soporte run` starts, polls for due rows;
  a request only pays for one INSERT.
- "celery" (SOPORTE_BROKER_URL): after the commit the job's id is published to Celery;
  the periodic sweep publishes again what a lost message or a dead worker left behind.
- "eager" (tests): runs right after the commit, retries included, in the same process.

A run claims its row with a conditional UPDATE, so two workers never run a job twice;
jobs themselves are idempotent, so a worker killed mid-run only means one more run.
"""

from __future__ import annotations

import json
import logging
import random
import traceback
from datetime import timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from . import registry
from .models import Job, JobStatus

log = logging.getLogger(__name__)

MAX_BACKOFF = 3600.0


def enqueue(name: str, *args: Any, delay: float = 0) -> Job:
    """Record a run of job `name` with JSON-serialisable `args`, due after `delay` seconds;
    it runs once the surrounding transaction commits."""
    if registry.get(name) is None:
        raise LookupError(f"No background job is registered as {name!r}.")
    job = Job.objects.create(
        name=name, args=list(args), run_after=timezone.now() + timedelta(seconds=delay)
    )
    job_id = job.pk
    transaction.on_commit(lambda: dispatch(job_id, delay))
    return job


def dispatch(job_id: int, delay: float = 0) -> None:
    """Hand a committed job to whatever runs jobs in this mode."""
    mode = settings.JOBS_MODE
    if mode == "eager":
        run_eagerly(job_id)
    elif mode == "celery":
        from .tasks import run

        try:
            run.apply_async((job_id,), countdown=delay or None)
        except Exception:  # noqa: BLE001 - the row stays queued; the sweep publishes it again
            log.exception("Job %s could not be published; the sweep will retry", job_id)


def run_eagerly(job_id: int) -> str:
    """Run now, and each retry straight after the last (tests do not wait for backoff)."""
    while (outcome := run_job(job_id, due_only=False)) == "retry":
        pass
    return outcome


def run_job(job_id: int, *, due_only: bool = True) -> str:
    """Run one job: "done", "retry" (failed, queued again later), "failed", or "skipped"
    (not queued or not due, or claimed by another worker first).

    1. Claim: queued -> running with attempts + 1, only if nobody claimed it meanwhile.
    2. Run the function outside any transaction (it makes its own).
    3. Record the outcome; an error in `retry_on` with attempts left queues it again
       after an exponential, jittered backoff; anything else fails it for an admin to see.
    """
    job = _claim(job_id, due_only)
    if job is None:
        return "skipped"
    kind = registry.get(job.name)
    if kind is None or job.attempts > kind.max_attempts:
        why = "No such job in this version." if kind is None else "No attempts left."
        _finish(job, JobStatus.FAILED, error=why)
        return "failed"
    try:
        kind.func(*job.args)
    except Exception as error:  # noqa: BLE001 - recorded on the row, never lost
        described = _describe(error)
        if isinstance(error, kind.retry_on) and job.attempts < kind.max_attempts:
            wait = min(kind.backoff * 2 ** (job.attempts - 1), MAX_BACKOFF)
            wait *= random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not security
            log.warning("Job %s failed (attempt %s), retrying: %s", job, job.attempts, error)
            _requeue(job, wait, described)
            return "retry"
        log.exception("Job %s failed for good after %s attempts", job, job.attempts)
        _finish(job, JobStatus.FAILED, error=described)
        return "failed"
    _finish(job, JobStatus.DONE)
    return "done"


# Claim and read in one statement (SQLite >= 3.35 and PostgreSQL both have RETURNING).
# The claim lasts CLAIM_SECONDS; a job that may run longer says so in its `timeout`.
CLAIM_SQL = (
    "UPDATE jobs_job SET status = %s, attempts = attempts + 1, locked_until = %s "
    "WHERE id = %s AND status = %s{due} RETURNING name, args, attempts"
)
CLAIM_SECONDS = 600.0


def _claim(job_id: int, due_only: bool) -> Job | None:
    """queued -> running with one more attempt, if nobody claimed it first; the claimed
    job (name, args, attempts) or None."""
    now = timezone.now()
    params: list[Any] = [JobStatus.RUNNING, now + timedelta(seconds=CLAIM_SECONDS), job_id]
    params.append(JobStatus.QUEUED)
    sql = CLAIM_SQL.format(due=" AND run_after <= %s" if due_only else "")
    if due_only:
        params.append(now)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    name, args, attempts = row
    if isinstance(args, str):  # SQLite hands JSON back as text
        args = json.loads(args)
    job = Job(pk=job_id, name=name, args=args, attempts=attempts, status=JobStatus.RUNNING)
    kind = registry.get(name)
    if kind is not None and kind.timeout != CLAIM_SECONDS:
        Job.objects.filter(pk=job_id).update(locked_until=now + timedelta(seconds=kind.timeout))
    return job


def _requeue(job: Job, wait: float, error: str) -> None:
    Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING, attempts=job.attempts).update(
        status=JobStatus.QUEUED,
        run_after=timezone.now() + timedelta(seconds=wait),
        locked_until=None,
        last_error=error,
    )
    if settings.JOBS_MODE == "celery":
        dispatch(job.pk, wait)


def _finish(job: Job, status: str, *, error: str = "") -> None:
    row = Job.objects.filter(pk=job.pk, attempts=job.attempts, status=JobStatus.RUNNING)
    row.update(status=status, finished_at=timezone.now(), locked_until=None, last_error=error)


def _describe(error: BaseException) -> str:
    lines = traceback.format_exception(error)
    return "".join(lines[-6:])[-4000:]


def run_due(limit: int = 50) -> int:
    """Run the jobs that are due, oldest first; how many ran (done, retried or failed).
    (Jobs lost with a dead worker come back through the periodic jobs.sweep.)"""
    due = Job.objects.filter(status=JobStatus.QUEUED, run_after__lte=timezone.now())
    ids = list(due.order_by("run_after", "pk").values_list("pk", flat=True)[:limit])
    return sum(run_job(job_id) != "skipped" for job_id in ids)


def requeue_lost() -> int:
    """Queue again the jobs whose worker died mid-run (their claim expired)."""
    return Job.objects.filter(status=JobStatus.RUNNING, locked_until__lt=timezone.now()).update(
        status=JobStatus.QUEUED, locked_until=None, last_error="The worker running it stopped."
    )


def publish_overdue(grace: float = 60.0, limit: int = 1000) -> int:
    """Celery mode: publish again the queued jobs that should have run `grace` seconds
    ago (a publish lost to a broker outage, a message lost with a worker)."""
    requeue_lost()
    cutoff = timezone.now() - timedelta(seconds=grace)
    overdue = Job.objects.filter(status=JobStatus.QUEUED, run_after__lt=cutoff)
    ids = list(overdue.order_by("run_after").values_list("pk", flat=True)[:limit])
    for job_id in ids:
        dispatch(job_id)
    return len(ids)


def retry_failed(job_ids: list[int]) -> int:
    """Give failed jobs a fresh set of attempts (an admin's action)."""
    with transaction.atomic():
        ids = list(
            Job.objects.filter(pk__in=job_ids, status=JobStatus.FAILED).values_list("pk", flat=True)
        )
        Job.objects.filter(pk__in=ids).update(
            status=JobStatus.QUEUED, attempts=0, run_after=timezone.now(), finished_at=None
        )
        for job_id in ids:
            transaction.on_commit(partial(dispatch, job_id))
    return len(ids)


def purge_finished(days: int) -> int:
    """Forget jobs done more than `days` ago; failed ones stay until an admin acts."""
    cutoff = timezone.now() - timedelta(days=days)
    deleted, _ = Job.objects.filter(status=JobStatus.DONE, finished_at__lt=cutoff).delete()
    return deleted


def run_periodic(name: str) -> Any:
    """Run a periodic job in place (periodic jobs are sweeps: idempotent, no retries)."""
    kind = registry.get(name)
    if kind is None:
        raise LookupError(f"No background job is registered as {name!r}.")
    return kind.func()
