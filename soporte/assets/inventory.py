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

from soporte.lib import keys

from .indexing import SEARCHED, backlog_statement, index_later
from .models import (
    Asset,
    AssetEvent,
    AssetStatus,
    AssetType,
    EnrollmentToken,
    EventKind,
    Installation,
    Kind,
    MachineSoftware,
    SoftwareProduct,
    Source,
)
from .services import (
    History,
    apply_changes,
    authenticate_enrollment,
    display,
    enrollment_idle_since,
    enrollment_used,
)

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
    # (name, vendor) -> version, a package listed twice keeping its last version; None:
    # the agent could not list packages.
    software: dict[tuple[str, str], str] | None = None


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


def _software_digest(packages: dict[tuple[str, str], str]) -> str:
    """The package list's fingerprint, whatever its order: its fields sorted by package,
    joined by NUL (which no field may hold, and each package has three: unambiguous).
    A fifth of the cost of hashing it as JSON."""
    fields = [value for key in sorted(packages) for value in (*key, packages[key])]
    return hashlib.sha256("\x00".join(fields).encode()).hexdigest()


def report_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def _touch_sql(condition: str = "") -> str:
    """touch_unchanged's UPDATE (parameters: now, digest), with one more condition."""
    table = connection.ops.quote_name(Asset._meta.db_table)
    # PostgreSQL: this statement's commit does not wait for the disk, as in _record
    # (_commit_without_waiting); set for its own transaction, from RETURNING, so only
    # when a row was written. The wait was most of an unchanged report's time.
    nowait = (
        ", set_config('synchronous_commit', 'off', true)"
        if connection.vendor == "postgresql"
        else ""
    )
    # The partial index's condition, repeated as a literal, lets SQLite use it; no ORDER
    # BY, or SQLite would walk the tag index instead. Plain SQL: compiling the ORM's two
    # queries cost more than this whole statement.
    return (
        f"UPDATE {table} SET last_inventory_at = %s WHERE id = ("  # noqa: S608
        f"SELECT id FROM {table} WHERE inventory_hash = %s "
        f"AND NOT (inventory_hash = '') AND NOT stale LIMIT 1){condition} "
        f"RETURNING id, tag{nowait}"
    )


def touch_unchanged(digest: str) -> tuple[int, str] | None:
    """The daily run of an unchanged machine: when a report is byte for byte the one
    last recorded for a (not stale) machine, only its last_inventory_at moves. One
    UPDATE; the machine's (id, tag), or None when the report must be read."""
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(_touch_sql(), [now, digest])
        row = cursor.fetchone()
    return None if row is None else (row[0], row[1])


def start_report(key: str, digest: str) -> tuple[EnrollmentToken | None, tuple[int, str] | None]:
    """A report's enrollment token (None: refused) and, for a report byte for byte the
    machine's last one, touch_unchanged's answer. On PostgreSQL in one statement: a
    round trip and a statement less for every report."""
    if connection.vendor != "postgresql":
        token = authenticate_enrollment(key)
        return token, None if token is None else touch_unchanged(digest)
    parts = keys.split_key(key, EnrollmentToken.PREFIX)
    if parts is None:
        return None, None
    key_id, secret = parts
    now = timezone.now()
    tokens = connection.ops.quote_name(EnrollmentToken._meta.db_table)
    # The secret's hash compared by the database: equal hashes or not is all its timing
    # could tell, and the secret has 256 random bits.
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH token AS (SELECT id, key_id, key_hash, organization_id, "  # noqa: S608
            f"(last_used_at IS NULL OR last_used_at < %s) AS idle FROM {tokens} "
            "WHERE key_id = %s AND key_hash = %s AND revoked_at IS NULL), "
            f"touched AS ({_touch_sql(' AND EXISTS (SELECT FROM token)')}) "
            "SELECT token.*, touched.id, touched.tag FROM token LEFT JOIN touched ON true",
            [
                enrollment_idle_since(now), key_id, keys.hash_secret(secret),
                connection.ops.adapt_datetimefield_value(now), digest,
            ],
        )  # fmt: skip
        row = cursor.fetchone()
    if row is None:
        return None, None
    token = enrollment_used(row[:4], idle=row[4], now=now)
    return token, None if row[5] is None else (row[5], row[6])


def record_inventory(report: Report, *, token: EnrollmentToken, digest: str = "") -> Outcome:
    """Upsert the machine a report describes; `digest` identifies the report as sent
    (report_digest of its body). Two first reports of one machine at once: the loser
    of the race on the unique hardware UUID tries again and updates."""
    try:
        return _record(report, token, digest)
    except IntegrityError:
        forget_products()  # in case a cached product id is the cause
        return _record(report, token, digest, careful=True)


@transaction.atomic
def _record(report: Report, token: EnrollmentToken, digest: str, careful: bool = False) -> Outcome:
    """1. Find the machine (hardware UUID, then serial), locked, or create it.
    2. An identical report only moves last_inventory_at.
    3. Otherwise record each changed field, then the software differences.
    The writes of steps 1 and 3 go together at the end (one round trip on PostgreSQL)."""
    values = _fields(report)
    now = timezone.now()
    packages = report.software or {}
    report_hash = digest or _digest([values, sorted(packages.items())])
    software_hash = _software_digest(packages) if report.software is not None else ""
    stem = _tag_stem(values)
    found, lookup = _find(
        values, software_hash if report.software is not None else None, stem,
        package_keys=list(packages), careful=careful,
    )  # fmt: skip
    history = _Events(None, at=now)
    writes = _Writes()
    if found is None:
        values.update(inventory_hash=report_hash, software_hash=software_hash)
        asset, licensed = _create(
            values, report.chassis, token, now, stem, lookup or _lookup(stem), writes
        )
        history.record(asset, EventKind.CREATED, new=asset.tag, source="agent")
        if report.software is not None:
            first = Listed({}, licensed, lookup.products if lookup is not None else None)
            _sync_software(asset, packages, history, writes, first=True, listed=first, now=now)
        _save_history(history, writes)
        _index_later(asset.pk, writes)
        writes.run()
        return Outcome(asset, True, ["software"] if packages else [])
    asset, listed = found
    if lookup is not None:  # the licensed products and packages came with the lookup
        listed.licensed, listed.prefetched = lookup.licensed, lookup.products
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
        _sync_software(asset, packages, history, writes, listed=listed, now=now)
        asset.software_hash = software_hash
        changes.append("software")
    asset.inventory_hash = report_hash
    asset.last_inventory_at = now
    asset.stale = False
    asset.updated_at = now
    update = ["inventory_hash", "software_hash", "last_inventory_at", "stale", "updated_at"]
    update += [name for name in changes if name != "software"]
    _update(asset.pk, {name: getattr(asset, name) for name in update}, writes)
    _save_history(history, writes)
    if SEARCHED.intersection(changes):
        _index_later(asset.pk, writes)
    writes.run()
    return Outcome(asset, False, changes)


def _index_later(asset_id: int, writes: _Writes) -> None:
    """The machine's search document, written by the backlog's batched job: one row
    more in the report's statements (indexing it here cost a first report about an
    eighth of its CPU time, process and PostgreSQL's together)."""
    writes.add(*backlog_statement(asset_id))
    index_later()


class _Writes:
    """A report's writes, run together at its end: on PostgreSQL as one query (psycopg
    binds client-side, so several statements go in one round trip, which was a good part
    of a report's time), on SQLite one by one (no round trips there)."""

    def __init__(self) -> None:
        self.statements: list[tuple[str, list[Any]]] = []

    def add(self, sql: str, params: list[Any]) -> None:
        self.statements.append((sql, params))

    def run(self) -> None:
        if not self.statements:
            return
        with connection.cursor() as cursor:
            if _several_per_query():
                cursor.execute(
                    "; ".join(sql for sql, _params in self.statements),
                    [value for _sql, params in self.statements for value in params],
                )
            else:
                for sql, params in self.statements:
                    cursor.execute(sql, params)
        self.statements.clear()


def _several_per_query() -> bool:
    """Whether one query may hold several statements: PostgreSQL with psycopg's
    client-side binding (Django's default; not with server_side_binding)."""
    return connection.vendor == "postgresql" and not connection.settings_dict.get(
        "OPTIONS", {}
    ).get("server_side_binding")


def _run(sql: str, params: list[Any], writes: _Writes | None) -> None:
    if writes is not None:
        writes.add(sql, params)
        return
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


@cache
def _column_kinds() -> dict[str, str]:
    """The asset's columns (attnames, in the model's order) and how their values are
    prepared for the database: "datetime", "date", "json", or "" as they are."""
    kinds = {"DateTimeField": "datetime", "DateField": "date", "JSONField": "json"}
    return {f.attname: kinds.get(f.get_internal_type(), "") for f in Asset._meta.concrete_fields}


def _db_value(name: str, value: Any) -> Any:
    """What get_db_prep_save gives for the values an upsert writes (aware datetimes,
    JSON without an encoder, text, numbers, ids), in two calls instead of about ten."""
    kind = _column_kinds()[name]
    if value is None or not kind:
        return value
    if kind == "datetime":
        return connection.ops.adapt_datetimefield_value(value)
    if kind == "date":
        return connection.ops.adapt_datefield_value(value)
    return connection.ops.adapt_json_value(value, None)


def _update(pk: int, values: dict[str, Any], writes: _Writes | None = None) -> None:
    """UPDATE one asset's columns (attnames, as the column names are): what
    QuerySet.update does, without compiling a query."""
    quote = connection.ops.quote_name
    _run(
        f"UPDATE {quote(Asset._meta.db_table)} SET "  # noqa: S608 - names from the model
        f"{', '.join(f'{quote(name)} = %s' for name in values)} WHERE id = %s",
        [_db_value(name, value) for name, value in values.items()] + [pk],
        writes,
    )


_EVENT_COLUMNS = ("asset_id", "actor_id", "at", "kind", "field", "old", "new", "data")


@dataclass
class _Events(History):
    """A report's history, kept as rows for _save_history: building an AssetEvent
    object per change cost more than writing it."""

    at: datetime | None = None
    rows: list[tuple[Any, ...]] = field(default_factory=list)

    def record(
        self, asset: Asset, kind: str, field: str = "", old: Any = "", new: Any = "", **data: Any
    ) -> None:
        self.rows.append((asset.pk, kind, field, display(old), display(new), data))


def _save_history(history: _Events, writes: _Writes | None = None) -> None:
    """The collected events in one multi-row INSERT (History.save's bulk_create
    spends more on building its query than on running it)."""
    if not history.rows:
        return
    ops = connection.ops
    table = ops.quote_name(AssetEvent._meta.db_table)
    row = f"({', '.join(['%s'] * len(_EVENT_COLUMNS))})"
    at = ops.adapt_datetimefield_value(history.at or timezone.now())
    params: list[Any] = []
    for asset_id, kind, name, old, new, data in history.rows:
        params += [asset_id, None, at, kind, name, old, new, ops.adapt_json_value(data, None)]
    _run(
        f"INSERT INTO {table} ({', '.join(_EVENT_COLUMNS)}) VALUES "  # noqa: S608
        f"{', '.join([row] * len(history.rows))}",
        params,
        writes,
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


def _find(
    values: dict[str, Any],
    software_hash: str | None,
    stem: str,
    *,
    package_keys: list[tuple[str, str]],
    careful: bool = False,
) -> tuple[tuple[Asset, Listed] | None, _Lookup | None]:
    """The machine with the report's hardware UUID, else the computer with its serial
    recorded without a UUID (or with this one). One query, locking the few candidates;
    plain SQL, as the ORM's compiling of it cost more than running it. Only the columns
    an upsert reads are loaded (the others are deferred). When the package list differs
    from the last one (`software_hash`), the same query brings that list and the
    licensed products' ids.

    On PostgreSQL the same round trip also starts the transaction with
    _commit_without_waiting's setting and reads what creating the machine would need
    (a _Lookup, returned second, whose licensed ids then stand for the query's): a
    round trip less for a first report, two small reads more for the others. Whether
    the new tag is taken is only asked when `careful` (a report tried again): the
    INSERT of a taken one fails, and with it the first try. The reported packages
    (`package_keys`) unknown to the product cache are read or inserted there too
    (_prefetch_sql): a round trip less when a report adds a package."""
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
        _commit_without_waiting()
        return None, None
    names = _read_columns()
    table = connection.ops.quote_name(Asset._meta.db_table)
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    several = _several_per_query()
    listed = "NULL, NULL"
    if software_hash is not None:
        lists = connection.ops.quote_name(MachineSoftware._meta.db_table)
        products = connection.ops.quote_name(SoftwareProduct._meta.db_table)
        # The licensed products (the partial index's condition, repeated), unless the
        # lookup below reads them.
        licensed = (
            "NULL"
            if several
            else f'(SELECT group_concat(id) FROM {products} WHERE "licensed")'  # noqa: S608
            if connection.vendor == "sqlite"
            else f'ARRAY(SELECT id FROM {products} WHERE "licensed")'  # noqa: S608
        )
        differs = "CASE WHEN software_hash = %s THEN NULL ELSE"
        listed = (
            f"{differs} (SELECT packages FROM {lists} WHERE asset_id = {table}.id) END, "  # noqa: S608
            f"{differs} {licensed} END"
        )
        params = [software_hash, software_hash, *params]
    if connection.vendor == "postgresql" and not several:
        _commit_without_waiting()
    sql = (
        f"SELECT {', '.join(names)}, {listed} FROM {table} "  # noqa: S608
        f"WHERE {' OR '.join(conditions)} ORDER BY id{lock}"
    )
    lookup = None
    with connection.cursor() as cursor:
        if several:
            more, more_params = _lookup_sql(stem if careful else None)
            prefetch = _prefetch_sql(package_keys) if software_hash is not None else None
            cursor.execute(
                f"SET LOCAL synchronous_commit = off; {sql}; {more}; "
                "SELECT nextval(pg_get_serial_sequence(%s, 'id'))"
                + (f"; {prefetch[0]}" if prefetch else ""),
                [*params, *more_params, table, *(prefetch[1] if prefetch else [])],
            )
            cursor.nextset()
            rows = cursor.fetchall()
            cursor.nextset()
            facts = cursor.fetchall()
            cursor.nextset()
            lookup = _Lookup.of(facts, asked=careful, new_id=cursor.fetchone()[0])
            if prefetch:
                cursor.nextset()
                lookup.products = (prefetch[2], cursor.fetchall())
        else:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
    candidates = [dict(zip([*names, "_packages", "_licensed"], row, strict=True)) for row in rows]
    found = None
    if uuid:
        found = next((c for c in candidates if c["hardware_uuid"] == uuid), None)
    if found is None and serial:
        found = next((c for c in candidates if c["serial"] == serial), None)
    if found is None:
        return None, lookup
    for name in ("disks", "interfaces"):
        if isinstance(found[name], str):  # JSON as text: SQLite, and psycopg's jsonb here
            found[name] = json.loads(found[name])
    found["stale"] = bool(found["stale"])  # SQLite's 0 or 1
    asset = Asset.from_db(connection.alias, names, [found[name] for name in names])
    packages: Any = found["_packages"]
    licensed_ids: Any = found["_licensed"]
    if isinstance(packages, str):
        packages = json.loads(packages)
    if isinstance(licensed_ids, str):  # SQLite's group_concat
        licensed_ids = licensed_ids.split(",")
    return (asset, Listed(packages or {}, {int(pk) for pk in licensed_ids or ()})), lookup


@dataclass
class Listed:
    """A machine's last reported package list, and the ids of the licensed products."""

    packages: dict[str, list[Any]]
    licensed: set[int]
    prefetched: Prefetched | None = None


def _tag_stem(values: dict[str, Any]) -> str:
    """A new machine's tag: INV- and 8 hex digits of its UUID, serial or hostname."""
    seed = values.get("hardware_uuid") or values.get("serial") or values.get("hostname", "")
    return "INV-" + hashlib.sha256(seed.encode()).hexdigest()[:8].upper()


@dataclass
class _Lookup:
    """What creating a machine needs: the computer types (id, name), whether the tag
    stem is taken (None: not asked), the licensed products' ids, and on PostgreSQL the
    new asset's id (from its sequence, so the INSERT can go with the other writes)."""

    types: list[tuple[int, str]]
    stem_taken: bool | None
    licensed: set[int]
    new_id: int | None = None
    products: Prefetched | None = None

    @classmethod
    def of(cls, rows: list[tuple[Any, Any]], *, asked: bool, new_id: int | None = None) -> _Lookup:
        """From _lookup_sql's rows: (id, name) a type, (NULL, tag) the stem taken,
        (id, NULL) a licensed product."""
        return cls(
            types=sorted((pk, name) for pk, name in rows if pk is not None and name is not None),
            stem_taken=any(pk is None for pk, _name in rows) if asked else None,
            licensed={pk for pk, name in rows if name is None},
            new_id=new_id,
        )


def _lookup_sql(stem: str | None) -> tuple[str, list[Any]]:
    """_Lookup's query; whether the stem is taken only if one is given."""
    quote = connection.ops.quote_name
    types, assets = quote(AssetType._meta.db_table), quote(Asset._meta.db_table)
    products = quote(SoftwareProduct._meta.db_table)
    taken = f"UNION ALL SELECT NULL, tag FROM {assets} WHERE tag = %s " if stem else ""  # noqa: S608
    return (
        f"SELECT id, name FROM {types} WHERE kind = %s {taken}"  # noqa: S608 - names quoted
        f'UNION ALL SELECT id, NULL FROM {products} WHERE "licensed"',
        [Kind.COMPUTER.value, *([stem] if stem else [])],
    )


def _lookup(stem: str) -> _Lookup:
    """_Lookup in one query of its own (where _find did not bring it)."""
    with connection.cursor() as cursor:
        cursor.execute(*_lookup_sql(stem))
        return _Lookup.of(cursor.fetchall(), asked=True)


def _create(
    values: dict[str, Any], chassis: str, token: EnrollmentToken, now: datetime,
    stem: str, lookup: _Lookup, writes: _Writes,
) -> tuple[Asset, set[int]]:  # fmt: skip
    """The new machine (tagged `stem`, or `stem`-n when taken), and the licensed
    products' ids (for _sync_software). With an id from the lookup its INSERT is the
    first of `writes`; else it runs now."""
    chassis_type = TYPE_FOR_CHASSIS.get(chassis, "Desktop")
    named = [pk for pk, name in lookup.types if name == chassis_type]
    type_id = named[0] if named else (lookup.types[0][0] if lookup.types else None)
    if type_id is None:
        type_id = AssetType.objects.create(name=chassis_type, kind=Kind.COMPUTER).pk
    tag = stem
    if lookup.stem_taken:
        n = 2
        while Asset.objects.filter(tag=f"{stem}-{n}").exists():
            n += 1
        tag = f"{stem}-{n}"
    # A race lost on the unique hardware UUID fails the whole report's transaction;
    # record_inventory then tries again and finds the machine.
    asset = _insert(
        {
            **values,
            "tag": tag, "name": values.get("hostname", "")[:200], "type_id": type_id,
            "kind": Kind.COMPUTER.value, "status": AssetStatus.IN_USE.value,
            "organization_id": token.organization_id, "last_inventory_at": now,
            "created_at": now, "updated_at": now,
        },
        pk=lookup.new_id, writes=writes,
    )  # fmt: skip
    return asset, lookup.licensed


@cache
def _defaults() -> tuple[tuple[str, Any], ...]:
    """(attname, field) of the asset's columns but its id, in the model's order."""
    return tuple((f.attname, f) for f in Asset._meta.concrete_fields if not f.primary_key)


def _insert(values: dict[str, Any], *, pk: int | None = None, writes: _Writes) -> Asset:
    """INSERT a new asset with these values (attnames) and the other columns' defaults,
    as save() would, without its query compiling and signals (no receiver listens for
    assets); the asset as loaded. Given its id, the INSERT joins `writes`."""
    row = {
        name: values[name] if name in values else field.get_default() for name, field in _defaults()
    }
    quote = connection.ops.quote_name
    columns = [quote(field.column) for _name, field in _defaults()]
    params = [_db_value(name, value) for name, value in row.items()]
    if pk is not None:
        columns.insert(0, "id")
        params.insert(0, pk)
    sql = (
        f"INSERT INTO {quote(Asset._meta.db_table)} ({', '.join(columns)}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(params))})"
    )
    if pk is not None:
        writes.add(sql, params)
    else:
        with connection.cursor() as cursor:
            cursor.execute(f"{sql} RETURNING id", params)
            pk = cursor.fetchone()[0]
    return Asset.from_db(connection.alias, ["id", *row], [pk, *row.values()])


def _sync_software(
    asset: Asset,
    reported: dict[tuple[str, str], str],
    history: _Events,
    writes: _Writes,
    *,
    now: datetime,
    first: bool = False,
    listed: Listed | None = None,
) -> None:
    """The machine's package list as reported, and what changed since the last one as
    history. Manual entries are not the agent's and stay.

    1. The last list and the licensed products: read by _find (by _create for a first
       report, with no list).
    2. Product ids of the reported packages, from this process's cache, else the
       products table (unknown products inserted).
    3. Write the list as one row; Installation rows follow only for licensed products,
       whose licences count them (usually none of a report's)."""
    wanted = {key: version[:100] for key, version in reported.items()}
    ids = _products(list(wanted), listed.prefetched if listed is not None else None)
    stored = dict(listed.packages) if listed is not None else {}
    since = int(now.timestamp())
    packages: dict[str, list[Any]]
    added: list[tuple[str, str]]
    upgraded: list[tuple[tuple[str, str], str]] = []
    if not stored:  # a first list: every package is new
        packages = {str(ids[key]): [version, since] for key, version in wanted.items()}
        added = list(wanted)
    else:
        packages, added = {}, []
        for key, version in wanted.items():
            pid = str(ids[key])
            old = stored.pop(pid, None)
            if old is None:
                added.append(key)
                packages[pid] = [version, since]
            else:
                if old[0] != version:
                    upgraded.append((key, old[0]))
                packages[pid] = [version, old[1]]
    removed = stored  # what the list had and the report has not
    _write_packages(asset.pk, packages, writes, first=first)
    changed = [ids[key] for key in added] + [ids[key] for key, _old in upgraded]
    if changed or removed:
        licensed = listed.licensed if listed is not None else _licensed()
        _sync_licensed(asset, packages, changed, [int(pid) for pid in removed], licensed, now)
    if first:
        if added:
            history.record(
                asset, EventKind.INVENTORY, field="software", new=f"{len(added)} packages"
            )
        return
    events = [(EventKind.SOFTWARE_ADDED, key[0], "", wanted[key]) for key in added]
    if removed:
        names = _product_names([int(pid) for pid in removed])
        events += [
            (EventKind.SOFTWARE_REMOVED, names.get(int(pid), ("?", ""))[0], old[0], "")
            for pid, old in removed.items()
        ]
    events += [(EventKind.SOFTWARE_CHANGED, key[0], old, wanted[key]) for key, old in upgraded]
    for kind, name, before, after in events[:MAX_PACKAGE_EVENTS]:
        history.record(asset, kind, field=name[:50], old=before, new=after)
    if len(events) > MAX_PACKAGE_EVENTS:
        history.record(
            asset, EventKind.INVENTORY, field="software",
            new=f"+{len(added)} -{len(removed)} ~{len(upgraded)} packages",
        )  # fmt: skip


def _write_packages(
    asset_id: int, packages: dict[str, list[Any]], writes: _Writes, *, first: bool
) -> None:
    """One row per machine. Not first: an upsert, as a machine recorded by hand has no
    row until its first report."""
    table = connection.ops.quote_name(MachineSoftware._meta.db_table)
    raw = connection.ops.adapt_json_value(packages, None)
    upsert = "" if first else " ON CONFLICT (asset_id) DO UPDATE SET packages = excluded.packages"
    writes.add(f"INSERT INTO {table} (asset_id, packages) VALUES (%s, %s){upsert}", [asset_id, raw])  # noqa: S608


def _licensed() -> set[int]:
    """The licensed products' ids (few; a partial index, whose condition this repeats)."""
    table = connection.ops.quote_name(SoftwareProduct._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT id FROM {table} WHERE "licensed"')  # noqa: S608
        return {pk for (pk,) in cursor.fetchall()}


def _sync_licensed(
    asset: Asset, packages: dict[str, list[Any]], changed: list[int], removed: list[int],
    licensed: set[int], now: datetime,
) -> None:  # fmt: skip
    """Installation rows for the licensed products among those added, upgraded or
    removed: written only when one is licensed (usually none)."""
    if not licensed:
        return
    rows = Installation.objects.filter(asset_id=asset.pk, source=Source.AGENT)
    gone = [pk for pk in removed if pk in licensed]
    if gone:
        rows.filter(product_id__in=gone).delete()
    for pk in changed:
        if pk not in licensed:
            continue
        version = packages[str(pk)][0]
        # A manual entry of the product stays as entered (it already counts).
        if not rows.filter(product_id=pk).update(version=version):
            Installation.objects.bulk_create(
                [Installation(asset_id=asset.pk, product_id=pk, version=version,
                              source=Source.AGENT, installed_at=now)],
                ignore_conflicts=True,
            )  # fmt: skip


# Product ids by (name, vendor), and back, as this process has seen them committed.
# Names never change (read-only in the admin) and products are not deleted, so an id
# once seen stays right; the cache is dropped after a flush or migration (apps.py) and
# when a report fails on a constraint (record_inventory).
_product_ids: dict[tuple[str, str], int] = {}
_product_keys: dict[int, tuple[str, str]] = {}
MAX_CACHED_PRODUCTS = 200_000


def forget_products(**_kwargs: Any) -> None:
    _product_ids.clear()
    _product_keys.clear()


def _remember(found: dict[tuple[str, str], int]) -> None:
    if len(_product_ids) + len(found) > MAX_CACHED_PRODUCTS:
        forget_products()
    _product_ids.update(found)
    _product_keys.update((pk, key) for key, pk in found.items())


# Products read or inserted ahead, with _find's query: (inserted, rows (id, name, vendor)).
Prefetched = tuple[bool, list[tuple[int, str, str]]]


def _likely_new(unknown: int, keys: int) -> bool:
    """Whether the packages missing from the cache are most likely new products (a few
    of a list) rather than a cold cache (most of it)."""
    return 2 * unknown <= keys


def _insert_products_sql(keys: list[tuple[str, str]]) -> tuple[str, list[Any]]:
    """Insert these products; the new ones come back (a conflict returns no row)."""
    table = connection.ops.quote_name(SoftwareProduct._meta.db_table)
    return (
        f"INSERT INTO {table} (name, vendor, licensed) VALUES "  # noqa: S608
        f"{', '.join(['(%s, %s, %s)'] * len(keys))} "
        "ON CONFLICT DO NOTHING RETURNING id, name, vendor",
        [value for name, vendor in keys for value in (name, vendor, False)],
    )


def _read_products_sql(names: list[str]) -> tuple[str, list[Any]]:
    """PostgreSQL: the products with these names, in one parameter."""
    table = connection.ops.quote_name(SoftwareProduct._meta.db_table)
    return f"SELECT id, name, vendor FROM {table} WHERE name = ANY(%s)", [names]  # noqa: S608


def _prefetch_sql(keys: list[tuple[str, str]]) -> tuple[str, list[Any], bool] | None:
    """PostgreSQL: the statement _products would send first for these packages (insert
    the likely new ones, or read a cold cache's), for _find to send with its own; None
    when the cache knows them all."""
    unknown = sorted(key for key in set(keys) if key not in _product_ids)
    if not unknown:
        return None
    if _likely_new(len(unknown), len(keys)):
        return (*_insert_products_sql(unknown), True)
    return (*_read_products_sql(sorted({name for name, _vendor in unknown})), False)


def _products(
    keys: list[tuple[str, str]], prefetched: Prefetched | None = None
) -> dict[tuple[str, str], int]:
    """Product ids for (name, vendor) pairs, creating the missing ones. Known ones come
    from the cache; the others from one query (plain SQL: the ORM's IN lookup over
    hundreds of names cost more than the query itself), or from the rows `prefetched`
    with _find's, and are remembered once this transaction commits (an id inserted by a
    transaction rolled back never existed)."""
    found = {key: _product_ids[key] for key in keys if key in _product_ids}
    if len(found) == len(keys):
        return found
    wanted = {key for key in keys if key not in found}
    names = sorted({name for name, _vendor in wanted})
    table = connection.ops.quote_name(SoftwareProduct._meta.db_table)
    fetched: dict[tuple[str, str], int] = {}

    def take(rows: list[tuple[int, str, str]]) -> None:
        for pk, name, vendor in rows:
            if (name, vendor) in wanted:
                fetched[(name, vendor)] = pk

    def fetch() -> None:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(*_read_products_sql(names))
                take(cursor.fetchall())
                return
            for start in range(0, len(names), 500):
                chunk = names[start : start + 500]
                cursor.execute(
                    f"SELECT id, name, vendor FROM {table} "  # noqa: S608 - placeholders
                    f"WHERE name IN ({', '.join(['%s'] * len(chunk))})",
                    chunk,
                )
                take(cursor.fetchall())

    inserted = False
    if prefetched is not None:
        inserted, rows = prefetched
        take(rows)
    elif not _likely_new(len(wanted), len(keys)):
        fetch()  # a cold cache: most of them exist
    # Else the few unknown ones are most likely new: inserted at once, one query less.
    new = sorted(key for key in wanted if key not in fetched)
    if new and not inserted:
        # The new products' ids come back from the INSERT itself; a product another
        # report inserted meanwhile (a conflict, no row returned) is read again.
        with connection.cursor() as cursor:
            for start in range(0, len(new), 500):
                cursor.execute(*_insert_products_sql(new[start : start + 500]))
                take(cursor.fetchall())
    if any(key not in fetched for key in new):
        fetch()
    transaction.on_commit(lambda: _remember(fetched))
    found.update(fetched)
    return found


def _product_names(ids: list[int]) -> dict[int, tuple[str, str]]:
    """(name, vendor) of products by id: the cache, else one query."""
    names = {pk: _product_keys[pk] for pk in ids if pk in _product_keys}
    missing = [pk for pk in ids if pk not in names]
    if missing:
        names.update(
            (pk, (name, vendor))
            for pk, name, vendor in SoftwareProduct.objects.filter(pk__in=missing).values_list(
                "pk", "name", "vendor"
            )
        )
    return names


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
