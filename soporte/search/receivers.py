"""Connections to other areas' signals: a ticket change is indexed once committed."""

from __future__ import annotations

from django.dispatch import receiver

from soporte.tickets.signals import ticket_changed


@receiver(ticket_changed, dispatch_uid="search.index_on_ticket_change")
def on_ticket_changed(
    sender, *, ticket_id: int, event_kinds: list[str], acting_user_id: int | None, **kwargs
) -> None:
    """Queue the indexing of the ticket's new or changed text (job search.index_tickets):
    one row written with the change; the worker indexes many changed tickets at once."""
    from .tasks import index_tickets

    index_tickets.enqueue(ticket_id)
