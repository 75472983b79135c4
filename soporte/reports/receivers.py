"""Connections to the tickets area: every ticket change updates the daily rollups in its
own transaction (rollups.refresh_ticket), so the dashboard never scans the tickets; a
change nothing reportable in is skipped after one read."""

from __future__ import annotations

import logging

from django.db import transaction
from django.dispatch import receiver

from soporte.tickets.models import EventKind
from soporte.tickets.signals import ticket_changed

from . import rollups

log = logging.getLogger(__name__)


@receiver(ticket_changed, dispatch_uid="reports.rollups")
def update_rollups(sender, *, ticket_id: int, ticket, event_kinds: list[str], **kwargs) -> None:
    opened = ticket if list(event_kinds) == [EventKind.CREATED] else None
    try:
        with transaction.atomic():  # a savepoint: a failure here never fails the change
            rollups.refresh_ticket(ticket_id, opened=opened, ticket=ticket, kinds=event_kinds)
    except Exception:  # noqa: BLE001 - the change stands; `soporte rebuild_rollups` repairs
        log.exception("rollups of ticket %s not updated", ticket_id)
