"""The SLA clock moves with every ticket change, in the change's own transaction."""

from __future__ import annotations

from django.dispatch import receiver

from soporte.tickets.signals import ticket_changed

from .services import apply_change


@receiver(ticket_changed, dispatch_uid="sla.move_clock")
def move_clock(sender, *, ticket, events, **kwargs) -> None:
    apply_change(ticket, events)
