"""Every ticket change, in its own transaction: the SLA clock moves, then automation
rules and team assignment run. A change of policies, rules or calendars empties their
cache in this process (services.cached)."""

from __future__ import annotations

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from soporte.tickets.signals import ticket_changed

from .automation import on_change
from .models import BusinessCalendar, Rule, SlaPolicy
from .services import apply_change, forget_cached


@receiver(ticket_changed, dispatch_uid="sla.move_clock")
def move_clock(sender, *, ticket, events, **kwargs) -> None:
    apply_change(ticket, events)
    on_change(ticket, events)


@receiver([post_save, post_delete], sender=SlaPolicy, dispatch_uid="sla.forget_policies")
@receiver([post_save, post_delete], sender=Rule, dispatch_uid="sla.forget_rules")
@receiver([post_save, post_delete], sender=BusinessCalendar, dispatch_uid="sla.forget_calendars")
def forget_on_change(sender, **kwargs) -> None:
    # Now, for the rest of this transaction; and at the commit, in case another thread
    # of this process read the rows again before it.
    forget_cached()
    transaction.on_commit(forget_cached)
