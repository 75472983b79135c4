"""`soporte backup PATH`: a consistent archive of the database and stored files."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from soporte.ops.backup import write_backup


class Command(BaseCommand):
    help = (
        "Write a backup archive (every table as JSON lines, the stored files, and a manifest "
        "of counts and SHA-256 hashes) while the service runs."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path, help="the archive to write (a new file)")

    def handle(self, *args, path: Path, **options):
        def progress(message: str) -> None:
            if options["verbosity"] >= 2:
                self.stderr.write(message)

        try:
            summary = write_backup(path, progress=progress)
        except FileExistsError as error:
            raise CommandError(str(error)) from None
        except OSError as error:
            raise CommandError(f"could not write {path}: {error.strerror or error}") from None
        size = summary.path.stat().st_size
        self.stdout.write(
            f"Backup written to {summary.path}: {summary.rows:,} rows in {summary.tables} "
            f"tables, {summary.files:,} files ({summary.file_bytes:,} bytes); "
            f"archive {size:,} bytes."
        )
