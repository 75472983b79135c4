"""Read side: filtering, sorting and keyset pagination of ticket lists.

Lists never count or OFFSET: each page starts after the last row of the previous one
(the cursor), so page 2,000 costs what page 1 costs.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db.models import F, Q, QuerySet
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from soporte.lib.errors import BadRequest, InvalidInput

from .models import Priority, Ticket

# sort name -> model field; "-" means newest/highest first.
SORTS = {
    "updated_at": "updated_at",
    "created_at": "created_at",
    "number": "number",
    "priority": "priority",
    "due_at": "due_at",
}


@dataclass(frozen=True)
class TicketFilter:
    status: list[str] | None = None
    priority: list[str] | None = None
    assignee: int | None = None
    unassigned: bool = False
    team: int | None = None
    tier: str | None = None
    organization: int | None = None
    requester: int | None = None
    category: int | None = None
    tag: str | None = None
    updated_since: datetime | None = None
    q: str | None = None

    def apply(self, tickets: QuerySet[Ticket]) -> QuerySet[Ticket]:
        if self.status:
            tickets = tickets.filter(status__in=self.status)
        if self.priority:
            tickets = tickets.filter(priority__in=self.priority)
        if self.unassigned:
            tickets = tickets.filter(assignee__isnull=True)
        elif self.assignee is not None:
            tickets = tickets.filter(assignee_id=self.assignee)
        if self.team is not None:
            tickets = tickets.filter(team_id=self.team)
        if self.tier:
            tickets = tickets.filter(tier=self.tier)
        if self.organization is not None:
            tickets = tickets.filter(organization_id=self.organization)
        if self.requester is not None:
            tickets = tickets.filter(requester_id=self.requester)
        if self.category is not None:
            tickets = tickets.filter(
                Q(category_id=self.category) | Q(category__parent_id=self.category)
            )
        if self.tag:
            tickets = tickets.filter(tags__name=self.tag.strip().lower())
        if self.updated_since is not None:
            tickets = tickets.filter(updated_at__gte=self.updated_since)
        if self.q:
            q = self.q.strip().lstrip("#")
            match = Q(subject__icontains=q)
            if q.isascii() and q.isdigit() and len(q) <= 9:
                match |= Q(number=int(q))
            tickets = tickets.filter(match)
        return tickets


@dataclass
class Page:
    items: list[Ticket]
    next_cursor: str | None


def _encode(value: Any, pk: int) -> str:
    if isinstance(value, datetime):
        value = value.isoformat()
    raw = json.dumps([value, pk], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _bad_cursor() -> BadRequest:
    return BadRequest("The cursor is not valid; start again from the first page.")


def _cursor_datetime(value: Any) -> datetime | None:
    """The cursor's time, or None when it is not one the database can compare."""
    if not isinstance(value, str):
        return None
    try:
        parsed = parse_datetime(value)
        if parsed is None:
            return None
        parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        # In UTC: PostgreSQL refuses offsets past ±15:59 (Python allows ±23:59), and
        # e.g. year 9999 at -23:59 is past the end of time (OverflowError).
        parsed = parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        return None
    return parsed


def _decode(cursor: str, field: str) -> tuple[Any, int]:
    """The cursor's (sort value, id); BadRequest when the server never issued it."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value, pk = json.loads(raw)
    except (binascii.Error, ValueError, TypeError):
        raise _bad_cursor() from None
    if not isinstance(pk, int) or isinstance(pk, bool):
        raise _bad_cursor()
    if field == "due_at" and value is None:
        return None, pk  # within the tickets without a due date
    if field in ("updated_at", "created_at", "due_at"):
        value = _cursor_datetime(value)
        if value is None:
            raise _bad_cursor()
    elif (field == "number" and (not isinstance(value, int) or isinstance(value, bool))) or (
        field == "priority" and value not in Priority.values
    ):
        raise _bad_cursor()
    return value, pk


# Columns a list row needs: read as plain values, because building model instances for
# six joined tables cost more than the query itself.
_PLAIN_VALUES = (
    "id", "number", "subject", "status", "priority", "impact", "urgency", "channel", "tier",
    "due_at", "created_at", "updated_at", "first_responded_at", "resolved_at", "closed_at",
    "version",
)  # fmt: skip
SUMMARY_VALUES = _PLAIN_VALUES + (
    "merged_into__number",
    "requester_id", "requester__username", "requester__first_name", "requester__last_name",
    "assignee_id", "assignee__username", "assignee__first_name", "assignee__last_name",
    "organization_id", "organization__name", "team_id", "team__name", "team__tier",
    "category_id", "category__name",
)  # fmt: skip


def _person(row: dict, prefix: str) -> dict | None:
    pk = row[f"{prefix}_id"]
    if pk is None:
        return None
    full = f"{row[f'{prefix}__first_name']} {row[f'{prefix}__last_name']}".strip()
    return {"id": pk, "name": full or row[f"{prefix}__username"]}


def summaries(rows: list[dict]) -> list[dict]:
    """List rows (from SUMMARY_VALUES) in the shape of the API's TicketOut; one query
    more for all their tags."""
    tags: dict[int, list[str]] = {row["id"]: [] for row in rows}
    if tags:
        through = Ticket.tags.through.objects.filter(ticket_id__in=tags).order_by("tag__name")
        for ticket_id, name in through.values_list("ticket_id", "tag__name"):
            tags[ticket_id].append(name)
    return [
        {
            **{key: row[key] for key in _PLAIN_VALUES},
            "merged_into": row["merged_into__number"],
            "requester": _person(row, "requester"),
            "assignee": _person(row, "assignee"),
            "organization": row["organization_id"]
            and {"id": row["organization_id"], "name": row["organization__name"]},
            "team": row["team_id"]
            and {"id": row["team_id"], "name": row["team__name"], "tier": row["team__tier"]},
            "category": row["category_id"]
            and {"id": row["category_id"], "name": row["category__name"]},
            "tags": tags[row["id"]],
        }
        for row in rows
    ]


def paginate(
    tickets: QuerySet[Ticket],
    *,
    sort: str = "-updated_at",
    cursor: str | None,
    limit: int,
    values: tuple[str, ...] | None = None,
) -> Page:
    """One page in sort order after the cursor; rows are dicts of `values` when given."""
    descending = sort.startswith("-")
    name = sort.lstrip("-")
    if name not in SORTS:
        raise InvalidInput(
            _("Cannot sort by %(name)s; use one of %(sorts)s.")
            % {"name": name, "sorts": ", ".join(SORTS)}
        )
    field = SORTS[name]
    order: tuple[Any, ...] = (f"-{field}", "-id") if descending else (field, "id")
    # Tickets without a due date come last whichever way the list runs.
    undated_last = field == "due_at"
    if undated_last:
        column = F(field).desc(nulls_last=True) if descending else F(field).asc(nulls_last=True)
        order = (column, order[1])
    if cursor:
        value, pk = _decode(cursor, field)
        op, op_eq = ("lt", "lte") if descending else ("gt", "gte")
        if value is None:
            # Inside the undated tail: the id alone orders it.
            tickets = tickets.filter(Q(**{f"{field}__isnull": True}), Q(**{f"id__{op}": pk}))
        else:
            # The leading range on the sort column alone lets the index do the seek.
            after = Q(**{f"{field}__{op_eq}": value}) & (
                Q(**{f"{field}__{op}": value}) | Q(**{f"id__{op}": pk})
            )
            if undated_last:
                after |= Q(**{f"{field}__isnull": True})
            tickets = tickets.filter(after)
    tickets = tickets.order_by(*order)
    if values:
        fetched = list(tickets.values(*values)[: limit + 1])
    else:
        fetched = list(tickets[: limit + 1])
    more = len(fetched) > limit
    rows = fetched[:limit]
    next_cursor = None
    if more and rows:
        last = rows[-1]
        key, pk = (last[field], last["id"]) if values else (getattr(last, field), last.pk)
        next_cursor = _encode(key, pk)
    return Page(rows, next_cursor)
