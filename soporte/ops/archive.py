"""The backup archive's format, shared by backup and restore.

A tar file:
    manifest.json          format, version, when, the schema (applied migrations), and for
                           every table its row count and SHA-256, for every file its size and
                           SHA-256
    data/<app.model>.jsonl one row a line, {"pk": ..., "fields": {attname: value}}, ordered by
                           primary key, keys sorted: the same rows give the same bytes on
                           SQLite and PostgreSQL, so two archives compare by their hashes
    files/<storage name>   the stored files (attachments, cable test reports)

Values keep their full precision (Django's JSON serializer would cut datetimes to
milliseconds): datetimes, dates, times, decimals and UUIDs as ISO strings, bytes as
{"$b64": "..."}.
"""

from __future__ import annotations

import base64
import datetime
import decimal
import json
import uuid
from typing import Any

from django.apps import apps
from django.db import models

FORMAT = "soporte-backup"
VERSION = 1
MANIFEST = "manifest.json"
# Derived or throw-away: rebuilt by restore, or of no use in another instance.
SKIPPED = frozenset({"sessions.session"})


def label(model: type[models.Model]) -> str:
    return model._meta.label_lower


def data_name(model: type[models.Model]) -> str:
    return f"data/{label(model)}.jsonl"


def file_name(storage_name: str) -> str:
    return f"files/{storage_name}"


def backed_up_models() -> list[type[models.Model]]:
    """Every table with rows of its own (M2M link tables included), in a stable order."""
    chosen = []
    for model in apps.get_models(include_auto_created=True):
        meta = model._meta
        if meta.proxy or not meta.managed or label(model) in SKIPPED:
            continue
        chosen.append(model)
    return sorted(chosen, key=label)


def columns(model: type[models.Model]) -> list[models.Field]:
    return [field for field in model._meta.concrete_fields if not field.generated]


def file_fields(model: type[models.Model]) -> list[models.FileField]:
    return [field for field in columns(model) if isinstance(field, models.FileField)]


def encode(value: Any) -> Any:
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return {"$b64": base64.b64encode(bytes(value)).decode("ascii")}
    return value


def dump_row(pk: Any, fields: dict[str, Any]) -> bytes:
    row = {"pk": encode(pk), "fields": {name: encode(value) for name, value in fields.items()}}
    return json.dumps(row, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def decode(field: models.Field, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(field, models.BinaryField):
        return base64.b64decode(value["$b64"])
    if isinstance(field, models.JSONField):
        return value
    return field.to_python(value)
