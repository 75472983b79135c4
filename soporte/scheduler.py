"""Periodic jobs without a broker: one daemon thread beside the web server runs each
entry of the Celery beat schedule at its interval. With SOPORTE_BROKER_URL set, run
`celery -A soporte beat` instead."""

from __future__ import annotations

import logging
import threading
import time

from django.db import close_old_connections

log = logging.getLogger(__name__)


class EmbeddedScheduler(threading.Thread):
    def __init__(self, schedule: dict[str, dict], tick: float = 1.0):
        super().__init__(name="soporte-scheduler", daemon=True)
        self.entries = [
            (name, entry["task"], float(entry["schedule"])) for name, entry in schedule.items()
        ]
        self.tick = tick
        self.stopping = threading.Event()

    def run(self) -> None:
        from soporte.celery import app

        app.loader.import_default_modules()  # every area's tasks.py
        due = {name: time.monotonic() for name, _task, _every in self.entries}
        while not self.stopping.wait(self.tick):
            now = time.monotonic()
            for name, task, every in self.entries:
                if now < due[name]:
                    continue
                due[name] = now + every
                try:
                    close_old_connections()
                    app.tasks[task].apply()
                except Exception:  # noqa: BLE001 - one failing job must not stop the others
                    log.exception("Periodic job %s failed", name)
                finally:
                    close_old_connections()

    def stop(self) -> None:
        self.stopping.set()
