"""`soporte worker`: run background jobs and the periodic ones without a broker."""

from __future__ import annotations

import signal

from django.conf import settings
from django.core.management.base import BaseCommand

from soporte.jobs.worker import Worker


class Command(BaseCommand):
    help = "Run queued background jobs and the periodic jobs (when no broker is configured)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-periodic",
            action="store_true",
            help="only run queued jobs (one worker per site runs the periodic ones)",
        )

    def handle(self, *args, no_periodic: bool, **options):
        if settings.JOBS_MODE == "celery":
            # With a broker the workers are Celery's (and `soporte beat` schedules).
            from soporte.celery import app

            app.start(["worker", "--loglevel", "INFO"])
            return
        from soporte.celery import PERIODIC
        from soporte.lib.startup import settle

        settle()  # a long-lived process: what start-up made is set aside from collections
        worker = Worker({} if no_periodic else PERIODIC)
        signal.signal(signal.SIGTERM, lambda *_: worker.stop())
        signal.signal(signal.SIGINT, lambda *_: worker.stop())
        self.stdout.write(f"Worker running ({len(worker.periodic)} periodic jobs).")
        self.stdout.flush()
        worker.run()
        self.stdout.write("Worker stopped.")
