"""`soporte run`: migrate, load the demo on first start, print the logins, serve."""

from __future__ import annotations

import atexit
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Prepare the database and serve Soporte with gunicorn."

    def add_arguments(self, parser):
        parser.add_argument("--bind", default="127.0.0.1:8000", help="host:port to listen on")
        parser.add_argument("--workers", type=int, default=2)
        parser.add_argument("--no-demo", action="store_true", help="do not load demo data")

    def handle(self, *args, bind: str, workers: int, no_demo: bool, **options):
        Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
        call_command("migrate", interactive=False, verbosity=0)
        if not no_demo:
            call_command("demo", stdout=self.stdout)
        self.stdout.write(f"Serving on http://{bind}  (API docs: http://{bind}/api/docs)")
        self.stdout.flush()
        try:
            from gunicorn.app.wsgiapp import run as gunicorn_run
        except ImportError as error:
            raise CommandError("gunicorn is not installed: pip install gunicorn") from error
        sys.argv = [
            "gunicorn",
            "soporte.wsgi:application",
            "--bind", bind,
            "--workers", str(workers),
            "--threads", "4",
            "--access-logfile", "-",
        ]  # fmt: skip
        if settings.JOBS_MODE == "worker":
            # No broker: one worker beside the web server runs the jobs and periodic jobs.
            worker = subprocess.Popen([sys.executable, "-m", "soporte", "worker"])
            atexit.register(worker.terminate)
        gunicorn_run()
