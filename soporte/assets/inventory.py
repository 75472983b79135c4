"""The inventory agent's intake: upsert a machine from its report, idempotently, and keep
what changed (RAM, disks, software added or removed) in the asset's history.

A machine is found by its hardware UUID, else by its serial number; a report identical to
the last one costs one UPDATE (its hash is kept on the asset). Machines not reported for
ASSETS_STALE_DAYS days are flagged stale by a periodic job.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from .indexing import SEARCHED, index_now, index_soon
from .models import (
    Asset,
    AssetEvent,
    AssetStatus,
    AssetType,
    EnrollmentToken,
    EventKind,
    Installation,
    Kind,
    SoftwareProduct,
    Source,
)
from .services import History, apply_changes

# Serial numbers that firmware reports when nobody set one: never a match.
JUNK_SERIALS = frozenset(
    s.lower()
    for s in (
        "", "0", "none", "n/a", "na", "default string", "to be filled by o.e.m.",
        "system serial number", "not specified", "not applicable", "0123456789",
        "chassis serial number", "invalid", "unknown", "123456789",
    )
)  # fmt: skip
# Per-package events at most; past this, one summary event says how many.
MAX_PACKAGE_EVENTS = 50
TYPE_FOR_CHASSIS = {"laptop": "Laptop", "server": "Server"}


@dataclass
class Package:
    name: str
    version: str = ""
    vendor: str = ""


@dataclass
class Report:
    """What the agent sends (validated by the API schema)."""

    hardware_uuid: str = ""
    serial: str = ""
    hostname: str = ""
    manufacturer: str = ""
    model: str = ""
    chassis: str = ""
    os_name: str = ""
    os_version: str = ""
    cpu: str = ""
    ram_mb: int | None = None
    disks: list[dict[str, Any]] = field(default_factory=list)
    interfaces: list[dict[str, Any]] = field(default_factory=list)
    software: list[Package] | None = None  # None: the agent could not list packages


@dataclass
class Outcome:
    asset: Asset
    created: bool
    changes: list[str]


def _clean_serial(serial: str) -> str:
    return "" if serial.strip().lower() in JUNK_SERIALS else serial.strip()


def _normal_disks(disks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(
        ({k: v for k, v in disk.items() if v not in (None, "")} for disk in disks),
        key=lambda d: (str(d.get("name", "")), str(d.get("mountpoint", ""))),
    )


def _normal_interfaces(interfaces: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for nic in interfaces:
        row = {k: v for k, v in nic.items() if v not in (None, "", [])}
        if isinstance(row.get("ips"), list):
            row["ips"] = sorted(str(ip) for ip in row["ips"])
        if isinstance(row.get("mac"), str):
            row["mac"] = row["mac"].lower()
        rows.append(row)
    return sorted(rows, key=lambda n: str(n.get("name", "")))


def _digest(value: Any) -> str:
    raw = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(raw.encode()).hexdigest()


def _fields(report: Report) -> dict[str, Any]:
    """The asset's fields as the report states them (blank ones left out)."""
    values: dict[str, Any] = {
        "hostname": report.hostname,
        "os_name": report.os_name,
        "os_version": report.os_version,
        "cpu": report.cpu,
        "manufacturer": report.manufacturer,
        "model": report.model,
        "serial": _clean_serial(report.serial),
        "hardware_uuid": report.hardware_uuid.strip().lower(),
    }
    values = {name: value for name, value in values.items() if value}
    if report.ram_mb is not None:
        values["ram_mb"] = report.ram_mb
    values["disks"] = _normal_disks(report.disks)
    values["interfaces"] = _normal_interfaces(report.interfaces)
    return values


def _packages(report: Report) -> dict[tuple[str, str], str]:
    """(name, vendor) -> version; a package listed twice keeps its last version."""
    return {(p.name, p.vendor): p.version for p in report.software or ()}


def report_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def touch_unchanged(digest: str) -> tuple[int, str] | None:
    """The daily run of an unchanged machine: when a report is byte for byte the one
    last recorded for a (not stale) machine, only its last_inventory_at moves. One
    UPDATE; the machine's (id, tag), or None when the report must be read."""
    table = connection.ops.quote_name(Asset._meta.db_table)
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    # PostgreSQL: this statement's commit does not wait for the disk, as in _record
    # (_commit_without_waiting); set for its own transaction, from RETURNING, so only
    # when a row was written. The wait was most of an unchanged report's time.
    nowait = (
        ", set_config('synchronous_commit', 'off', true)"
        if connection.vendor == "postgresql"
        else ""
    )
    with connection.cursor() as cursor:
        # The partial index's condition, repeated as a literal, lets SQLite use it; no
        # ORDER BY, or SQLite would walk the tag index instead. Plain SQL: compiling
        # the ORM's two queries cost more than this whole statement.
        cursor.execute(
            f"UPDATE {table} SET last_inventory_at = %s WHERE id = ("  # noqa: S608
            f"SELECT id FROM {table} WHERE inventory_hash = %s "
            f"AND NOT (inventory_hash = '') AND NOT stale LIMIT 1) RETURNING id, tag{nowait}",
            [now, digest],
        )
        row = cursor.fetchone()
    return None if row is None else (row[0], row[1])


def record_inventory(report: Report, *, token: EnrollmentToken, digest: str = "") -> Outcome:
    """Upsert the machine a report describes; `digest` identifies the report as sent
    (report_digest of its body). Two first reports of one machine at once: the loser
    of the race on the unique hardware UUID tries again and updates."""
    try:
        return _record(report, token, digest)
    except IntegrityError:
        return _record(report, token, digest)


@transaction.atomic
def _record(report: Report, token: EnrollmentToken, digest: str) -> Outcome:
    """1. Find the machine (hardware UUID, then serial), locked, or create it.
    2. An identical report only moves last_inventory_at.
    3. Otherwise record each changed field, then the software differences."""
    _commit_without_waiting()
    values = _fields(report)
    now = timezone.now()
    packages = _packages(report)
    report_hash = digest or _digest([values, sorted(packages.items())])
    asset = _find(values)
    history = History(None)
    software_hash = _digest(sorted(packages.items())) if report.software is not None else ""
    if asset is None:
        values.update(inventory_hash=report_hash, software_hash=software_hash)
        asset = _create(values, report.chassis, token, now)
        history.record(asset, EventKind.CREATED, new=asset.tag, source="agent")
        if report.software is not None:
            _sync_software(asset, packages, history, first=True, now=now)
        _save_history(history)
        index_now(asset)
        return Outcome(asset, True, ["software"] if packages else [])
    if asset.inventory_hash == report_hash:
        _update(asset.pk, {"last_inventory_at": now, "stale": False})
        if asset.stale:
            history.record(asset, EventKind.INVENTORY, field="stale", old=True, new=False)
            _save_history(history)
        return Outcome(asset, False, [])
    changes = apply_changes(asset, values, history, EventKind.INVENTORY)
    if asset.stale:
        history.record(asset, EventKind.INVENTORY, field="stale", old=True, new=False)
    if report.software is not None and software_hash != asset.software_hash:
        _sync_software(asset, packages, history, first=False, now=now)
        asset.software_hash = software_hash
        changes.append("software")
    asset.inventory_hash = report_hash
    asset.last_inventory_at = now
    asset.stale = False
    asset.updated_at = now
    update = ["inventory_hash", "software_hash", "last_inventory_at", "stale", "updated_at"]
    update += [name for name in changes if name != "software"]
    _update(asset.pk, {name: getattr(asset, name) for name in update})
    _save_history(history)
    if SEARCHED.intersection(changes):
        index_soon([asset.pk])
    return Outcome(asset, False, changes)


def _update(pk: int, values: dict[str, Any]) -> None:
    """UPDATE one asset's columns, values prepared by their fields (JSON, datetimes):
    what QuerySet.update does, without compiling a query."""
    meta = Asset._meta
    fields: list[Any] = [meta.get_field(name) for name in values]
    table = connection.ops.quote_name(meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET "  # noqa: S608 - names from the model
            f"{', '.join(f'{connection.ops.quote_name(f.column)} = %s' for f in fields)} "
            "WHERE id = %s",
            [f.get_db_prep_save(values[f.name], connection) for f in fields] + [pk],
        )


_EVENT_COLUMNS = ("asset_id", "actor_id", "at", "kind", "field", "old", "new", "data")


def _save_history(history: History) -> None:
    """The collected events in one multi-row INSERT (History.save's bulk_create
    spends more on building its query than on running it)."""
    if not history.events:
        return
    ops = connection.ops
    table = ops.quote_name(AssetEvent._meta.db_table)
    row = f"({', '.join(['%s'] * len(_EVENT_COLUMNS))})"
    params: list[Any] = []
    for e in history.events:
        params += [e.asset_id, e.actor_id, ops.adapt_datetimefield_value(e.at), e.kind,
                   e.field, e.old, e.new, ops.adapt_json_value(e.data, None)]  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({', '.join(_EVENT_COLUMNS)}) VALUES "  # noqa: S608
            f"{', '.join([row] * len(history.events))}",
            params,
        )


def _commit_without_waiting() -> None:
    """PostgreSQL: this transaction's commit does not wait for its WAL record to reach
    the disk (synchronous_commit off, for this transaction only). A crash may then lose
    the last fraction of a second of reports, never corrupt anything: the agent sends
    its report again on its next run, and an unrecorded hash makes it read in full. The
    wait was the largest part of a report's time on PostgreSQL."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = off")


# The columns an upsert reads: those a report sets, and the bookkeeping ones.
_READ = frozenset({
    "id", "tag", "kind", "hostname", "os_name", "os_version", "cpu", "manufacturer",
    "model", "serial", "hardware_uuid", "ram_mb", "disks", "interfaces", "stale",
    "inventory_hash", "software_hash",
})  # fmt: skip


@cache
def _read_columns() -> list[str]:
    """_READ in the model's field order, the order from_db wants."""
    return [f.attname for f in Asset._meta.concrete_fields if f.attname in _READ]


def _find(values: dict[str, Any]) -> Asset | None:
    """The machine with the report's hardware UUID, else the computer with its serial
    recorded without a UUID (or with this one). One query, locking the few candidates;
    plain SQL, as the ORM's compiling of it cost more than running it. Only the columns
    an upsert reads are loaded (the others are deferred)."""
    uuid, serial = values.get("hardware_uuid", ""), values.get("serial", "")
    conditions, params = [], []
    if uuid:
        # NOT (x = '') is the unique index's condition, written as Django writes it:
        # SQLite uses a partial index only when the query states its condition.
        conditions.append("(hardware_uuid = %s AND NOT (hardware_uuid = ''))")
        params.append(uuid)
    if serial:
        conditions.append("(serial = %s AND kind = %s AND hardware_uuid IN ('', %s))")
        params += [serial, Kind.COMPUTER.value, uuid]
    if not conditions:
        return None
    names = _read_columns()
    table = connection.ops.quote_name(Asset._meta.db_table)
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(names)} FROM {table} "  # noqa: S608 - names from the model
            f"WHERE {' OR '.join(conditions)} ORDER BY id{lock}",
            params,
        )
        rows = cursor.fetchall()
    candidates = [dict(zip(names, row, strict=True)) for row in rows]
    found = None
    if uuid:
        found = next((c for c in candidates if c["hardware_uuid"] == uuid), None)
    if found is None and serial:
        found = next((c for c in candidates if c["serial"] == serial), None)
    if found is None:
        return None
    for name in ("disks", "interfaces"):
        if isinstance(found[name], str):  # JSON as text: SQLite, and psycopg's jsonb here
            found[name] = json.loads(found[name])
    found["stale"] = bool(found["stale"])  # SQLite's 0 or 1
    return Asset.from_db(connection.alias, names, [found[name] for name in names])


def _create(values: dict[str, Any], chassis: str, token: EnrollmentToken, now: datetime) -> Asset:
    chassis_type = TYPE_FOR_CHASSIS.get(chassis, "Desktop")
    seed = values.get("hardware_uuid") or values.get("serial") or values.get("hostname", "")
    stem = "INV-" + hashlib.sha256(seed.encode()).hexdigest()[:8].upper()
    # The computer types and whether the tag is taken, in one query.
    types = connection.ops.quote_name(AssetType._meta.db_table)
    assets = connection.ops.quote_name(Asset._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, name FROM {types} WHERE kind = %s "  # noqa: S608 - names quoted
            f"UNION ALL SELECT NULL, tag FROM {assets} WHERE tag = %s",
            [Kind.COMPUTER.value, stem],
        )
        rows = cursor.fetchall()
    computers = sorted((pk, name) for pk, name in rows if pk is not None)
    named = [pk for pk, name in computers if name == chassis_type]
    type_id = named[0] if named else (computers[0][0] if computers else None)
    if type_id is None:
        type_id = AssetType.objects.create(name=chassis_type, kind=Kind.COMPUTER).pk
    tag = stem
    if any(pk is None for pk, _name in rows):
        n = 2
        while Asset.objects.filter(tag=f"{stem}-{n}").exists():
            n += 1
        tag = f"{stem}-{n}"
    asset = Asset(
        tag=tag,
        name=values.get("hostname", "")[:200],
        type_id=type_id,
        kind=Kind.COMPUTER,
        status=AssetStatus.IN_USE,
        organization_id=token.organization_id,
        last_inventory_at=now,
        **values,
    )
    # A race lost on the unique hardware UUID fails the whole report's transaction;
    # record_inventory then tries again and finds the machine.
    _insert(asset)
    return asset


def _insert(asset: Asset) -> None:
    """INSERT a new asset as save() would (defaults, auto_now_add), without its query
    compiling and signals (no receiver listens for assets)."""
    fields: list[Any] = [f for f in Asset._meta.concrete_fields if not f.primary_key]
    ops = connection.ops
    params = [f.get_db_prep_save(f.pre_save(asset, True), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {ops.quote_name(Asset._meta.db_table)} "  # noqa: S608
            f"({', '.join(ops.quote_name(f.column) for f in fields)}) "
            f"VALUES ({', '.join(['%s'] * len(fields))}) RETURNING id",
            params,
        )
        asset.pk = cursor.fetchone()[0]
    asset._state.adding = False
    asset._state.db = connection.alias


def _sync_software(
    asset: Asset,
    reported: dict[tuple[str, str], str],
    history: History,
    *,
    first: bool,
    now: datetime,
) -> None:
    """Installations as reported: new ones added, upgraded ones changed, the agent's
    ones no longer reported removed (manual entries stay). Rows are written with
    executemany: a first report brings hundreds of packages."""
    table = connection.ops.quote_name(Installation._meta.db_table)
    products = connection.ops.quote_name(SoftwareProduct._meta.db_table)
    installed: dict[tuple[str, str], tuple[int, str, str]] = {}
    if not first:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT i.product_id, p.name, p.vendor, i.version, i.source "  # noqa: S608
                f"FROM {table} AS i JOIN {products} AS p ON p.id = i.product_id "
                "WHERE i.asset_id = %s",
                [asset.pk],
            )
            # fetchall: iterating Django's cursor wrapper costs a Python call a row.
            installed = {
                (name, vendor): (pk, version, source)
                for pk, name, vendor, version, source in cursor.fetchall()
            }
    wanted = {key: version[:100] for key, version in reported.items()}
    added = [key for key in wanted if key not in installed]
    removed = [
        key for key, (_pk, _v, source) in installed.items()
        if key not in wanted and source == Source.AGENT
    ]  # fmt: skip
    upgraded = [key for key in wanted if key in installed and installed[key][1] != wanted[key]]
    with connection.cursor() as cursor:
        if added:
            ids = _products(added)
            # The asset, the source and the time are the same for every row: bound
            # once, only product and version per row.
            constants: list[Any] = [
                asset.pk,
                Source.AGENT.value,
                connection.ops.adapt_datetimefield_value(now),
            ]
            columns = "INSERT INTO {} (asset_id, source, installed_at, product_id, version) "
            if connection.vendor == "postgresql":
                # Two array parameters, not two per row: psycopg binds client-side.
                cursor.execute(
                    columns.format(table) + "SELECT %s, %s, %s::timestamptz, u.* "
                    "FROM unnest(%s::bigint[], %s::varchar[]) AS u",
                    [*constants, [ids[key] for key in added], [wanted[key] for key in added]],
                )
            else:
                # Multi-row VALUES: one statement per 500 packages, not one each.
                for start in range(0, len(added), 500):
                    chunk = added[start : start + 500]
                    params: list[Any] = list(constants)
                    for key in chunk:
                        params += (ids[key], wanted[key])
                    values = ", ".join(["(%s, %s)"] * len(chunk))
                    sql = f"SELECT %s, %s, %s, column1, column2 FROM (VALUES {values})"  # noqa: S608
                    cursor.execute(columns.format(table) + sql, params)
        if upgraded and connection.vendor == "postgresql":
            cursor.execute(
                f"UPDATE {table} AS i SET version = u.version "  # noqa: S608
                "FROM unnest(%s::bigint[], %s::varchar[]) AS u(product_id, version) "
                "WHERE i.asset_id = %s AND i.product_id = u.product_id",
                [[installed[key][0] for key in upgraded], [wanted[key] for key in upgraded],
                 asset.pk],
            )  # fmt: skip
        elif upgraded:
            cursor.executemany(
                f"UPDATE {table} SET version = %s WHERE asset_id = %s AND product_id = %s",  # noqa: S608
                [(wanted[key], asset.pk, installed[key][0]) for key in upgraded],
            )
        gone = [installed[key][0] for key in removed]
        for start in range(0, len(gone), 500):
            ids_chunk = gone[start : start + 500]
            cursor.execute(
                f"DELETE FROM {table} WHERE asset_id = %s "  # noqa: S608 - placeholders only
                f"AND product_id IN ({', '.join(['%s'] * len(ids_chunk))})",
                [asset.pk, *ids_chunk],
            )
    if first:
        if added:
            history.record(
                asset, EventKind.INVENTORY, field="software", new=f"{len(added)} packages"
            )
        return
    events = [(EventKind.SOFTWARE_ADDED, key, "", wanted[key]) for key in added]
    events += [(EventKind.SOFTWARE_REMOVED, key, installed[key][1], "") for key in removed]
    events += [
        (EventKind.SOFTWARE_CHANGED, key, installed[key][1], wanted[key]) for key in upgraded
    ]
    for kind, (name, _vendor), old, new in events[:MAX_PACKAGE_EVENTS]:
        history.record(asset, kind, field=name[:50], old=old, new=new)
    if len(events) > MAX_PACKAGE_EVENTS:
        history.record(
            asset, EventKind.INVENTORY, field="software",
            new=f"+{len(added)} -{len(removed)} ~{len(upgraded)} packages",
        )  # fmt: skip


def _products(keys: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Product ids for (name, vendor) pairs, creating the missing ones. Plain SQL: the
    ORM's IN lookup over hundreds of names cost more than the query itself."""
    wanted = set(keys)
    names = sorted({name for name, _vendor in wanted})
    table = connection.ops.quote_name(SoftwareProduct._meta.db_table)
    found: dict[tuple[str, str], int] = {}

    def fetch() -> None:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(
                    f"SELECT id, name, vendor FROM {table} WHERE name = ANY(%s)",  # noqa: S608
                    [names],
                )
                for pk, name, vendor in cursor.fetchall():
                    if (name, vendor) in wanted:
                        found[(name, vendor)] = pk
                return
            for start in range(0, len(names), 500):
                chunk = names[start : start + 500]
                cursor.execute(
                    f"SELECT id, name, vendor FROM {table} "  # noqa: S608 - placeholders only
                    f"WHERE name IN ({', '.join(['%s'] * len(chunk))})",
                    chunk,
                )
                for pk, name, vendor in cursor.fetchall():
                    if (name, vendor) in wanted:
                        found[(name, vendor)] = pk

    fetch()
    new = sorted({key for key in keys if key not in found})
    if new:
        # The new products' ids come back from the INSERT itself; a product another
        # report inserted meanwhile (a conflict, no row returned) is read again.
        with connection.cursor() as cursor:
            for start in range(0, len(new), 500):
                chunk = new[start : start + 500]
                cursor.execute(
                    f"INSERT INTO {table} (name, vendor, licensed) VALUES "  # noqa: S608
                    f"{', '.join(['(%s, %s, %s)'] * len(chunk))} "
                    "ON CONFLICT DO NOTHING RETURNING id, name, vendor",
                    [value for name, vendor in chunk for value in (name, vendor, False)],
                )
                for pk, name, vendor in cursor.fetchall():
                    found[(name, vendor)] = pk
        if any(key not in found for key in new):
            fetch()
    return found


def flag_stale(now: datetime | None = None) -> int:
    """Flag the machines the agent has not reported for ASSETS_STALE_DAYS days, each with
    a history entry; how many were flagged. Rows are claimed (skip locked) so two
    runs never flag one twice."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.ASSETS_STALE_DAYS)
    flagged = 0
    while True:
        with transaction.atomic():
            ids = list(
                Asset.objects.select_for_update(skip_locked=True)
                .filter(stale=False, last_inventory_at__lt=cutoff)
                .values_list("pk", flat=True)[:2000]
            )
            if not ids:
                return flagged
            Asset.objects.filter(pk__in=ids).update(stale=True)
            AssetEvent.objects.bulk_create(
                AssetEvent(
                    asset_id=pk,
                    kind=EventKind.STALE,
                    field="stale",
                    old="False",
                    new="True",
                    data={"days": settings.ASSETS_STALE_DAYS},
                )
                for pk in ids
            )
            flagged += len(ids)
