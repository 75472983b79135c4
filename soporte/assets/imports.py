"""CSV import and export of assets, and the import runs both CSV imports share.

An import is all or nothing: every row is checked first (the progress bar follows this
part), and only a file without a single error is written, in one transaction. Rows are
matched by asset tag: a known tag updates that asset (each change in its history), a new
one creates it. A column left out of the file leaves that field alone.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _

from soporte.accounts.models import Organization, User
from soporte.lib.errors import InvalidInput, PermissionDenied

from .indexing import SEARCHED, index_soon
from .models import (
    Asset,
    AssetEvent,
    AssetStatus,
    AssetType,
    EventKind,
    ImportKind,
    ImportRun,
    ImportStatus,
    Location,
)
from .services import (
    TEXT_LIMITS,
    History,
    apply_changes,
    custom_errors,
    has_nul,
    users_by_name,
)

COLUMNS = (
    "tag", "name", "type", "status", "serial", "hardware_uuid", "manufacturer", "model",
    "location", "owner", "organization", "purchase_date", "warranty_end", "hostname",
    "os_name", "os_version", "cpu", "ram_mb", "disks", "interfaces", "attached_to", "custom",
)  # fmt: skip
MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 200_000
MAX_ERRORS = 2000
PROGRESS_EVERY = 500
BATCH = 1000


# -- runs -------------------------------------------------------------------------------


def start_import(*, acting_user: User, kind: str, content: bytes, filename: str = "") -> ImportRun:
    """Record the file and queue its import; the run's page follows its progress."""
    if not acting_user.is_agent:
        raise PermissionDenied(_("Only agents may import."))
    if kind not in ImportKind.values:
        raise InvalidInput(_("Unknown import kind."))
    if len(content) > MAX_BYTES:
        raise InvalidInput(_("The file is larger than 20 MB; split it."))
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(_("The file is not UTF-8 text; save it as CSV UTF-8.")) from None
    if "\x00" in text:
        raise InvalidInput(_("The file is not a CSV file (it has NUL bytes)."))
    if not text.strip():
        raise InvalidInput(_("The file is empty."))
    from .tasks import run_import

    with transaction.atomic():
        run = ImportRun.objects.create(
            kind=kind,
            filename=(filename or "")[:200].replace("\x00", ""),
            content=text,
            created_by=acting_user,
        )
        run_import.enqueue(run.pk)
    return run


def run(run_id: int) -> str:
    """Check, then (when no row has an error) save a queued import; its final status.

    1. Claim the run unless it already finished (a rerun after a crash starts again:
       nothing was saved, since saving is one transaction).
    2. Check every row, updating the progress every PROGRESS_EVERY rows.
    3. Errors: refused, each listed. None: saved in one transaction.
    """
    claimed = (
        ImportRun.objects.filter(pk=run_id)
        .exclude(status__in=(ImportStatus.DONE, ImportStatus.REFUSED, ImportStatus.FAILED))
        .update(status=ImportStatus.CHECKING, processed=0)
    )
    if not claimed:
        return "skipped"
    import_run = ImportRun.objects.select_related("created_by").get(pk=run_id)

    def progress(done: int, total: int) -> None:
        if done % PROGRESS_EVERY == 0 or done == total:
            ImportRun.objects.filter(pk=run_id).update(processed=done, total=total)

    try:
        if import_run.kind == ImportKind.CERTIFICATIONS:
            from . import cabling

            rows, errors = cabling.check_certifications(import_run.content, progress)
        else:
            rows, errors = check_assets(import_run.content, progress)
        if errors:
            _finish(run_id, ImportStatus.REFUSED, errors=errors[:MAX_ERRORS])
            return ImportStatus.REFUSED
        ImportRun.objects.filter(pk=run_id).update(status=ImportStatus.SAVING)
        with transaction.atomic():
            if import_run.kind == ImportKind.CERTIFICATIONS:
                created, updated = cabling.save_certifications(
                    rows, acting_user=import_run.created_by
                )
            else:
                created, updated = save_assets(rows, acting_user=import_run.created_by)
        _finish(run_id, ImportStatus.DONE, created=created, updated=updated)
        return ImportStatus.DONE
    except Exception as error:  # noqa: BLE001 - shown on the run's page; nothing was saved
        _finish(
            run_id, ImportStatus.FAILED,
            errors=[{"row": 0, "column": "", "message": f"{type(error).__name__}: {error}"[:500]}],
        )  # fmt: skip
        raise


def _finish(run_id: int, status: str, **values: Any) -> None:
    ImportRun.objects.filter(pk=run_id).update(status=status, finished_at=timezone.now(), **values)


# -- checking ------------------------------------------------------------------------------


class _RowError(ValueError):
    def __init__(self, column: str, message: str):
        super().__init__(message)
        self.column = column


def _date(column: str, text: str) -> date | None:
    if not text:
        return None
    try:
        day = parse_date(text)
    except ValueError:
        day = None
    if day is None:
        raise _RowError(column, _("%(value)r is not a date (YYYY-MM-DD).") % {"value": text[:30]})
    return day


def _json(column: str, text: str, kind: type) -> Any:
    if not text:
        return kind()
    try:
        value = json.loads(text)
    except ValueError:
        raise _RowError(column, _("Not valid JSON.")) from None
    if has_nul(value):
        raise _RowError(column, _("NUL characters are not allowed."))
    if not isinstance(value, kind):
        what = _("a JSON object") if kind is dict else _("a JSON list")
        raise _RowError(column, _("Must be %(what)s.") % {"what": what})
    if kind is list and not all(isinstance(item, dict) for item in value):
        raise _RowError(column, _("Must be a list of objects."))
    return value


def _status(text: str) -> str:
    if not text:
        return AssetStatus.IN_STOCK
    lowered = text.strip().lower()
    for value, label in AssetStatus.choices:
        if lowered in (value, str(label).lower()):
            return value
    raise _RowError(
        "status",
        _("Unknown status %(value)r; use one of %(statuses)s.")
        % {"value": text[:30], "statuses": ", ".join(AssetStatus.values)},
    )


def check_assets(
    content: str, progress: Callable[[int, int], None] | None = None
) -> tuple[list[dict[str, Any]], list[dict]]:
    """Parse and check an asset CSV: (rows as field values, errors). Only reads."""
    reader = csv.reader(io.StringIO(content))
    try:
        header = next(reader, None)
        lines = list(reader)
    except csv.Error as error:
        return [], [{"row": 0, "column": "", "message": _("Unreadable CSV: %(e)s") % {"e": error}}]
    if not header:
        return [], [{"row": 1, "column": "", "message": _("The file is empty.")}]
    names = [h.strip().lower().lstrip("\ufeff") for h in header]
    unknown = [name for name in names if name not in COLUMNS]
    errors: list[dict] = [
        {"row": 1, "column": name[:50], "message": _("Unknown column.")} for name in unknown
    ]
    for required in ("tag", "type"):
        if required not in names:
            errors.append({"row": 1, "column": required, "message": _("This column is missing.")})
    if len(set(names)) != len(names):
        errors.append({"row": 1, "column": "", "message": _("A column is named twice.")})
    if len(lines) > MAX_ROWS:
        errors.append(
            {"row": 0, "column": "", "message": _("More than %(max)s rows.") % {"max": MAX_ROWS}}
        )
    if errors:
        return [], errors
    cells = [
        (number, {n: _cell(line, i) for i, n in enumerate(names)})
        for number, line in enumerate(lines, start=2)
        if any(cell.strip() for cell in line)
    ]
    if not cells:
        return [], [{"row": 2, "column": "", "message": _("The file has no rows.")}]
    lookups = _Lookups(cells)
    rows: list[dict[str, Any]] = []
    seen_tags: dict[str, int] = {}
    seen_uuids: dict[str, int] = {}
    for done, (number, cell) in enumerate(cells, start=1):
        try:
            values = _check_row(cell, lookups)
            tag = values["tag"]
            if tag in seen_tags:
                raise _RowError("tag", _("Tag %(tag)s is on row %(row)s already.") % {
                    "tag": tag, "row": seen_tags[tag]})  # fmt: skip
            seen_tags[tag] = number
            uuid = values.get("hardware_uuid")
            if uuid:
                if uuid in seen_uuids:
                    raise _RowError("hardware_uuid", _("This UUID is on row %(row)s already.") % {
                        "row": seen_uuids[uuid]})  # fmt: skip
                seen_uuids[uuid] = number
                holder = lookups.uuid_holders.get(uuid)
                if holder is not None and holder != tag:
                    raise _RowError("hardware_uuid", _("Asset %(tag)s has this UUID.") % {
                        "tag": holder})  # fmt: skip
            rows.append({"_row": number, **values})
        except _RowError as error:
            errors.append({"row": number, "column": error.column, "message": str(error)})
        if progress is not None:
            progress(done, len(cells))
    errors.extend(_check_attachments(rows, lookups))
    return rows, errors


def _cell(line: list[str], index: int) -> str:
    text = line[index].strip() if index < len(line) else ""
    # The apostrophe export puts before a formula-like value comes off again.
    if text[:1] == "'" and text[1:2] in ("=", "+", "-", "@"):
        return text[1:]
    return text


class _Lookups:
    """Everything the rows refer to, fetched in a few queries for the whole file."""

    def __init__(self, cells: list[tuple[int, dict[str, str]]]):
        def column(name: str) -> set[str]:
            return {cell[name] for _n, cell in cells if cell.get(name)}

        self.types = {t.name.lower(): t for t in AssetType.objects.all()}
        self.users = users_by_name(column("owner"))
        self.orgs = {
            o.name.lower(): o
            for o in Organization.objects.filter(
                name__in=column("organization") | {n.lower() for n in column("organization")}
            )
        }
        missing = {n.lower() for n in column("organization")} - set(self.orgs)
        if missing:  # names differing only in case
            for org in Organization.objects.all().only("pk", "name"):
                if org.name.lower() in missing:
                    self.orgs[org.name.lower()] = org
        tags = column("tag") | column("attached_to")
        self.existing: dict[str, dict[str, Any]] = {
            row["tag"]: row
            for row in Asset.objects.filter(tag__in=tags).values("pk", "tag", "attached_to__tag")
        }
        uuids = {u.lower() for u in column("hardware_uuid")}
        self.uuid_holders = dict(
            Asset.objects.filter(hardware_uuid__in=uuids).values_list("hardware_uuid", "tag")
        )


def _check_row(cell: dict[str, str], lookups: _Lookups) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, text in cell.items():
        if "\x00" in text:
            raise _RowError(name, _("NUL characters are not allowed."))
        if name in TEXT_LIMITS:
            if len(text) > TEXT_LIMITS[name]:
                raise _RowError(name, _("Longer than %(max)s characters.") % {
                    "max": TEXT_LIMITS[name]})  # fmt: skip
            values[name] = text.lower() if name == "hardware_uuid" else text
    if not values.get("tag"):
        raise _RowError("tag", _("The asset tag is required."))
    asset_type = lookups.types.get(cell.get("type", "").lower())
    if asset_type is None:
        raise _RowError("type", _("Unknown type %(value)r.") % {"value": cell.get("type", "")[:50]})
    values["type"] = asset_type
    if "status" in cell:
        values["status"] = _status(cell["status"])
    if "location" in cell:
        if len(cell["location"]) > 200:
            raise _RowError("location", _("Longer than %(max)s characters.") % {"max": 200})
        values["location"] = cell["location"]  # a name; created when new
    if "owner" in cell:
        owner = lookups.users.get(cell["owner"]) or lookups.users.get(cell["owner"].lower())
        if cell["owner"] and owner is None:
            raise _RowError("owner", _("No user %(value)r.") % {"value": cell["owner"][:100]})
        values["owner"] = owner
    if "organization" in cell:
        org = lookups.orgs.get(cell["organization"].lower())
        if cell["organization"] and org is None:
            raise _RowError("organization", _("No organization %(value)r.") % {
                "value": cell["organization"][:100]})  # fmt: skip
        values["organization"] = org
    owner = values.get("owner")
    if owner is not None and owner.organization_id is not None:
        org = values.get("organization")
        if org is None:
            values["organization"] = owner.organization
        elif org.pk != owner.organization_id:
            raise _RowError("owner", _("%(owner)s belongs to %(their)s, not to %(org)s.") % {
                "owner": owner, "their": owner.organization, "org": org})  # fmt: skip
    for name in ("purchase_date", "warranty_end"):
        if name in cell:
            values[name] = _date(name, cell[name])
    if "ram_mb" in cell:
        text = cell["ram_mb"]
        if text and (not text.isdigit() or len(text) > 9):
            raise _RowError("ram_mb", _("A whole number of megabytes."))
        values["ram_mb"] = int(text) if text else None
    for name in ("disks", "interfaces"):
        if name in cell:
            values[name] = _json(name, cell[name], list)
    if "custom" in cell:
        values["custom"] = _json("custom", cell["custom"], dict)
        problems = custom_errors(asset_type, values["custom"])
        if problems:
            raise _RowError("custom", problems[0])
    if "attached_to" in cell:
        parent = cell["attached_to"]
        if parent == values["tag"]:
            raise _RowError("attached_to", _("An asset cannot be attached to itself."))
        values["attached_to"] = parent or None
    return values


def _check_attachments(rows: list[dict[str, Any]], lookups: _Lookups) -> list[dict]:
    """Each attached_to names an asset of the file or of the database, and no chain of
    attachments loops."""
    parent = {tag: row["attached_to__tag"] for tag, row in lookups.existing.items()}
    in_file = {row["tag"] for row in rows}
    for row in rows:
        if "attached_to" in row:
            parent[row["tag"]] = row["attached_to"]
    errors = []
    for row in rows:
        target = row.get("attached_to")
        if not target:
            continue
        if target not in in_file and target not in lookups.existing:
            message = _("No asset tagged %(tag)s.") % {"tag": target[:64]}
            errors.append({"row": row["_row"], "column": "attached_to", "message": message})
            continue
        seen = {row["tag"]}
        node = target
        while node:
            if node in seen:
                message = _("These attachments go round in a circle.")
                errors.append({"row": row["_row"], "column": "attached_to", "message": message})
                break
            seen.add(node)
            node = parent.get(node)
    return errors


# -- saving -------------------------------------------------------------------------------


def save_assets(rows: list[dict[str, Any]], *, acting_user: User | None) -> tuple[int, int]:
    """Write checked rows (inside the caller's transaction): (created, updated)."""
    locations = _locations({row["location"] for row in rows if row.get("location")})
    existing = {a.tag: a for a in Asset.objects.filter(tag__in=[row["tag"] for row in rows])}
    history = History(acting_user)
    new_assets: list[Asset] = []
    changed_assets: list[tuple[Asset, list[str]]] = []
    attach: dict[str, str | None] = {}
    for row in rows:
        values = {k: v for k, v in row.items() if not k.startswith("_")}
        if "location" in values:
            values["location"] = locations.get(values["location"]) if values["location"] else None
        if "attached_to" in values:
            attach[row["tag"]] = values.pop("attached_to")
        asset = existing.get(row["tag"])
        if asset is None:
            new_assets.append(Asset(kind=values["type"].kind, **values))
            continue
        changed = apply_changes(asset, values, history)
        if "type" in changed:
            asset.kind = asset.type.kind
            changed.append("kind")
        if changed:
            changed_assets.append((asset, changed))
    for start in range(0, len(new_assets), BATCH):
        Asset.objects.bulk_create(new_assets[start : start + BATCH])
    if new_assets and new_assets[0].pk is None:  # backends without RETURNING ids
        ids = dict(
            Asset.objects.filter(tag__in=[a.tag for a in new_assets]).values_list("tag", "pk")
        )
        for asset in new_assets:
            asset.pk = asset.id = ids[asset.tag]
    now = timezone.now()
    for asset, changed in changed_assets:
        Asset.objects.filter(pk=asset.pk).update(
            version=F("version") + 1,
            updated_at=now,
            **{name: getattr(asset, name) for name in changed},
        )
    if attach:
        _save_attachments(attach, existing, new_assets, history)
    for asset in new_assets:
        history.record(asset, EventKind.IMPORTED, new=asset.tag)
    for start in range(0, len(history.events), BATCH):
        AssetEvent.objects.bulk_create(history.events[start : start + BATCH])
    index_soon(
        [a.pk for a in new_assets]
        + [a.pk for a, changed in changed_assets if SEARCHED.intersection(changed)]
    )
    return len(new_assets), len(changed_assets)


def _locations(names: set[str]) -> dict[str, Location]:
    found = {loc.name: loc for loc in Location.objects.filter(name__in=names)}
    missing = [Location(name=name) for name in names if name not in found]
    if missing:
        Location.objects.bulk_create(missing, ignore_conflicts=True)
        found = {loc.name: loc for loc in Location.objects.filter(name__in=names)}
    return found


def _save_attachments(
    attach: dict[str, str | None],
    existing: dict[str, Asset],
    new_assets: list[Asset],
    history: History,
) -> None:
    ids = dict(
        Asset.objects.filter(tag__in={t for t in attach.values() if t} | set(attach)).values_list(
            "tag", "pk"
        )
    )
    created = {a.tag for a in new_assets}
    for tag, parent in attach.items():
        parent_id = ids.get(parent) if parent else None
        asset = existing.get(tag)
        if asset is not None and tag not in created:
            if asset.attached_to_id == parent_id:
                continue
            old = (
                Asset.objects.filter(pk=asset.attached_to_id).values_list("tag", flat=True).first()
            )
            history.record(asset, EventKind.CHANGED, field="attached_to", old=old, new=parent)
        Asset.objects.filter(pk=ids[tag]).update(attached_to_id=parent_id)


# -- export ----------------------------------------------------------------------------------


_EXPORT_VALUES = (
    "tag", "name", "type__name", "status", "serial", "hardware_uuid", "manufacturer", "model",
    "location__name", "owner__username", "organization__name", "purchase_date",
    "warranty_end", "hostname", "os_name", "os_version", "cpu", "ram_mb", "disks",
    "interfaces", "attached_to__tag", "custom",
)  # fmt: skip


class _Echo:
    def write(self, value: str) -> str:
        return value


def _safe_cell(value: Any) -> str:
    """Cells a spreadsheet would run as a formula are quoted with a leading apostrophe."""
    if value is None:
        return ""
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True) if value else ""
    text = value.isoformat() if isinstance(value, date) else str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def export_lines(assets: QuerySet[Asset]) -> Iterator[str]:
    """The assets as CSV lines, the header first; the same columns import reads."""
    writer = csv.writer(_Echo())
    yield writer.writerow(COLUMNS)
    for row in assets.order_by("tag").values_list(*_EXPORT_VALUES).iterator(chunk_size=2000):
        yield writer.writerow([_safe_cell(value) for value in row])
