"""Database helpers shared by the hot write paths (mail intake, tickets, SLA clocks)."""

from __future__ import annotations

from typing import Any, TypeVar, cast

from django.db import connections, router
from django.db.models import Model

M = TypeVar("M", bound=Model)

# (model, database alias) -> the INSERT statement, its fields, and whether it returns the id
_INSERTS: dict[tuple[type[Model], str], tuple[str, list[Any], bool]] = {}


def insert_row(obj: M) -> M:
    """Write a new row as save(force_insert=True) does (auto_now fields, defaults, the id
    set on `obj`), with one prepared statement instead of the ORM's compiler: about a
    third of the cost, for rows written once per message. Sends no pre/post_save signal,
    so only for models nobody listens to that way (tickets, messages, raw mail, clocks)."""
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
