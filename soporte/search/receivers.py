"""Connections to other areas' signals: a ticket change is indexed with it."""

from __future__ import annotations

import logging

from django.dispatch import receiver

from soporte.tickets.signals import ticket_changed

log = logging.getLogger(__name__)


@receiver(ticket_changed, dispatch_uid="search.index_on_ticket_change")
def on_ticket_changed(
    sender, *, ticket_id: int, event_kinds: list[str], acting_user_id: int | None, **kwargs
) -> None:
    """Index the ticket's new or changed text, in the change's transaction: a few queries,
    run in a savepoint, so an error is logged and rolled back alone rather than failing
    the change; `soporte reindex` repairs anything missed."""
    from .services import index_ticket

    try:
        index_ticket(ticket_id)
    except Exception:  # noqa: BLE001 - the change stands; the log shows the bug
        log.exception("Ticket %s could not be indexed for search", ticket_id)
