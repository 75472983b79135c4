"""The Celery app. With no SOPORTE_BROKER_URL, tasks run eagerly in-process and
`soporte run` runs the periodic jobs below itself (soporte/scheduler.py)."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "soporte.settings")

app = Celery("soporte")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Every periodic job, in one place: celery beat runs them with a broker, the embedded
# scheduler without one.
app.conf.beat_schedule = {
    "mail.poll_mailboxes": {"task": "soporte.mail.tasks.poll_mailboxes", "schedule": 60.0},
    # Mail stored while no worker ran (broker down, crash) is picked up again.
    "mail.process_pending": {"task": "soporte.mail.tasks.process_pending", "schedule": 300.0},
}
