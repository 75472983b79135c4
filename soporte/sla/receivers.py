"""Every ticket change, in its own transaction: the SLA clock moves, then automation
rules and team assignment run."""

from __future__ import annotations

from django.dispatch import receiver

from soporte.tickets.signals import ticket_changed

from .automation import on_change
from .services import apply_change


@receiver(ticket_changed, dispatch_uid="sla.move_clock")
def move_clock(sender, *, ticket, events, **kwargs) -> None:
    apply_change(ticket, events)
    on_change(ticket, events)
