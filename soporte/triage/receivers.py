"""Connections to the tickets area: a new ticket queues its triage job (it runs after
commit, so opening a ticket never waits on the model); a suggested field an agent changes
afterwards is recorded as a correction for the next training; a changed subject is
embedded again."""

from __future__ import annotations

from django.dispatch import receiver

from soporte.tickets.models import EventKind
from soporte.tickets.signals import ticket_changed

from .models import FIELDS


@receiver(ticket_changed, dispatch_uid="triage.on_ticket_changed")
def on_ticket_changed(sender, *, ticket, event_kinds: list[str], events, **kwargs) -> None:
    if EventKind.CREATED in event_kinds:
        from .tasks import triage_ticket

        triage_ticket.enqueue(ticket.pk)
        return
    if EventKind.UPDATED not in event_kinds:
        return
    updated = {e.field for e in events if e.kind == EventKind.UPDATED}
    if "subject" in updated:  # the stored sentence vector says what the old subject did
        from .tasks import embed

        embed.enqueue(ticket.pk)
    changed = updated & set(FIELDS)
    if changed:
        from .services import record_corrections

        record_corrections(ticket, changed)
