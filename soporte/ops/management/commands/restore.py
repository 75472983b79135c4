"""`soporte restore PATH`: rebuild this instance's database and files from a backup."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from soporte.ops.restore import RestoreError, restore_backup


class Command(BaseCommand):
    help = (
        "Restore a backup archive into this instance's database (SQLite or PostgreSQL, "
        "whatever the archive was made on) and file storage."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path, help="the archive written by `soporte backup`")
        parser.add_argument(
            "--replace",
            action="store_true",
            help="replace the data of a database that already holds users or tickets",
        )

    def handle(self, *args, path: Path, replace: bool, **options):
        def progress(message: str) -> None:
            if options["verbosity"] >= 2:
                self.stderr.write(message)

        try:
            summary = restore_backup(path, replace=replace, progress=progress)
        except RestoreError as error:
            raise CommandError(f"cannot restore {path}: {error}") from None
        self.stdout.write(
            f"Restored {summary.rows:,} rows in {summary.tables} tables and "
            f"{summary.files:,} files from {path}."
        )
        if summary.missing_files:
            self.stderr.write(
                f"{len(summary.missing_files)} stored files were missing when the backup was "
                f"made: {', '.join(summary.missing_files[:10])}"
            )
