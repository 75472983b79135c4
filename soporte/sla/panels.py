"""The SLA box on the agent's ticket page: each target's due time, time left and state."""

from __future__ import annotations

from django.utils import timezone

from soporte.tickets import panels

from . import clock as sla
from .calendar import business_seconds
from .models import SlaClock, Target


@panels.register
def sla_panel(ticket, user):
    if not user.is_agent:
        return None
    clock = SlaClock.objects.filter(ticket=ticket).select_related("policy__calendar").first()
    if clock is None or clock.policy is None:
        return None
    now = timezone.now()
    running = sla.targets(clock, ticket, clock.policy)
    calendar = sla.engine_calendar(clock.policy.calendar)
    rows = []
    for target, field in sla.DUE_FIELDS.items():
        due = getattr(clock, field)
        breached = target in clock.breached
        if target in running:
            since, minutes = running[target]
            if due is None:
                spent = business_seconds(calendar, since, now, sla.parsed_pauses(clock))
                rows.append(_row(target, "paused", None, max(minutes * 60 - spent, 0)))
            elif due <= now or breached:
                rows.append(_row(target, "breached", due, None))
            else:
                state = "warning" if target in clock.warned else "running"
                rows.append(_row(target, state, due, int((due - now).total_seconds())))
        elif _met(target, ticket):
            rows.append(_row(target, "met_late" if breached else "met", None, None))
    if not rows:
        return None
    return "sla/_panel.html", {"policy": clock.policy, "rows": rows}


def _met(target: str, ticket) -> bool:
    if target == Target.FIRST_RESPONSE:
        return ticket.first_responded_at is not None
    return target == Target.RESOLUTION and ticket.resolved_at is not None and not ticket.is_active


def _row(target: str, state: str, due, left: int | None) -> dict:
    return {"label": Target(target).label, "state": state, "due": due, "left": left}
