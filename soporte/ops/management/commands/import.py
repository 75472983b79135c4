"""`soporte import`: bring history in from another help desk.

    soporte import django-helpdesk --database-url URL [--media-root DIR]
    soporte import csv-users FILE [--mapping MAP.json]
    soporte import csv-tickets FILE [--mapping MAP.json]

Run again, each adds only what is new.
"""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from soporte.ops import csv_import
from soporte.ops.helpdesk_import import HelpdeskImport
from soporte.ops.sources import Source, SourceError

MAX_CSV = 200 * 1024 * 1024


class Command(BaseCommand):
    help = "Import another help desk's data: django-helpdesk, or users and tickets from CSV."

    def add_arguments(self, parser):
        parser.add_argument(
            "system", choices=["django-helpdesk", "csv-users", "csv-tickets"],
            help="where the data comes from",
        )  # fmt: skip
        parser.add_argument("file", nargs="?", type=Path, help="the CSV file (csv-*)")
        parser.add_argument(
            "--database-url", help="django-helpdesk's database: sqlite:///PATH or postgres://..."
        )
        parser.add_argument(
            "--media-root", type=Path, help="django-helpdesk's MEDIA_ROOT, for the files"
        )
        parser.add_argument(
            "--mapping", type=Path, help="a JSON file naming the CSV's columns and values"
        )

    def handle(self, *args, system: str, **options):
        if system == "django-helpdesk":
            self._helpdesk(options["database_url"], options["media_root"])
        else:
            self._csv(system, options["file"], options["mapping"])

    def _csv(self, system: str, path: Path | None, mapping_path: Path | None) -> None:
        if path is None:
            raise CommandError(f"{system} needs the CSV file to read")
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        if path.stat().st_size > MAX_CSV:
            raise CommandError(f"{path} is larger than {MAX_CSV // 1024 // 1024} MB: split it")
        mapping = None
        if mapping_path is not None:
            if not mapping_path.is_file():
                raise CommandError(f"{mapping_path}: no such file")
            mapping = mapping_path.read_text(encoding="utf-8", errors="replace")
        run = csv_import.import_users if system == "csv-users" else csv_import.import_tickets
        try:
            result = run(path.read_bytes(), mapping)
        except csv_import.MappingError as error:
            raise CommandError(f"{mapping_path}: {error}") from None
        if result.errors:
            for error in result.errors[:200]:
                self.stderr.write(str(error))
            more = len(result.errors) - 200
            if more > 0:
                self.stderr.write(f"... and {more} more")
            raise CommandError(
                f"{path}: {len(result.errors)} problem(s); nothing was imported from this file."
            )
        self.stdout.write(
            f"{path}: {result.created} imported, {result.skipped} already there (skipped)."
        )

    def _helpdesk(self, database_url: str | None, media_root: Path | None) -> None:
        if not database_url:
            raise CommandError("django-helpdesk needs --database-url")
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
        self.stdout.write("Imported from django-helpdesk:")
        for line in summary.lines():
            self.stdout.write(f"  {line}")
