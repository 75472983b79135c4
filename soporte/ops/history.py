"""Writing history from elsewhere as it was (imports and restores): raw inserts that keep
the given times (auto_now fields included) and run no save() rule or signal, so nothing
is announced; and an imported ticket's first message and "created" event."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import connection, models

from soporte.accounts.models import Organization
from soporte.tickets.models import EventKind, Message, MessageKind, Ticket, TicketEvent

BATCH = 1000


def _columns(model: type[models.Model], *, with_pk: bool) -> list[models.Field]:
    fields = [f for f in model._meta.concrete_fields if not f.generated]
    return fields if with_pk else [f for f in fields if not f.primary_key]


def _manager(model: type[models.Model]) -> Any:
    # _insert is the raw path loaddata takes; the typing stubs do not list it.
    return model._base_manager


def insert_rows(model: type[models.Model], rows: list[models.Model]) -> None:
    """Insert rows with their primary keys, in batches the database accepts."""
    fields = _columns(model, with_pk=True)
    size = max(1, min(BATCH, connection.ops.bulk_batch_size(fields, rows)))
    for start in range(0, len(rows), size):
        _manager(model)._insert(rows[start : start + size], fields=fields, raw=True)


def insert_one(model: type[models.Model], obj: models.Model) -> int:
    """Insert one new row and set its primary key."""
    rows = _manager(model)._insert(
        [obj], fields=_columns(model, with_pk=False), returning_fields=[model._meta.pk], raw=True
    )
    obj.pk = rows[0][0]
    return obj.pk


def open_imported(ticket: Ticket, *, body: str, created: datetime, data: dict[str, Any]) -> Ticket:
    """Insert an imported ticket with the requester's first message and its "created"
    event (whose data says where it came from), all at `created`."""
    insert_one(Ticket, ticket)
    first = Message(
        ticket=ticket, kind=MessageKind.REPLY, author=ticket.requester, channel=ticket.channel,
        body_text=body, created_at=created,
    )  # fmt: skip
    insert_one(Message, first)
    event = TicketEvent(
        ticket=ticket, actor=None, kind=EventKind.CREATED, created_at=created, data=data
    )
    insert_one(TicketEvent, event)
    return ticket


def organization_for(address: str) -> Organization | None:
    """The organization owning the address's domain, if any."""
    from soporte.mail.services import domain_owner

    owner = domain_owner(address) if "@" in address else None
    return owner.organization if owner else None
