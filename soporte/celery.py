"""The Celery app, used when SOPORTE_BROKER_URL is set (soporte/jobs/queue.py says how
jobs run without one)."""

from __future__ import annotations

import os

from celery import Celery
from celery.signals import worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "soporte.settings")

app = Celery("soporte")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def _settle(**kwargs) -> None:
    """Each worker process, once started, as `soporte worker` and the web workers do."""
    from soporte.lib.startup import settle

    settle()


# Every periodic job and its interval in seconds, in one place: celery beat runs them with
# a broker, `soporte worker` without one.
PERIODIC = {
    "mail.poll_mailboxes": 60.0,
    # Mail stored while nothing processed it (crash, restart) is picked up again.
    "mail.process_pending": 300.0,
    "sla.watch": 30.0,
    "sla.timed_rules": 300.0,
    "jobs.sweep": 60.0,
    "jobs.purge": 3600.0,
    # Machines the inventory agent stopped reporting; maintenance tickets coming due.
    "assets.flag_stale": 3600.0,
    "assets.open_maintenance": 3600.0,
    "kb.review_reminders": 3600.0,
    "problems.poll_bugs": 900.0,  # bug states whose tracker webhook never came
    "triage.train": 86400.0,  # a new triage model from the day's tickets
    "triage.embed_missing": 3600.0,  # sentence vectors for tickets with none (soporte[semantic])
    "reports.weekly": 3600.0,  # last week's report to supervisors, once per ISO week
    # Days changed since the dashboard last read them, folded into its coarse tables.
    "reports.refresh_projections": 60.0,
}

app.conf.beat_schedule = {
    name: {"task": "soporte.jobs.periodic", "args": (name,), "schedule": every}
    for name, every in PERIODIC.items()
}
