"""`soporte import django-helpdesk --database-url URL [--media-root DIR]`: bring a
django-helpdesk site's history in; run again, it adds only what is new."""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from soporte.ops.helpdesk_import import HelpdeskImport
from soporte.ops.sources import Source, SourceError


class Command(BaseCommand):
    help = "Import another help desk's data (django-helpdesk)."

    def add_arguments(self, parser):
        parser.add_argument("system", choices=["django-helpdesk"], help="where the data comes from")
        parser.add_argument(
            "--database-url",
            required=True,
            help="its database: sqlite:///PATH or postgres://user:pass@host:5432/name",
        )
        parser.add_argument(
            "--media-root", type=Path, help="its MEDIA_ROOT, for the attachments' files"
        )

    def handle(self, *args, system: str, database_url: str, media_root: Path | None, **options):
        if media_root is not None and not media_root.is_dir():
            raise CommandError(f"--media-root {media_root} is not a folder")
        tty = sys.stderr.isatty()

        def progress(done: int, total: int) -> None:
            if done != total and done % 50:
                return
            width = 30
            filled = int(width * done / total) if total else width
            line = f"[{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,} tickets"
            self.stderr.write("\r" + line if tty else line, ending="" if tty else "\n")

        try:
            source = Source(database_url)
        except SourceError as error:
            raise CommandError(str(error)) from None
        try:
            summary = HelpdeskImport(source, media_root).run(progress)
        except SourceError as error:
            raise CommandError(str(error)) from None
        finally:
            source.close()
        if tty:
            self.stderr.write("")
        self.stdout.write(f"Imported from {system}:")
        for line in summary.lines():
            self.stdout.write(f"  {line}")
