"""CSV import of users and tickets from other systems, all or nothing per file.

A mapping file (JSON) says which column is which of our fields, how the other system's
values translate, and defaults:

    {"columns": {"Summary": "subject", "Customer e-mail": "requester_email"},
     "values": {"status": {"Abierto": "open", "Cerrado": "closed"}},
     "defaults": {"channel": "email"},
     "source": "oldcrm"}

Without one, the columns must be named as our fields. Every row is checked first; one bad
row and nothing is written, and every problem is listed (row, column, what is wrong).
Tickets with an `external_id` are remembered (ImportedRecord, source "csv:<source>"):
importing the file again skips them. Tickets are history: no mail, no rules.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from soporte.accounts import services as accounts
from soporte.accounts.models import Organization, Role, Team, Tier, User, users_with_email
from soporte.tickets.models import (
    Category,
    Channel,
    Priority,
    Status,
    Tag,
    Ticket,
)
from soporte.tickets.numbering import next_ticket_number

from . import history
from .models import ImportedRecord

MAX_ROWS = 100_000
USER_FIELDS = {
    "username", "email", "first_name", "last_name", "role", "tier", "organization",
    "language", "phone", "teams",
}  # fmt: skip
TICKET_FIELDS = {
    "external_id", "subject", "body", "requester_email", "requester_name", "status",
    "priority", "channel", "team", "assignee", "category", "tags", "created_at",
    "resolved_at", "resolution",
}  # fmt: skip


class MappingError(ValueError):
    """The mapping file cannot be used; the message says why."""


@dataclass(frozen=True)
class RowError:
    row: int  # the line number in the file, the header being line 1
    column: str
    message: str

    def __str__(self) -> str:
        return f"row {self.row}, {self.column}: {self.message}"


@dataclass
class Mapping:
    columns: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    defaults: dict[str, str] = field(default_factory=dict)
    source: str = "csv"

    @classmethod
    def load(cls, text: str | None, fields: set[str]) -> Mapping:
        if text is None:
            return cls()
        try:
            data = json.loads(text)
        except ValueError as error:
            raise MappingError(f"the mapping is not valid JSON: {error}") from None
        if not isinstance(data, dict):
            raise MappingError("the mapping must be a JSON object")
        unknown = set(data) - {"columns", "values", "defaults", "source"}
        if unknown:
            raise MappingError(f"unknown keys in the mapping: {', '.join(sorted(unknown))}")
        mapping = cls(
            columns=data.get("columns", {}),
            values=data.get("values", {}),
            defaults=data.get("defaults", {}),
            source=str(data.get("source", "csv"))[:50],
        )
        for part in (mapping.columns, mapping.values, mapping.defaults):
            if not isinstance(part, dict):
                raise MappingError("columns, values and defaults must be JSON objects")
        targets = set(mapping.columns.values()) | set(mapping.values) | set(mapping.defaults)
        wrong = targets - fields
        if wrong:
            raise MappingError(
                f"the mapping names fields that do not exist: {', '.join(sorted(wrong))} "
                f"(known: {', '.join(sorted(fields))})"
            )
        return mapping


def _read(content: bytes, mapping: Mapping, fields: set[str]) -> tuple[list[dict], list[RowError]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [], [RowError(1, "file", "not UTF-8 text")]
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        return [], [RowError(1, "file", "empty, or no header line")]
    names = [mapping.columns.get(name.strip(), name.strip()) for name in header]
    ignored = [h for h, n in zip(header, names, strict=True) if n not in fields]
    errors = [RowError(1, h, "unknown column (map it or remove it)") for h in ignored]
    rows = []
    try:
        for number, line in enumerate(reader, start=2):
            if not any(cell.strip() for cell in line):
                continue
            if len(rows) >= MAX_ROWS:
                errors.append(RowError(number, "file", f"more than {MAX_ROWS:,} rows: split it"))
                break
            if len(line) != len(names):
                errors.append(
                    RowError(number, "row", f"{len(line)} cells, the header has {len(names)}")
                )
                continue
            values = dict(mapping.defaults)
            for name, cell in zip(names, line, strict=True):
                cell = cell.strip()
                if cell:
                    values[name] = mapping.values.get(name, {}).get(cell, cell)
            rows.append({"_row": number, **values})
    except csv.Error as error:
        errors.append(RowError(reader.line_num, "file", f"unreadable CSV: {error}"))
    return rows, errors


def _choice(value: str, choices, column: str, row: int, errors: list[RowError]) -> str | None:
    normalized = value.strip().lower()
    for choice in choices:
        if normalized in (str(choice.value).lower(), str(choice.label).lower()):
            return choice.value
    errors.append(RowError(row, column, f"{value!r} is not one of {', '.join(choices.values)}"))
    return None


def _moment(value: str, column: str, row: int, errors: list[RowError]) -> datetime | None:
    moment = parse_datetime(value)
    if moment is None and (day := parse_date(value)) is not None:
        moment = datetime(day.year, day.month, day.day)
    if moment is None:
        errors.append(RowError(row, column, f"{value!r} is not a date (YYYY-MM-DD[ HH:MM])"))
        return None
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def _email(value: str, column: str, row: int, errors: list[RowError]) -> str | None:
    try:
        validate_email(value)
    except ValidationError:
        errors.append(RowError(row, column, f"{value!r} is not an email address"))
        return None
    return value.lower()


# -- users ------------------------------------------------------------------------------


@dataclass
class Result:
    created: int = 0
    skipped: int = 0
    errors: list[RowError] = field(default_factory=list)


def import_users(content: bytes, mapping_text: str | None = None) -> Result:
    mapping = Mapping.load(mapping_text, USER_FIELDS)
    rows, errors = _read(content, mapping, USER_FIELDS)
    planned, seen = [], set()
    teams = {team.name.lower(): team for team in Team.objects.all()}
    for values in rows:
        row = values["_row"]
        username = values.get("username") or values.get("email", "")
        if not username:
            errors.append(RowError(row, "username", "a username or an email is required"))
            continue
        if username.lower() in seen:
            errors.append(RowError(row, "username", f"{username} appears twice in the file"))
            continue
        seen.add(username.lower())
        email = _email(values["email"], "email", row, errors) if values.get("email") else ""
        role = _choice(values.get("role", "requester"), Role, "role", row, errors)
        tier = _choice(values["tier"], Tier, "tier", row, errors) if values.get("tier") else ""
        wanted = [
            n.strip() for n in values.get("teams", "").replace(";", ",").split(",") if n.strip()
        ]
        missing = [n for n in wanted if n.lower() not in teams]
        if missing:
            errors.append(RowError(row, "teams", f"no team named {', '.join(missing)}"))
        exists = User.objects.filter(username=username).exists() or (
            email and users_with_email(email).exists()
        )
        planned.append(
            {
                "row": row, "exists": exists, "username": username[:150], "email": email or "",
                "role": role, "tier": tier or (Tier.L1 if role != Role.REQUESTER else ""),
                "first_name": values.get("first_name", "")[:150],
                "last_name": values.get("last_name", "")[:150],
                "organization": values.get("organization", "")[:200],
                "language": values.get("language", "en")[:8],
                "teams": [teams[n.lower()] for n in wanted if n.lower() in teams],
            }
        )  # fmt: skip
    result = Result(errors=errors)
    if errors:
        return result
    with transaction.atomic():
        for plan in planned:
            if plan["exists"]:
                result.skipped += 1
                continue
            organization = None
            if plan["organization"]:
                organization, _ = Organization.objects.get_or_create(name=plan["organization"])
            accounts.create_user(
                acting_user=None,
                username=plan["username"],
                email=plan["email"],
                role=plan["role"],
                tier=plan["tier"],
                first_name=plan["first_name"],
                last_name=plan["last_name"],
                organization=organization,
                teams=plan["teams"],
                language=plan["language"] if plan["language"] in ("en", "es") else "en",
            )
            result.created += 1
    return result


# -- tickets ----------------------------------------------------------------------------


def _person(value: str) -> User | None:
    return User.objects.filter(username=value).first() or (
        users_with_email(value).first() if "@" in value else None
    )


def import_tickets(content: bytes, mapping_text: str | None = None) -> Result:
    mapping = Mapping.load(mapping_text, TICKET_FIELDS)
    rows, errors = _read(content, mapping, TICKET_FIELDS)
    source = f"csv:{mapping.source}"
    known = set(
        ImportedRecord.objects.filter(source=source, kind="ticket").values_list(
            "source_id", flat=True
        )
    )
    planned, seen_ids = [], set()
    for values in rows:
        row = values["_row"]
        external = values.get("external_id", "")[:100]
        if external and external in seen_ids:
            errors.append(RowError(row, "external_id", f"{external} appears twice in the file"))
            continue
        seen_ids.add(external)
        if not values.get("subject"):
            errors.append(RowError(row, "subject", "required"))
        requester_email = values.get("requester_email", "")
        if not requester_email:
            errors.append(RowError(row, "requester_email", "required"))
        else:
            requester_email = _email(requester_email, "requester_email", row, errors) or ""
        plan: dict[str, Any] = {
            "row": row, "external": external, "skip": bool(external) and external in known,
            "subject": values.get("subject", "")[:250], "body": values.get("body", ""),
            "requester_email": requester_email, "requester_name": values.get("requester_name", ""),
            "resolution": values.get("resolution", ""),
        }  # fmt: skip
        plan["status"] = _choice(values.get("status", "closed"), Status, "status", row, errors)
        plan["priority"] = _choice(values.get("priority", "P3"), Priority, "priority", row, errors)
        plan["channel"] = _choice(values.get("channel", "email"), Channel, "channel", row, errors)
        plan["team"] = None
        if values.get("team"):
            plan["team"] = Team.objects.filter(name__iexact=values["team"]).first()
            if plan["team"] is None:
                errors.append(RowError(row, "team", f"no team named {values['team']}"))
        plan["assignee"] = None
        if values.get("assignee"):
            plan["assignee"] = _person(values["assignee"])
            if plan["assignee"] is None or not plan["assignee"].is_agent:
                errors.append(
                    RowError(row, "assignee", f"{values['assignee']} is not an agent here")
                )
        plan["category"] = None
        if values.get("category"):
            plan["category"] = Category.objects.filter(name__iexact=values["category"]).first()
            if plan["category"] is None:
                errors.append(RowError(row, "category", f"no category named {values['category']}"))
        plan["tags"] = [
            t.strip()[:50] for t in values.get("tags", "").replace(";", ",").split(",") if t.strip()
        ]
        plan["created_at"] = (
            _moment(values["created_at"], "created_at", row, errors)
            if values.get("created_at")
            else None
        )
        plan["resolved_at"] = (
            _moment(values["resolved_at"], "resolved_at", row, errors)
            if values.get("resolved_at")
            else None
        )
        planned.append(plan)
    result = Result(errors=errors)
    if errors:
        return result
    with transaction.atomic():
        imported_tag, _ = Tag.objects.get_or_create(name="imported")
        for plan in planned:
            if plan["skip"]:
                result.skipped += 1
                continue
            ticket = _save_ticket(plan, imported_tag)
            if plan["external"]:
                ImportedRecord.objects.create(
                    source=source, kind="ticket", source_id=plan["external"], target_id=ticket.pk
                )
            result.created += 1
    return result


def _save_ticket(plan: dict, imported_tag: Tag) -> Ticket:
    requester = _person(plan["requester_email"])
    if requester is None:
        first, _, last = plan["requester_name"].partition(" ")
        requester = accounts.create_user(
            acting_user=None, username=plan["requester_email"][:150], email=plan["requester_email"],
            first_name=first[:150], last_name=last[:150],
            organization=history.organization_for(plan["requester_email"]),
        )  # fmt: skip
    created = plan["created_at"] or timezone.now()
    done = plan["status"] in (Status.RESOLVED, Status.CLOSED)
    resolved = plan["resolved_at"] or (created if done else None)
    ticket = Ticket(
        number=next_ticket_number(), subject=plan["subject"], status=plan["status"],
        priority=plan["priority"], channel=plan["channel"], requester=requester,
        organization=requester.organization, assignee=plan["assignee"], team=plan["team"],
        category=plan["category"], resolution=plan["resolution"], created_at=created,
        updated_at=resolved or created, resolved_at=resolved if done else None,
        closed_at=resolved if plan["status"] == Status.CLOSED else None,
    )  # fmt: skip
    history.open_imported(
        ticket,
        body=plan["body"] or plan["subject"],
        created=created,
        data={"imported_from": "csv", "summary": "imported from a CSV file"},
    )
    tags = [imported_tag] + [Tag.objects.get_or_create(name=name)[0] for name in plan["tags"]]
    ticket.tags.add(*tags)
    transaction.on_commit(lambda: _index(ticket.pk))
    return ticket


def _index(ticket_id: int) -> None:
    from soporte.search.services import index_ticket

    index_ticket(ticket_id)
