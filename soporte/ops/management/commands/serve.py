"""`soporte serve`: the web processes for production, under gunicorn.

Unlike `soporte run` (a try-out: migrates, loads the demo, starts a worker), it serves
only: migrations, workers and the scheduler are run on their own (deploy/ has systemd
units). Several processes share Prometheus metrics through PROMETHEUS_MULTIPROC_DIR.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand


def default_workers() -> int:
    # gunicorn's advice for sync workers: 2 x cores + 1, capped so a big host's share of
    # database connections stays sane.
    return min(2 * (os.cpu_count() or 1) + 1, 12)


class Command(BaseCommand):
    help = "Serve Soporte with gunicorn for production (no migrations, no demo data)."

    def add_arguments(self, parser):
        parser.add_argument("--bind", default="127.0.0.1:8000", help="host:port or unix:PATH")
        parser.add_argument("--workers", type=int, default=default_workers())
        parser.add_argument("--threads", type=int, default=4, help="threads per worker")
        parser.add_argument(
            "--timeout", type=int, default=30, help="seconds before a stuck worker is restarted"
        )

    def handle(self, *args, bind: str, workers: int, threads: int, timeout: int, **options):
        metrics_dir = Path(settings.VAR_DIR) / "prometheus"
        # A fresh folder each start: old processes' files would count twice.
        shutil.rmtree(metrics_dir, ignore_errors=True)
        metrics_dir.mkdir(parents=True, exist_ok=True)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
        argv = [
            sys.executable, "-m", "gunicorn",
            "soporte.wsgi:application",
            "--bind", bind,
            "--workers", str(max(1, workers)),
            "--threads", str(max(1, threads)),
            "--timeout", str(timeout),
            "--graceful-timeout", str(timeout),
            "--keep-alive", "5",
            "--max-requests", "10000",
            "--max-requests-jitter", "1000",
            "--access-logfile", "-",
            "--config", "python:soporte.ops.gunicorn_conf",
        ]  # fmt: skip
        self.stdout.flush()
        # A new process image: prometheus_client picks its multi-process mode when first
        # imported, and this one imported it already (the URL checks load /metrics).
        os.execv(sys.executable, argv)  # noqa: S606
