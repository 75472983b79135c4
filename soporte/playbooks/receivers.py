"""Connections to the tickets area: a ticket opened with a category, or moved to one,
gets that category's checklists; required steps hold back its resolution."""

from __future__ import annotations

import logging

from django.db import transaction
from django.dispatch import receiver

from soporte.accounts.models import User
from soporte.tickets.guards import register_resolve_guard
from soporte.tickets.models import EventKind
from soporte.tickets.signals import ticket_changed

from . import services

log = logging.getLogger(__name__)

register_resolve_guard(services.resolve_guard)


def _category_set(event_kinds: list[str], events) -> bool:
    if EventKind.CREATED in event_kinds:
        return True
    return any(e.kind == EventKind.UPDATED and e.field == "category" for e in events or ())


@receiver(ticket_changed, dispatch_uid="playbooks.checklists_for_category")
def on_ticket_changed(
    sender, *, ticket, event_kinds: list[str], acting_user_id: int | None, events=(), **kwargs
) -> None:
    if ticket.category_id is None or not _category_set(event_kinds, events):
        return
    actor = User.objects.filter(pk=acting_user_id).first() if acting_user_id else None
    if actor is not None and not actor.is_agent:
        actor = None  # a requester's ticket: the history says the system added it
    try:
        with transaction.atomic():  # a savepoint: a failure here never fails the ticket
            services.attach_for_category(ticket, acting_user=actor)
    except Exception:  # noqa: BLE001 - the ticket stands; the log shows the bug
        log.exception("Checklists for ticket %s could not be attached", ticket.pk)
