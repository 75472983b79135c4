"""`soporte restore`: rebuild an instance from a backup archive, on SQLite or PostgreSQL
whatever the archive was made on (SQLite -> PostgreSQL is how a small site grows).

Runs in one transaction: the schema is brought to the code's migrations, every table the
archive holds is emptied and loaded with its rows (primary keys kept; foreign keys are
checked at the end, so the order of tables does not matter), counts and hashes are
compared with the manifest, and only then is it committed. Stored files are written
after the commit and checked against their hashes; the search index is rebuilt from the
restored documents.
"""

from __future__ import annotations

import hashlib
import json
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.core.management.color import no_style
from django.db import connection, transaction

from . import archive, history
from .backup import applied_migrations

Progress = Callable[[str], None]
BATCH = 1000


class RestoreError(Exception):
    """The archive cannot be restored here; the message says why. Nothing was changed."""


@dataclass
class Summary:
    rows: int = 0
    tables: int = 0
    files: int = 0
    missing_files: list[str] = field(default_factory=list)


def read_manifest(tar: tarfile.TarFile) -> dict:
    try:
        member = tar.extractfile(archive.MANIFEST)
    except KeyError:
        raise RestoreError("not a Soporte backup: it has no manifest.json") from None
    if member is None:
        raise RestoreError("not a Soporte backup: manifest.json is not a file")
    try:
        manifest = json.load(member)
    except ValueError as error:
        raise RestoreError(f"manifest.json is not valid JSON: {error}") from None
    if manifest.get("format") != archive.FORMAT:
        raise RestoreError("not a Soporte backup: unknown format")
    if manifest.get("version") != archive.VERSION:
        raise RestoreError(
            f"backup format version {manifest.get('version')} is not supported here "
            f"(this version reads {archive.VERSION})"
        )
    return manifest


def _missing(these: dict[str, list[str]], there: dict[str, list[str]]) -> list[str]:
    """Migrations in `these` and not in `there`, as app.name."""
    return sorted(
        f"{app}.{name}"
        for app, names in these.items()
        for name in set(names) - set(there.get(app, []))
    )


def _check_schema(manifest: dict) -> None:
    """The archive's rows fit this code's tables only if both are at the same migrations."""
    ours, theirs = applied_migrations(), manifest.get("migrations", {})
    newer = _missing(theirs, ours)
    if newer:
        raise RestoreError(
            "the backup was made by a newer version of Soporte (migrations unknown here: "
            f"{', '.join(newer[:5])}): upgrade this installation first"
        )
    older = _missing(ours, theirs)
    if older:
        raise RestoreError(
            "the backup was made by an older version of Soporte (it lacks "
            f"{', '.join(older[:5])}): restore it with that version, then upgrade"
        )


def _holds_data() -> bool:
    from soporte.accounts.models import User
    from soporte.tickets.models import Ticket

    return Ticket.objects.exists() or User.objects.exists()


def _rows(stream: IO[bytes], digest) -> Iterator[dict]:
    for line in stream:
        digest.update(line)
        yield json.loads(line)


def _load_table(model, stream: IO[bytes], expected: dict) -> int:
    fields = {field.attname: field for field in archive.columns(model)}
    pk = model._meta.pk
    digest = hashlib.sha256()
    batch, count = [], 0
    for row in _rows(stream, digest):
        values = {pk.attname: archive.decode(pk, row["pk"])}
        for name, value in row["fields"].items():
            column = fields.get(name)
            if column is None:
                label = archive.label(model)
                raise RestoreError(f"{label}: the backup has an unknown column {name}")
            values[name] = archive.decode(column, value)
        batch.append(model(**values))
        count += 1
        if len(batch) >= BATCH:
            history.insert_rows(model, batch)
            batch = []
    if batch:
        history.insert_rows(model, batch)
    label = archive.label(model)
    if count != expected["rows"] or digest.hexdigest() != expected["sha256"]:
        raise RestoreError(f"{label}: the rows do not match the manifest (damaged archive?)")
    return count


def _empty_tables(models: list) -> None:
    tables = [model._meta.db_table for model in models]
    statements = connection.ops.sql_flush(
        no_style(), tables, reset_sequences=True, allow_cascade=True
    )
    connection.ops.execute_sql_flush(statements)


def _reset_sequences(models: list) -> None:
    statements = connection.ops.sequence_reset_sql(no_style(), models)
    if statements:
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)


def _restore_file(tar: tarfile.TarFile, name: str, expected: dict) -> bool:
    try:
        member = tar.extractfile(archive.file_name(name))
    except KeyError:
        return False
    if member is None:
        return False
    data = member.read()
    if hashlib.sha256(data).hexdigest() != expected["sha256"]:
        raise RestoreError(f"the stored file {name} does not match its hash (damaged archive?)")
    if default_storage.exists(name):
        default_storage.delete(name)
    saved = default_storage.save(name, ContentFile(data))
    if saved != name:  # pragma: no cover - the storage renamed it: a file appeared meanwhile
        raise RestoreError(f"the stored file {name} could not be written under its name")
    return True


def _rebuild_search_index() -> None:
    from soporte.search.backend import get_backend

    # Rebuilds the index entries of the documents restored (clear() of no kind keeps them).
    get_backend().clear([])


def restore_backup(
    path: Path, *, replace: bool = False, progress: Progress | None = None
) -> Summary:
    say = progress or (lambda message: None)
    path = Path(path)
    if not path.is_file():
        raise RestoreError(f"{path}: no such file")
    try:
        tar = tarfile.open(path, "r")  # noqa: SIM115 (closed by the with below)
    except tarfile.TarError as error:
        raise RestoreError(f"{path} is not a backup archive: {error}") from None
    summary = Summary()
    with tar:
        manifest = read_manifest(tar)
        call_command("migrate", interactive=False, verbosity=0)
        _check_schema(manifest)
        if _holds_data() and not replace:
            raise RestoreError(
                "this database already holds users or tickets: restoring replaces everything "
                "in it; run again with --replace to do so"
            )
        models = {archive.label(model): model for model in archive.backed_up_models()}
        unknown = sorted(set(manifest["tables"]) - set(models))
        if unknown:
            raise RestoreError(f"the backup has tables unknown here: {', '.join(unknown[:5])}")
        with transaction.atomic():
            _empty_tables(list(models.values()))
            for label, expected in sorted(manifest["tables"].items()):
                try:
                    stream = tar.extractfile(f"data/{label}.jsonl")
                except KeyError:
                    stream = None
                if stream is None:
                    raise RestoreError(f"the backup lacks the rows of {label}")
                count = _load_table(models[label], stream, expected)
                summary.rows += count
                summary.tables += 1
                if count:
                    say(f"{label}: {count:,} rows")
            connection.check_constraints()
            _reset_sequences(list(models.values()))
        for name, expected in sorted(manifest["files"].items()):
            if _restore_file(tar, name, expected):
                summary.files += 1
            else:
                summary.missing_files.append(name)
        summary.missing_files += manifest.get("missing_files", [])
    _rebuild_search_index()
    return summary
