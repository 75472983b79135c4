"""`soporte rebuild_rollups`: recompute the reports' daily rollups from every ticket, with
a progress bar on stderr (redrawn in place on a terminal, a line per 10 % otherwise)."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, OutputWrapper

from soporte.reports.rollups import rebuild


class Progress:
    def __init__(self, stream: OutputWrapper) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.started = time.monotonic()
        self.last_tenth = -1

    def __call__(self, done: int, total: int) -> None:
        fraction = done / total if total else 1.0
        if self.tty:
            filled = int(fraction * 30)
            bar = "#" * filled + "." * (30 - filled)
            elapsed = time.monotonic() - self.started
            self.stream.write(f"\r[{bar}] {done:,}/{total:,} tickets {elapsed:.0f} s", ending="")
            if done >= total:
                self.stream.write("")
            self.stream.flush()
        elif int(fraction * 10) > self.last_tenth:
            self.last_tenth = int(fraction * 10)
            self.stream.write(f"{done:,}/{total:,} tickets ({fraction:.0%})")
            self.stream.flush()


class Command(BaseCommand):
    help = "Recompute the reports' daily rollups from every ticket."

    def add_arguments(self, parser):
        parser.add_argument("--batch", type=int, default=1000, help="tickets read at a time")

    def handle(self, *args, batch: int, **options):
        rows = rebuild(batch=max(1, batch), progress=Progress(self.stderr))
        self.stdout.write(f"Rebuilt {rows:,} rollup rows.")
