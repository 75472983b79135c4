"""Connections to the tickets area: a requester who opens a ticket right after reading
suggested articles was not helped by them (services.ticket_opened)."""

from __future__ import annotations

import logging

from django.db import transaction
from django.dispatch import receiver

from soporte.tickets.models import EventKind
from soporte.tickets.signals import ticket_changed

log = logging.getLogger(__name__)


@receiver(ticket_changed, dispatch_uid="kb.deflection_on_ticket_created")
def on_ticket_changed(
    sender, *, ticket, event_kinds: list[str], acting_user_id: int | None, **kwargs
) -> None:
    if EventKind.CREATED not in event_kinds or acting_user_id is None:
        return
    if ticket.requester_id != acting_user_id:
        return  # an agent opened it for someone: not the requester's own decision
    from .services import ticket_opened

    try:
        with transaction.atomic():  # a savepoint: a failure here never fails the ticket
            ticket_opened(acting_user_id)
    except Exception:  # noqa: BLE001 - the ticket stands; the log shows the bug
        log.exception("Deflections of user %s could not be updated", acting_user_id)
