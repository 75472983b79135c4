"""The Celery side of jobs (used only with a broker) and the jobs' own upkeep."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from .registry import job


@shared_task(name="soporte.jobs.run", acks_late=True, reject_on_worker_lost=True)
def run(job_id: int) -> str:
    """Run one recorded job (queued by its id after the commit)."""
    from .queue import run_job

    return run_job(job_id)


@shared_task(name="soporte.jobs.periodic")
def periodic(name: str) -> None:
    """What celery beat sends for each entry of soporte.celery.PERIODIC."""
    from .queue import run_periodic

    run_periodic(name)


@job("jobs.sweep")
def sweep() -> int:
    """Requeue jobs lost with a worker; with a broker, publish again what is overdue."""
    from .queue import publish_overdue, requeue_lost

    if settings.JOBS_MODE == "celery":
        return publish_overdue()
    return requeue_lost()


@job("jobs.purge")
def purge() -> int:
    from .queue import purge_finished

    return purge_finished(settings.JOBS_KEEP_DAYS)
