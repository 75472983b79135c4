"""Database helpers shared by the hot paths (mail intake, tickets, SLA clocks, jobs): one
prepared statement per model and shape, kept per process, instead of the ORM's compiler
for rows written or read once per message."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar, cast

from django.db import connections, router
from django.db.models import Field, Model

M = TypeVar("M", bound=Model)

# (model, database alias) -> the INSERT statement, its fields, and whether it returns the id
_INSERTS: dict[tuple[type[Model], str], tuple[str, list[Any], bool]] = {}


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
    key = (model, alias)
    if key not in _INSERTS:
        fields = [f for f in meta.local_concrete_fields if f is not meta.auto_field]
        qn = connection.ops.quote_name
        columns = ", ".join(qn(cast(str, f.column)) for f in fields)
        # Names from the model's own metadata, quoted; values are parameters.
        sql = (
            f"INSERT INTO {qn(meta.db_table)} ({columns}) "  # noqa: S608
            f"VALUES ({', '.join(['%s'] * len(fields))})"
        )
        returning = False
        if meta.auto_field is not None and connection.features.can_return_columns_from_insert:
            returning = True
            sql += f" RETURNING {qn(cast(str, meta.auto_field.column))}"
        _INSERTS[key] = (sql, fields, returning)
    sql, fields, returning = _INSERTS[key]
    if auto is None and meta.auto_field is not None:
        # An id chosen by the caller: the ORM's way (rare).
        obj.save(force_insert=True, using=alias)
        return obj
    params = [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if auto is not None:
            pk = cursor.fetchone()[0] if returning else cursor.lastrowid
            setattr(obj, auto.attname, pk)
    obj._state.adding = False
    obj._state.db = alias
    return obj


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
