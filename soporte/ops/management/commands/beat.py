"""`soporte beat`: the periodic scheduler when jobs go through a broker (Celery beat).
Run exactly one per site. Without a broker, `soporte worker` schedules them itself."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Run Celery beat, the scheduler of the periodic jobs (with SOPORTE_BROKER_URL)."

    def handle(self, *args, **options):
        if settings.JOBS_MODE != "celery":
            raise CommandError(
                "No broker is configured (SOPORTE_BROKER_URL): `soporte worker` runs the "
                "periodic jobs itself, no beat is needed."
            )
        from soporte.celery import app

        schedule = f"{settings.VAR_DIR}/celerybeat-schedule"
        app.start(["beat", "--loglevel", "INFO", "--schedule", schedule])
