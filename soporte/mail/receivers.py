"""Connections to other areas' signals: a committed ticket change may send mail."""

from __future__ import annotations

import logging

from django.dispatch import receiver

from soporte.tickets.signals import ticket_changed

log = logging.getLogger(__name__)


@receiver(ticket_changed, dispatch_uid="mail.notify_on_ticket_change")
def notify_on_ticket_change(
    sender, *, ticket_id: int, event_kinds: list[str], acting_user_id: int | None, **kwargs
) -> None:
    """Queue the job that records and sends the mail the change calls for: the request
    that made the change does not wait for it. Sent inside the change's transaction, so
    the job is committed with the change or not at all."""
    from .outbound import NOTIFYING_EVENTS
    from .tasks import notify_change

    if not NOTIFYING_EVENTS.intersection(event_kinds):
        return  # notes, assignments, escalations...: nothing to mail, nothing to queue
    notify_change.enqueue(ticket_id, list(event_kinds), acting_user_id)
