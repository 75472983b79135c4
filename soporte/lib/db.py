"""Database helpers shared by the hot paths (mail intake, tickets, SLA clocks, jobs): one
prepared statement per model and shape, kept per process, instead of the ORM's compiler
for rows written or read once per message."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar, cast

from django.db import connections, router
from django.db.models import Field, Model

M = TypeVar("M", bound=Model)


def insert_row(obj: M) -> M:
    """Write a new row as save(force_insert=True) does (auto_now fields, defaults, the id
    set on `obj`), with one prepared statement instead of the ORM's compiler: about a
    third of the cost, for rows written once per message. Sends no pre/post_save signal,
    so only for models nobody listens to that way (tickets, messages, attachments, raw
    mail, clocks, jobs)."""
    model = type(obj)
    alias = router.db_for_write(model, instance=obj)
    connection = connections[alias]
    meta = model._meta
    auto = meta.auto_field if obj.pk is None else None
    if auto is None and meta.auto_field is not None:
        # An id chosen by the caller: the ORM's way (rare).
        obj.save(force_insert=True, using=alias)
        return obj
    prefix, row, returning, fields = _insert_statement(model, alias)
    params = [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(prefix + row + returning, params)
        if auto is not None:
            pk = cursor.fetchone()[0] if returning else cursor.lastrowid
            setattr(obj, auto.attname, pk)
    _mark_saved(obj, alias)
    return obj


def insert_rows(objs: Sequence[M]) -> list[M]:
    """Write new rows of one model as insert_row does, ids included, in multi-row INSERTs
    (as many rows each as the database takes parameters) instead of bulk_create's
    compiler. A database that cannot return the ids of a multi-row INSERT (neither
    PostgreSQL nor SQLite >= 3.35) gets one insert_row each. Sends no signal."""
    if not objs:
        return []
    model = type(objs[0])
    auto = model._meta.auto_field
    if auto is not None and any(obj.pk is not None for obj in objs):
        raise ValueError("insert_rows() writes new rows: their ids are the database's.")
    if len(objs) == 1:
        return [insert_row(objs[0])]  # the most frequent: without the chunking below
    alias = router.db_for_write(model, instance=objs[0])
    connection = connections[alias]
    prefix, row, returning, fields = _insert_statement(model, alias)
    if auto is not None and not (
        returning and connection.features.can_return_rows_from_bulk_insert
    ):
        return [insert_row(obj) for obj in objs]
    size = max(1, connection.ops.bulk_batch_size(fields, objs))
    with connection.cursor() as cursor:
        for start in range(0, len(objs), size):
            chunk = objs[start : start + size]
            params = [
                f.get_db_prep_save(f.pre_save(obj, True), connection)
                for obj in chunk
                for f in fields
            ]
            cursor.execute(prefix + ", ".join([row] * len(chunk)) + returning, params)
            if auto is not None:
                for obj, (pk,) in zip(chunk, cursor.fetchall(), strict=True):
                    setattr(obj, auto.attname, pk)
    for obj in objs:
        _mark_saved(obj, alias)
    return list(objs)


# (model, database alias) -> the INSERT's parts: up to VALUES, one row's placeholders,
# the RETURNING clause ("" when the database cannot return the id), and its fields
_INSERTS: dict[tuple[type[Model], str], tuple[str, str, str, list[Any]]] = {}


def _insert_statement(model: type[Model], alias: str) -> tuple[str, str, str, list[Any]]:
    """The parts of the prepared INSERT of `model`'s rows (built once per process)."""
    key = (model, alias)
    if key not in _INSERTS:
        connection = connections[alias]
        meta = model._meta
        fields = [f for f in meta.local_concrete_fields if f is not meta.auto_field]
        qn = connection.ops.quote_name
        columns = ", ".join(qn(cast(str, f.column)) for f in fields)
        # Names from the model's own metadata, quoted; values are parameters.
        prefix = f"INSERT INTO {qn(meta.db_table)} ({columns}) VALUES "  # noqa: S608
        row = f"({', '.join(['%s'] * len(fields))})"
        returning = ""
        if meta.auto_field is not None and connection.features.can_return_columns_from_insert:
            returning = f" RETURNING {qn(cast(str, meta.auto_field.column))}"
        _INSERTS[key] = (prefix, row, returning, fields)
    return _INSERTS[key]


def _mark_saved(obj: Model, alias: str) -> None:
    obj._state.adding = False
    obj._state.db = alias


# (model, database alias, fields set, columns incremented, columns checked) -> the UPDATE
# statement and the fields whose values it sets
_UPDATES: dict[tuple[Any, ...], tuple[str, list[Field]]] = {}


def update_row(
    obj: Model,
    names: Sequence[str],
    *,
    increment: Sequence[str] = (),
    expect: Mapping[str, Any] | None = None,
) -> int:
    """UPDATE the fields `names` of obj's row to obj's values, add 1 to the columns in
    `increment`, where the row still holds the `expect`ed values (column -> value):
    how many rows (0 when someone changed it meanwhile). As the queryset's update()
    writes it, with one prepared statement per shape; sends no signal."""
    model = type(obj)
    alias = router.db_for_write(model, instance=obj)
    connection = connections[alias]
    expect = expect or {}
    key = (model, alias, tuple(names), tuple(increment), tuple(expect))
    if key not in _UPDATES:
        meta, qn = model._meta, connection.ops.quote_name
        fields = [cast(Field, meta.get_field(name)) for name in names]
        sets = [f"{qn(column)} = {qn(column)} + 1" for column in increment]
        sets += [f"{qn(cast(str, field.column))} = %s" for field in fields]
        checks = [f"{qn(cast(str, meta.pk.column))} = %s"]
        checks += [f"{qn(column)} = %s" for column in expect]
        _UPDATES[key] = (
            # Names from the model's own metadata or the caller's code, quoted; values
            # are parameters.
            f"UPDATE {qn(meta.db_table)} SET {', '.join(sets)} "  # noqa: S608
            f"WHERE {' AND '.join(checks)}",
            fields,
        )
    sql, fields = _UPDATES[key]
    params = [f.get_db_prep_save(getattr(obj, f.attname), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, obj.pk, *expect.values()])
        return cursor.rowcount


# (model, database alias, condition) -> the SELECT statement, the fields' attnames, and
# each column's converters (those the ORM's compiler applies to the values read)
_SELECTS: dict[tuple[type[Model], str, str], tuple[str, list[str], list[tuple[Any, list]]]] = {}


def select_rows(model: type[M], where: str, params: list[Any]) -> list[M]:
    """The rows of `model` matching `where` (a condition on its own table's columns, with
    %s for the values in `params`) as instances, as filter() gives them, from one
    prepared statement: for lookups by key run once per message, where building the
    ORM's query costs more than running it."""
    alias = router.db_for_read(model)
    connection = connections[alias]
    key = (model, alias, where)
    if key not in _SELECTS:
        meta, qn = model._meta, connection.ops.quote_name
        fields = list(meta.concrete_fields)
        columns = ", ".join(qn(cast(str, f.column)) for f in fields)
        converted = []
        for f in fields:
            col = f.get_col(meta.db_table)
            converters = connection.ops.get_db_converters(col) + f.get_db_converters(connection)
            converted.append((col, converters))
        # Names from the model's own metadata, quoted; the caller's condition is a
        # constant of its code, its values parameters.
        sql = f"SELECT {columns} FROM {qn(meta.db_table)} WHERE {where}"  # noqa: S608
        _SELECTS[key] = (sql, [f.attname for f in fields], converted)
    sql, names, converted = _SELECTS[key]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    found = []
    for row in rows:
        values = list(row)
        for index, (col, converters) in enumerate(converted):
            for converter in converters:
                values[index] = converter(values[index], col, connection)
        found.append(model.from_db(alias, names, values))
    return found
