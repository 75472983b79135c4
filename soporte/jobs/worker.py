"""`soporte worker`: runs queued jobs and the periodic ones, without a broker. Several
may run at once (each claims its jobs); `soporte run` starts one beside the web server."""

from __future__ import annotations

import logging
import threading
import time

from django.db import close_old_connections

from .queue import run_batch, run_periodic

log = logging.getLogger(__name__)


class Worker:
    def __init__(self, periodic: dict[str, float], *, idle: float = 0.5, batch: int = 50):
        self.periodic = dict(periodic)
        self.idle = idle
        self.batch = batch
        self.stopping = threading.Event()
        self._due = {name: time.monotonic() for name in self.periodic}

    def run(self) -> None:
        while not self.stopping.is_set():
            close_old_connections()  # a long-lived process: drop broken or old connections
            ran = self.step()
            if not ran:
                self.stopping.wait(self.idle)
        close_old_connections()

    def step(self) -> int:
        """One pass: the periodic jobs whose time has come, then a batch of due jobs
        (claimed in one statement: queue.run_batch)."""
        ran = 0
        try:
            now = time.monotonic()
            for name, every in self.periodic.items():
                if now >= self._due[name]:
                    self._due[name] = now + every
                    ran += self._periodic(name)
            ran += run_batch(self.batch)
        except Exception:  # noqa: BLE001 - a database hiccup must not stop the worker
            log.exception("Worker pass failed; trying again")
            self.stopping.wait(self.idle)
        return ran

    def _periodic(self, name: str) -> int:
        try:
            run_periodic(name)
        except Exception:  # noqa: BLE001 - one failing periodic job must not stop the others
            log.exception("Periodic job %s failed", name)
        return 1

    def stop(self) -> None:
        self.stopping.set()
