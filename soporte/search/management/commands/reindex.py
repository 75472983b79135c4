"""`soporte reindex`: rebuild the search index from every ticket and message."""

from __future__ import annotations

import sys
import time

from django.core.management.base import BaseCommand

from soporte.search.services import reindex


class Command(BaseCommand):
    help = "Rebuild the full-text search index (searches find less until it ends)."

    def handle(self, *args, **options):
        err = self.stderr
        start = time.perf_counter()
        last = 0.0
        tty = sys.stderr.isatty()

        def progress(done: int, expected: int) -> None:
            nonlocal last
            now = time.perf_counter()
            if now - last < 0.2 and done < expected:
                return
            last = now
            width = 30
            filled = int(width * done / expected) if expected else width
            rate = done / max(now - start, 1e-9)
            line = (
                f"[{'#' * filled}{'.' * (width - filled)}] {done:,}/{expected:,} "
                f"documents, {rate:,.0f}/s"
            )
            err.write("\r" + line if tty else line, ending="" if tty else "\n")
            err.flush()

        count = reindex(progress=progress)
        elapsed = time.perf_counter() - start
        if tty:
            err.write("")
        rate = count / elapsed if elapsed else 0.0
        self.stdout.write(f"Indexed {count:,} documents in {elapsed:.1f} s ({rate:,.0f}/s).")
