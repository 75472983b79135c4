"""`soporte backup`: a consistent archive of a running instance.

All tables are read in ONE read-only transaction (PostgreSQL: REPEATABLE READ; SQLite in
WAL mode: the first read fixes the snapshot), so the archive is one moment of the
database while the service keeps writing. Stored files are never rewritten once written
(attachments are named by a random token), so copying those the snapshot names after the
snapshot gives the same bytes.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from . import archive

Progress = Callable[[str], None]
CHUNK = 2000


@dataclass
class Summary:
    path: Path
    rows: int
    tables: int
    files: int
    file_bytes: int


def applied_migrations() -> dict[str, list[str]]:
    applied: dict[str, list[str]] = {}
    for app, name in MigrationRecorder(connection).applied_migrations():
        applied.setdefault(app, []).append(name)
    return {app: sorted(names) for app, names in sorted(applied.items())}


def _snapshot() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")


def _dump_table(model, target: Path) -> tuple[int, str, set[str]]:
    """Write one table's rows; return (count, sha256, names of the stored files it uses)."""
    fields = archive.columns(model)
    pk = model._meta.pk
    names = [field.attname for field in fields]
    file_columns = [names.index(field.attname) for field in archive.file_fields(model)]
    digest = hashlib.sha256()
    count, files = 0, set[str]()
    rows = model._base_manager.order_by(pk.attname).values_list(*names)
    with target.open("wb") as out:
        for values in rows.iterator(chunk_size=CHUNK):
            row = dict(zip(names, values, strict=True))
            line = archive.dump_row(row.pop(pk.attname), row) + b"\n"
            out.write(line)
            digest.update(line)
            count += 1
            files.update(values[i] for i in file_columns if values[i])
    return count, digest.hexdigest(), files


def _add_file(tar: tarfile.TarFile, name: str, data_path: Path) -> None:
    info = tar.gettarinfo(str(data_path), arcname=name)
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    with data_path.open("rb") as handle:
        tar.addfile(info, handle)


def _add_stored(tar: tarfile.TarFile, storage_name: str) -> tuple[int, str] | None:
    """Copy one stored file in; None when it is missing (reported, not fatal)."""
    if not default_storage.exists(storage_name):
        return None
    digest = hashlib.sha256()
    with default_storage.open(storage_name, "rb") as source, tempfile.TemporaryFile() as copy:
        while chunk := source.read(1 << 20):
            digest.update(chunk)
            copy.write(chunk)
        size = copy.tell()
        copy.seek(0)
        info = tarfile.TarInfo(archive.file_name(storage_name))
        info.size = size
        info.mtime = int(timezone.now().timestamp())
        tar.addfile(info, copy)
    return size, digest.hexdigest()


def write_backup(path: Path, *, progress: Progress | None = None) -> Summary:
    """Write the archive to `path` (a new file; written beside it, then moved in place)."""
    say = progress or (lambda message: None)
    path = Path(path)
    if path.exists():
        raise FileExistsError(f"{path} exists: choose a new file name")
    path.parent.mkdir(parents=True, exist_ok=True)
    manifest: dict = {
        "format": archive.FORMAT,
        "version": archive.VERSION,
        "created_at": timezone.now().isoformat(),
        "database": connection.vendor,
        "tables": {},
        "files": {},
        "missing_files": [],
    }
    stored: set[str] = set()
    with tempfile.TemporaryDirectory(dir=path.parent) as work:
        work_dir = Path(work)
        partial = work_dir / "archive.tar"
        with tarfile.open(partial, "w") as tar:
            nested = connection.in_atomic_block  # a caller's transaction: its snapshot
            with transaction.atomic():
                if not nested:
                    _snapshot()
                manifest["migrations"] = applied_migrations()
                for model in archive.backed_up_models():
                    data = work_dir / "table.jsonl"
                    count, digest, files = _dump_table(model, data)
                    _add_file(tar, archive.data_name(model), data)
                    manifest["tables"][archive.label(model)] = {"rows": count, "sha256": digest}
                    stored |= files
                    if count:
                        say(f"{archive.label(model)}: {count:,} rows")
            for name in sorted(stored):
                added = _add_stored(tar, name)
                if added is None:
                    manifest["missing_files"].append(name)
                    continue
                size, digest = added
                manifest["files"][name] = {"size": size, "sha256": digest}
            body = json.dumps(manifest, indent=1, sort_keys=True).encode()
            info = tarfile.TarInfo(archive.MANIFEST)
            info.size = len(body)
            info.mtime = int(timezone.now().timestamp())
            tar.addfile(info, io.BytesIO(body))
        os.chmod(partial, 0o600)  # it holds password hashes and every ticket
        shutil.move(str(partial), path)
    tables = manifest["tables"].values()
    return Summary(
        path=path,
        rows=sum(table["rows"] for table in tables),
        tables=len(manifest["tables"]),
        files=len(manifest["files"]),
        file_bytes=sum(item["size"] for item in manifest["files"].values()),
    )
