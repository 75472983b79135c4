"""Read side: filtering, sorting and keyset pagination of ticket lists.

Lists never count or OFFSET: each page starts after the last row of the previous one
(the cursor), so page 2,000 costs what page 1 costs.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.dateparse import parse_datetime

from soporte.lib.errors import InvalidInput

from .models import Ticket

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
            if q.isdigit() and len(q) <= 9:
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


def _decode(cursor: str, field: str) -> tuple[Any, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value, pk = json.loads(raw)
    except (binascii.Error, ValueError, TypeError):
        raise InvalidInput("The cursor is not valid; start again from the first page.") from None
    if not isinstance(pk, int) or isinstance(pk, bool):
        raise InvalidInput("The cursor is not valid; start again from the first page.")
    if field in ("updated_at", "created_at", "due_at") and value is not None:
        parsed = parse_datetime(value) if isinstance(value, str) else None
        if parsed is None:
            raise InvalidInput("The cursor is not valid; start again from the first page.")
        value = parsed
    elif (field == "number" and not isinstance(value, int)) or (
        field == "priority" and not isinstance(value, str)
    ):
        raise InvalidInput("The cursor is not valid; start again from the first page.")
    return value, pk


def paginate(
    tickets: QuerySet[Ticket], *, sort: str = "-updated_at", cursor: str | None, limit: int
) -> Page:
    descending = sort.startswith("-")
    name = sort.lstrip("-")
    if name not in SORTS:
        raise InvalidInput(f"Cannot sort by {name!r}; use one of {', '.join(SORTS)}.")
    field = SORTS[name]
    if field == "due_at":
        # Tickets without a due date come last whichever way the list runs.
        tickets = tickets.exclude(due_at__isnull=True)
    order = (f"-{field}", "-id") if descending else (field, "id")
    if cursor:
        value, pk = _decode(cursor, field)
        op = "lt" if descending else "gt"
        tickets = tickets.filter(
            Q(**{f"{field}__{op}": value}) | Q(**{field: value, f"id__{op}": pk})
        )
    rows = list(tickets.order_by(*order)[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = _encode(getattr(rows[-1], field), rows[-1].pk) if more and rows else None
    return Page(rows, next_cursor)
