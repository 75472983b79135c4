"""Connections to other areas' signals: a ticket change is indexed once committed."""

from __future__ import annotations

from django.dispatch import receiver

from soporte.tickets.models import EventKind
from soporte.tickets.signals import ticket_changed

# Changes that only record a link or a clock event: no subject, resolution or message
# changes with them (what does comes with its own event), so there is nothing to index.
# Triage and the SLA watch send them for most new tickets; skipping them halves the jobs.
_TEXT_UNCHANGED = frozenset(
    {
        EventKind.PROBLEM_LINKED,
        EventKind.PROBLEM_UNLINKED,
        EventKind.INCIDENT_LINKED,
        EventKind.DUPLICATE_FLAGGED,
        EventKind.SLA_WARNING,
        EventKind.SLA_BREACHED,
    }
)


@receiver(ticket_changed, dispatch_uid="search.index_on_ticket_change")
def on_ticket_changed(
    sender, *, ticket_id: int, event_kinds: list[str], acting_user_id: int | None, **kwargs
) -> None:
    """Queue the indexing of the ticket's new or changed text (job search.index_tickets):
    one row written with the change; the worker indexes many changed tickets at once."""
    if event_kinds and _TEXT_UNCHANGED.issuperset(event_kinds):
        return
    from .tasks import index_tickets

    index_tickets.enqueue(ticket_id)
