"""Connections to the tickets area: every ticket change updates the daily rollups in its
own transaction (rollups.refresh_ticket), so the dashboard never scans the tickets; a
change nothing reportable in is skipped after one read. Changes made in a batch
(tickets.services.batch_of_changes: inbound mail) are noted and refreshed together
when the batch ends, in the same transaction (rollups.refresh_tickets)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.dispatch import receiver

from soporte.tickets.models import EventKind
from soporte.tickets.services import ChangeBatch, current_change_batch
from soporte.tickets.signals import change_batch_ending, ticket_changed

from . import rollups

log = logging.getLogger(__name__)


@receiver(ticket_changed, dispatch_uid="reports.rollups")
def update_rollups(sender, *, ticket_id: int, ticket, event_kinds: list[str], **kwargs) -> None:
    opened = ticket if list(event_kinds) == [EventKind.CREATED] else None
    batch = current_change_batch()
    if batch is not None:
        noted = batch.deferred.setdefault(BATCH_KEY, _Noted())
        if opened is not None and ticket_id not in noted.changed:
            # Assigned, not kept: SQLite may reuse the id of a ticket a savepoint undid.
            noted.opened[ticket_id] = opened
        else:
            first = ticket_id not in noted.changed and noted.opened.pop(ticket_id, None) is None
            noted.changed.add(ticket_id)
            # Quiet while every change of the batch is one that cannot count (most replies).
            if (first or ticket_id in noted.quiet) and rollups.cannot_count(ticket, event_kinds):
                noted.quiet[ticket_id] = ticket
            else:
                noted.quiet.pop(ticket_id, None)
        return
    try:
        with transaction.atomic():  # a savepoint: a failure here never fails the change
            rollups.refresh_ticket(ticket_id, opened=opened, ticket=ticket, kinds=event_kinds)
    except Exception:  # noqa: BLE001 - the change stands; `soporte rebuild_rollups` repairs
        log.exception("rollups of ticket %s not updated", ticket_id)


BATCH_KEY = "reports.rollups"


@dataclass
class _Noted:
    opened: dict[int, Any] = field(default_factory=dict)  # only opened in the batch
    changed: set[int] = field(default_factory=set)
    quiet: dict[int, Any] = field(default_factory=dict)  # changed, by nothing that counts


@receiver(change_batch_ending, dispatch_uid="reports.rollups_of_batch")
def update_rollups_of_batch(sender, *, batch: ChangeBatch, **kwargs) -> None:
    noted = batch.deferred.get(BATCH_KEY)
    if noted is None:
        return
    try:
        with transaction.atomic():  # as above: a failure here never fails the changes
            rollups.refresh_tickets(noted.changed, opened=noted.opened, quiet=noted.quiet)
    except Exception:  # noqa: BLE001 - the changes stand; `soporte rebuild_rollups` repairs
        log.exception("rollups of %s tickets not updated", len(noted.changed | noted.opened.keys()))
