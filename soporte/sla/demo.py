"""Demo SLA setup: an office calendar, policies by priority, and two everyday rules."""

from __future__ import annotations

from datetime import date, time
from typing import Any

from soporte.accounts.models import Assignment
from soporte.tickets import demo
from soporte.tickets.models import Priority

from .models import BusinessCalendar, Holiday, OnBreach, Rule, SlaPolicy, Trigger, WorkingHours


@demo.register
def load(context: dict[str, Any]) -> None:
    office = BusinessCalendar.objects.create(name="Office hours", time_zone="Europe/Madrid")
    WorkingHours.objects.bulk_create(
        WorkingHours(calendar=office, weekday=day, starts=start, ends=end)
        for day in range(5)
        for start, end in ((time(9), time(14)), (time(15), time(18)))
    )
    Holiday.objects.create(calendar=office, date=date(2026, 12, 25), name="Christmas", yearly=True)
    Holiday.objects.create(calendar=office, date=date(2026, 1, 1), name="New Year", yearly=True)
    SlaPolicy.objects.create(
        name="Critical (24x7)", position=10, priority=Priority.P1, first_response_minutes=15,
        next_response_minutes=60, resolution_minutes=4 * 60, l1_minutes=30,
        on_breach=OnBreach.ESCALATE,
    )  # fmt: skip
    SlaPolicy.objects.create(
        name="High", position=20, priority=Priority.P2, calendar=office,
        first_response_minutes=60, next_response_minutes=4 * 60, resolution_minutes=8 * 60,
        l1_minutes=4 * 60, on_breach=OnBreach.ESCALATE,
    )  # fmt: skip
    SlaPolicy.objects.create(
        name="Standard", position=100, calendar=office, first_response_minutes=4 * 60,
        next_response_minutes=8 * 60, resolution_minutes=3 * 9 * 60,
    )  # fmt: skip
    Rule.objects.create(
        name="Close the loop on silent requesters", trigger=Trigger.IN_STATUS, hours=5 * 24,
        conditions=[{"field": "status", "op": "is", "value": "pending_customer"}],
        actions=[{"type": "set", "field": "status", "value": "resolved",
                  "resolution": "No reply in 5 days; reopen by replying."}],
    )  # fmt: skip
    Rule.objects.create(
        name="VPN to Infrastructure", trigger=Trigger.CREATED,
        conditions=[{"field": "subject", "op": "contains", "value": "VPN"}],
        actions=[{"type": "add_tag", "value": "vpn"}],
    )  # fmt: skip
    l1 = context["teams"]["L1"]
    l1.assignment = Assignment.ROUND_ROBIN
    l1.save(update_fields=["assignment"])
