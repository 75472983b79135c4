"""Read side: filtering and keyset pagination of asset lists (no COUNT, no OFFSET: page
2,000 costs what page 1 costs)."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from soporte.lib.errors import BadRequest

from .models import Asset

LIST_VALUES = (
    "id", "tag", "name", "kind", "status", "serial", "manufacturer", "model", "hostname",
    "stale", "last_inventory_at", "updated_at", "version",
    "type_id", "type__name", "location_id", "location__name",
    "owner_id", "owner__username", "owner__first_name", "owner__last_name",
    "organization_id", "organization__name",
)  # fmt: skip


@dataclass(frozen=True)
class AssetFilter:
    q: str = ""
    kind: str = ""
    status: str = ""
    type: int | None = None
    location: int | None = None
    organization: int | None = None
    owner: int | None = None
    stale: bool | None = None

    def apply(self, assets: QuerySet[Asset]) -> QuerySet[Asset]:
        if self.kind:
            assets = assets.filter(kind=self.kind)
        if self.status:
            assets = assets.filter(status=self.status)
        if self.type is not None:
            assets = assets.filter(type_id=self.type)
        if self.location is not None:
            assets = assets.filter(location_id=self.location)
        if self.organization is not None:
            assets = assets.filter(organization_id=self.organization)
        if self.owner is not None:
            assets = assets.filter(owner_id=self.owner)
        if self.stale is not None:
            assets = assets.filter(stale=self.stale)
        q = self.q.strip()
        if q:
            assets = assets.filter(starts_with(q))
        return assets


SEARCHED = ("tag", "serial", "hostname", "name")


def starts_with(q: str) -> Q:
    """Assets whose tag, serial number, hostname or name starts with `q` (as typed, in
    capitals or in small letters): index range scans, so a search among 100,000 assets
    costs what a page costs (a "contains" search would read every row)."""
    match = Q()
    for variant in {q, q.upper(), q.lower(), q[:1].upper() + q[1:]}:
        for field in SEARCHED:
            # [q, q + U+10FFFF) is the set of strings that start with q, in binary order.
            match |= Q(**{f"{field}__gte": variant, f"{field}__lt": variant + "\U0010ffff"})
    return match


@dataclass
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None


def _encode(tag: str) -> str:
    return base64.urlsafe_b64encode(json.dumps(tag).encode()).decode().rstrip("=")


def _decode(cursor: str) -> str:
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, TypeError):
        value = None
    if not isinstance(value, str) or "\x00" in value or len(value) > 64:
        raise BadRequest(_("The cursor is not valid; start again from the first page."))
    return value


def paginate(assets: QuerySet[Asset], *, cursor: str | None, limit: int = 50) -> Page:
    """One page in tag order after the cursor, rows as dicts of LIST_VALUES."""
    if cursor:
        assets = assets.filter(tag__gt=_decode(cursor))
    rows = list(assets.order_by("tag").values(*LIST_VALUES)[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, _encode(rows[-1]["tag"]) if more and rows else None)


def person(row: dict[str, Any], prefix: str) -> dict[str, Any] | None:
    pk = row[f"{prefix}_id"]
    if pk is None:
        return None
    full = f"{row[f'{prefix}__first_name']} {row[f'{prefix}__last_name']}".strip()
    return {"id": pk, "name": full or row[f"{prefix}__username"]}


def summaries(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """List rows in the shape of the API's AssetSummary."""
    return [
        {
            "id": row["id"],
            "tag": row["tag"],
            "name": row["name"],
            "kind": row["kind"],
            "status": row["status"],
            "serial": row["serial"],
            "manufacturer": row["manufacturer"],
            "model": row["model"],
            "hostname": row["hostname"],
            "stale": row["stale"],
            "last_inventory_at": row["last_inventory_at"],
            "updated_at": row["updated_at"],
            "version": row["version"],
            "type": {"id": row["type_id"], "name": row["type__name"]},
            "location": row["location_id"]
            and {"id": row["location_id"], "name": row["location__name"]},
            "owner": person(row, "owner"),
            "organization": row["organization_id"]
            and {"id": row["organization_id"], "name": row["organization__name"]},
        }  # fmt: skip
        for row in rows
    ]
