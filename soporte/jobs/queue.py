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
The runs of a batched job recorded in one buffered block share a row, a bundle (fewer
rows to write, claim and finish); each of its runs keeps its own outcome.
"""

from __future__ import annotations

import json
import logging
import random
import time
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta
from functools import partial
from typing import Any, NamedTuple

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from soporte.lib.db import insert_row, insert_rows

from . import registry
from .models import Job, JobStatus, runs_sql

log = logging.getLogger(__name__)

MAX_BACKOFF = 3600.0


def enqueue(name: str, *args: Any, delay: float = 0) -> Job | None:
    """Record a run of job `name` with JSON-serialisable `args`, due after `delay` seconds;
    it runs once the surrounding transaction commits; the row written. Inside
    `buffered_jobs()` the run is only kept in memory and written with the others when
    that block ends (None then: its row may be a bundle, made at the end)."""
    if registry.get(name) is None:
        raise LookupError(f"No background job is registered as {name!r}.")
    run_after = timezone.now() + timedelta(seconds=delay)
    buffer = _buffer.get()
    if buffer is not None:
        buffer.append(Buffered(name, list(args), delay, run_after))
        return None
    job = Job(name=name, args=list(args), run_after=run_after)
    insert_row(job)  # nobody listens to a job's save: the cheap statement
    if settings.JOBS_MODE != "worker":  # a worker polls for due rows: nothing to hand over
        job_id = job.pk
        transaction.on_commit(lambda: dispatch(job_id, delay))
    return job


class Buffered(NamedTuple):
    """A run recorded inside buffered_jobs(), not written yet (no model instance: most
    end up in a bundle, the one row made for them at the end)."""

    name: str
    args: list
    delay: float
    run_after: datetime


# Set by buffered_jobs(): the runs recorded meanwhile, not yet written.
_buffer: ContextVar[list[Buffered] | None] = ContextVar("jobs_buffer", default=None)


@contextmanager
def buffered_jobs() -> Iterator[list[Buffered]]:
    """Jobs enqueued inside are written in one INSERT when the block ends without an
    error (a batch of work in one transaction: many rows, one statement); the runs of a
    batched kind due now share one row (a bundle), and identical runs (same name and
    arguments, no delay) are recorded once, as jobs are idempotent. The caller may drop
    the tail of the yielded list when the work that queued it is rolled back (a
    savepoint). Must run inside the transaction whose change calls for them."""
    buffer: list[Buffered] = []
    token = _buffer.set(buffer)
    try:
        yield buffer
    finally:
        _buffer.reset(token)
    flush_jobs(buffer)


# At most this many runs in one bundle (more if the kind asks for larger batches), so
# that a bundle stays a batch one call of its function handles well.
BUNDLE_RUNS = 50


def flush_jobs(jobs: list[Buffered]) -> None:
    """Write buffered jobs in one statement and dispatch each row after the commit."""
    rows = _bundled(jobs)
    if not rows:
        return
    insert_rows([job for job, _delay in rows])
    if settings.JOBS_MODE == "worker":
        return  # the worker polls for due rows: nothing to hand over
    for job, delay in rows:
        transaction.on_commit(partial(dispatch, job.pk, delay))


def _bundled(jobs: list[Buffered]) -> list[tuple[Job, float]]:
    """The rows to write for buffered runs: identical runs due now once; the runs of a
    batched kind due now in bundles (rows whose args are the runs' argument lists),
    where its first run was recorded."""
    rows: dict[tuple, tuple[Job, float]] = {}  # in the order recorded
    seen: set[tuple[str, str]] = set()
    batched: dict[str, list[list]] = {}  # kind -> its runs due now
    for position, buffered in enumerate(jobs):
        name, args, delay, run_after = buffered
        if delay:
            rows["delayed", position] = (Job(name=name, args=args, run_after=run_after), delay)
            continue
        run = (name, json.dumps(args, sort_keys=True))
        if run in seen:
            continue
        seen.add(run)
        kind = registry.get(name)
        if kind is None or not kind.batched:
            rows["run", run] = (Job(name=name, args=args, run_after=run_after), delay)
        elif name in batched:
            batched[name].append(args)
        else:
            rows["batched", name] = (Job(name=name, args=args, run_after=run_after), delay)
            batched[name] = [args]
    written: list[tuple[Job, float]] = []
    for key, (job, delay) in rows.items():
        if key[0] == "batched":
            written += [(bundle, 0.0) for bundle in _bundles(job, batched[job.name])]
        else:
            written.append((job, delay))
    return written


def _bundles(first: Job, runs: list[list]) -> list[Job]:
    """The rows for a batched kind's runs (`first` the first of them): a bundle each of
    up to BUNDLE_RUNS runs (or the kind's batch_size); a lone run a row of its own."""
    if len(runs) == 1:
        return [first]
    kind = registry.get(first.name)
    size = max(kind.batch_size if kind else 0, BUNDLE_RUNS)
    rows = []
    for start in range(0, len(runs), size):
        chunk = runs[start : start + size]
        bundle = len(chunk) > 1
        args = chunk if bundle else chunk[0]
        rows.append(Job(name=first.name, args=args, bundle=bundle, run_after=first.run_after))
    return rows


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
    2. Run the function outside any transaction (it makes its own); a bundle's runs in
       one call.
    3. Record the outcome; an error in `retry_on` with attempts left queues it again
       after an exponential, jittered backoff; anything else fails it for an admin to
       see. A bundle is done once its runs ran: a run that failed becomes a row of its
       own, queued again or failed (see _split_off).
    """
    job = _claim(job_id, due_only)
    if job is None:
        return "skipped"
    outcome = _execute(job)
    if outcome == "done":
        _finish(job, JobStatus.DONE)
    return outcome


def _runnable(job: Job) -> registry.JobKind | None:
    """The job's kind, or None after failing the job when it cannot run."""
    kind = registry.get(job.name)
    if kind is None or job.attempts > kind.max_attempts:
        why = "No such job in this version." if kind is None else "No attempts left."
        _finish(job, JobStatus.FAILED, error=why)
        return None
    return kind


def _execute(job: Job) -> str:
    """Run a claimed job; "done" (left for the caller to record), or "retry" or "failed"
    (recorded here)."""
    kind = _runnable(job)
    if kind is None:
        return "failed"
    [outcome] = _run_rows(kind, [job])
    return outcome


def _run_rows(kind: registry.JobKind, rows: list[Job]) -> list[str]:
    """Run claimed rows of one kind, all their runs in one call if the kind is batched;
    each row's outcome: "done" (left for the caller to record), or "retry" or "failed"
    (recorded here)."""
    errors = iter(_run_all(kind, [args for row in rows for args in row.runs]))
    return [_settle(row, kind, [next(errors) for _run in row.runs]) for row in rows]


def _run_all(kind: registry.JobKind, calls: list[list]) -> list[Exception | None]:
    """Each run's error (None: it went well). A batched kind's runs go in one call, which
    may answer a run with the error it should retry on; should the call fail, each run
    goes alone, with its own outcome."""
    if kind.batched and len(calls) > 1:
        try:
            answers = kind.func(calls) or [None] * len(calls)
        except Exception:  # noqa: BLE001 - each runs alone next, recording its own error
            log.warning(
                "A batch of %s %s runs failed; running them one by one", len(calls), kind.name
            )
        else:
            return [
                answer if isinstance(answer, Exception) else None
                for _args, answer in zip(calls, answers, strict=True)
            ]
    return [_run_alone(kind, args) for args in calls]


def _run_alone(kind: registry.JobKind, args: list) -> Exception | None:
    try:
        kind(*args)
    except Exception as error:  # noqa: BLE001 - recorded on the row, never lost
        return error
    return None


def _settle(job: Job, kind: registry.JobKind, errors: list[Exception | None]) -> str:
    """Record what went wrong in a row's runs; "done" when nothing did, or when the row
    is a bundle (its failed runs carry on as rows of their own)."""
    failed = [
        (args, error) for args, error in zip(job.runs, errors, strict=True) if error is not None
    ]
    if not failed:
        return "done"
    if job.bundle:
        _split_off(job, kind, failed)
        return "done"
    return _failed(job, kind, failed[0][1])


def _failed(job: Job, kind: registry.JobKind, error: Exception) -> str:
    """An error in `retry_on` with attempts left queues the job again after an
    exponential, jittered backoff; anything else fails it for an admin to see."""
    wait = _retry_wait(kind, job.attempts, error)
    if wait is None:
        log.exception("Job %s failed for good after %s attempts", job, job.attempts, exc_info=error)
        _finish(job, JobStatus.FAILED, error=_describe(error))
        return "failed"
    log.warning("Job %s failed (attempt %s), retrying: %s", job, job.attempts, error)
    _requeue(job, wait, _describe(error))
    return "retry"


def _retry_wait(kind: registry.JobKind, attempts: int, error: Exception) -> float | None:
    """Seconds to wait before another attempt after `error` ended attempt `attempts`; None
    when there is none (an error not in `retry_on`, or no attempts left)."""
    if not isinstance(error, kind.retry_on) or attempts >= kind.max_attempts:
        return None
    wait = min(kind.backoff * 2 ** (attempts - 1), MAX_BACKOFF)
    return wait * random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not security


def _split_off(bundle: Job, kind: registry.JobKind, failed: list[tuple[list, Exception]]) -> None:
    """A bundle's failed runs become rows of their own, with the bundle's attempts: queued
    again after a backoff while attempts are left, else failed for an admin to see (and
    run again). The bundle itself is done: its other runs are."""
    now = timezone.now()
    split: list[tuple[Job, float | None]] = []
    for args, error in failed:
        wait = _retry_wait(kind, bundle.attempts, error)
        job = Job(name=bundle.name, args=args, attempts=bundle.attempts, run_after=now)
        job.last_error = _describe(error)
        if wait is None:
            log.exception("Job %s run %r failed for good", bundle, args, exc_info=error)
            job.status, job.finished_at = JobStatus.FAILED, now
        else:
            log.warning("Job %s run %r failed, retrying alone: %s", bundle, args, error)
            job.run_after = now + timedelta(seconds=wait)
        split.append((job, wait))
    insert_rows([job for job, _wait in split])
    if settings.JOBS_MODE == "worker":
        return
    for job, wait in split:
        if wait is not None:
            transaction.on_commit(partial(dispatch, job.pk, wait))


# Claim and read in one statement (SQLite >= 3.35 and PostgreSQL both have RETURNING).
# The claim lasts CLAIM_SECONDS; a job that may run longer says so in its `timeout`.
CLAIM_SQL = (
    "UPDATE jobs_job SET status = %s, attempts = attempts + 1, locked_until = %s "
    "WHERE id = %s AND status = %s{due} RETURNING name, args, attempts, bundle"
)
CLAIM_SECONDS = 600.0


def _claim(job_id: int, due_only: bool) -> Job | None:
    """queued -> running with one more attempt, if nobody claimed it first; the claimed
    job (name, args, attempts, bundle) or None."""
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
    job = _claimed(job_id, *row)
    kind = registry.get(job.name)
    if kind is not None and kind.timeout != CLAIM_SECONDS:
        Job.objects.filter(pk=job_id).update(locked_until=now + timedelta(seconds=kind.timeout))
    return job


def _claimed(job_id: int, name: str, args: Any, attempts: int, bundle: Any) -> Job:
    """The Job a claim's RETURNING row describes."""
    if isinstance(args, str):  # SQLite hands JSON back as text
        args = json.loads(args)
    return Job(
        pk=job_id,
        name=name,
        args=args,
        attempts=attempts,
        bundle=bool(bundle),  # SQLite: 0 or 1
        status=JobStatus.RUNNING,
    )


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
    """Run the jobs that are due, oldest first, up to about `limit` runs; how many ran
    (done, retried or failed). (Jobs lost with a dead worker come back through the
    periodic jobs.sweep.)"""
    return run_batch(limit)


# Claim a batch in one statement: pick the oldest queued rows until they hold `limit`
# runs (a bundle counts its runs; the last row picked may go beyond), claim those still
# queued. The runs before each row are a running sum over at most `limit` rows.
# On SQLite, "+status" keeps the claim from walking the job_due index through every
# queued row to find the few picked (it finds them by id). On PostgreSQL the pick is a
# materialized CTE (an IN subquery with LIMIT may be run again, claiming more) that
# skips rows another worker is claiming right now. {runs}: models.runs_sql().
BATCH_CLAIM_SQL = (
    "UPDATE jobs_job SET status = %s, attempts = attempts + 1, locked_until = %s "
    "WHERE +status = %s AND id IN (SELECT id FROM ("
    "SELECT id, SUM(runs) OVER (ORDER BY run_after, id) - runs AS before FROM ("
    "SELECT id, run_after, {runs} AS runs "
    "FROM jobs_job WHERE status = %s{filters} ORDER BY run_after, id LIMIT %s)"
    ") WHERE before < %s) RETURNING id, name, args, attempts, bundle"
)
BATCH_CLAIM_SQL_POSTGRES = (
    "WITH picked AS MATERIALIZED (SELECT id, run_after, "
    "{runs} AS runs "
    "FROM jobs_job WHERE status = %s{filters} "
    "ORDER BY run_after, id LIMIT %s FOR UPDATE SKIP LOCKED), "
    "counted AS (SELECT id, SUM(runs) OVER (ORDER BY run_after, id) - runs AS before "
    "FROM picked) "
    "UPDATE jobs_job SET status = %s, attempts = attempts + 1, locked_until = %s "
    "FROM counted WHERE jobs_job.id = counted.id AND counted.before < %s "
    "AND jobs_job.status = %s RETURNING jobs_job.id, jobs_job.name, jobs_job.args, "
    "jobs_job.attempts, jobs_job.bundle"
)


def run_batch(limit: int = 50, *, due_only: bool = True, names: Sequence[str] = ()) -> int:
    """Claim queued jobs holding about `limit` runs (due ones, of these `names` if given)
    in one statement and run them, oldest first; how many runs ran (done, retried or
    failed).

    1. The runs of a batched kind run together, in one call, where the first of them
       stands (a bundle's runs among them); should that call fail, each runs on its own,
       with its own outcome.
    2. Jobs not started when half a claim's time has passed are handed back, queued as
       they were, so that a slow batch never outlives its claims.
    3. Done jobs are recorded in one statement at the end; a worker killed before it
       leaves them to run once more (jobs are idempotent) once their claims expire.
    """
    claimed = _claim_batch(limit, due_only, names)
    claimed += _claim_more(claimed, due_only)
    started = time.monotonic()
    done: list[Job] = []
    ran = 0
    try:
        while claimed:
            if time.monotonic() - started > CLAIM_SECONDS / 2:
                _release(claimed)
                break
            job = claimed.pop(0)
            kind = registry.get(job.name)
            if kind is not None and kind.batched and job.attempts <= kind.max_attempts:
                group = [job, *(j for j in claimed if j.name == job.name)]
                group = [j for j in group if j.attempts <= kind.max_attempts]
                claimed = [j for j in claimed if not any(j is g for g in group)]
                ran += sum(len(j.runs) for j in group)
                outcomes = _run_rows(kind, group)
                done += [j for j, outcome in zip(group, outcomes, strict=True) if outcome == "done"]
                continue
            ran += len(job.runs)
            if _execute(job) == "done":
                done.append(job)
    finally:
        _finish_done(done)
    return ran


def _claim_more(claimed: list[Job], due_only: bool) -> list[Job]:
    """More runs of the batched kinds in `claimed` that ask for larger batches
    (JobKind.batch_size), so that their fixed cost is shared by more runs."""
    counts: dict[str, int] = {}
    for job in claimed:
        counts[job.name] = counts.get(job.name, 0) + len(job.runs)
    more: list[Job] = []
    for name, count in counts.items():
        kind = registry.get(name)
        if kind is not None and kind.batched and kind.batch_size > count:
            more += _claim_batch(kind.batch_size - count, due_only, [name])
    return more


def _claim_batch(limit: int, due_only: bool, names: Sequence[str]) -> list[Job]:
    now = timezone.now()
    claim: list[Any] = [JobStatus.RUNNING, now + timedelta(seconds=CLAIM_SECONDS)]
    pick: list[Any] = [JobStatus.QUEUED]
    filters = ""
    if due_only:
        filters += " AND run_after <= %s"
        pick.append(now)
    if names:
        filters += f" AND name IN ({', '.join(['%s'] * len(names))})"
        pick += list(names)
    pick.append(limit)
    if connection.vendor == "postgresql":
        sql = BATCH_CLAIM_SQL_POSTGRES.format(filters=filters, runs=runs_sql(connection.vendor))
        params = [*pick, *claim, limit, JobStatus.QUEUED]
    else:
        sql = BATCH_CLAIM_SQL.format(filters=filters, runs=runs_sql(connection.vendor))
        params = [*claim, JobStatus.QUEUED, *pick, limit]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    jobs = []
    longer: dict[float, list[int]] = {}
    for job_id, *row in sorted(rows):
        job = _claimed(job_id, *row)
        jobs.append(job)
        kind = registry.get(job.name)
        if kind is not None and kind.timeout != CLAIM_SECONDS:
            longer.setdefault(kind.timeout, []).append(job_id)
    for timeout, ids in longer.items():
        Job.objects.filter(pk__in=ids).update(locked_until=now + timedelta(seconds=timeout))
    return jobs


def _release(jobs: list[Job]) -> None:
    """Hand claimed jobs back unrun: queued, with the attempt they were claimed with."""
    for job in jobs:
        Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING, attempts=job.attempts).update(
            status=JobStatus.QUEUED, attempts=job.attempts - 1, locked_until=None
        )


# Done jobs of one attempt count, those still claimed by that attempt: a prepared
# statement, as the worker writes one after each batch.
FINISH_DONE_SQL = (
    "UPDATE jobs_job SET status = %s, finished_at = %s, locked_until = NULL, last_error = '' "
    "WHERE status = %s AND attempts = %s AND id IN ({ids})"
)


def _finish_done(jobs: list[Job]) -> None:
    """Record jobs done: one statement per attempt count (nearly always one)."""
    by_attempts: dict[int, list[int]] = {}
    for job in jobs:
        by_attempts.setdefault(job.attempts, []).append(job.pk)
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        for attempts, ids in by_attempts.items():
            sql = FINISH_DONE_SQL.format(ids=", ".join(["%s"] * len(ids)))
            cursor.execute(sql, [JobStatus.DONE, now, JobStatus.RUNNING, attempts, *ids])


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
