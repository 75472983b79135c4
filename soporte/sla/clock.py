"""A ticket's SLA clock: which policy applies, when each target is due, and when the
breach watch must look next. Pure computation over rows already loaded; no writes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from soporte.accounts.models import Tier
from soporte.tickets.models import Status, Ticket

from .calendar import ALWAYS, Calendar, Pause, add_business_seconds
from .models import BusinessCalendar, SlaClock, SlaPolicy, Target

# Resolved and closed tickets never run a clock, whatever the policy says.
ALWAYS_PAUSED = frozenset({Status.RESOLVED, Status.CLOSED})

_calendars: dict[tuple[int, datetime], Calendar] = {}


def engine_calendar(calendar: BusinessCalendar | None) -> Calendar:
    """The calendar in the engine's form, cached until the calendar changes (queries its
    hours and holidays the first time)."""
    if calendar is None:
        return ALWAYS
    key = (calendar.pk, calendar.updated_at)
    cached = _calendars.get(key)
    if cached is None:
        week: list[list[tuple[int, int]]] = [[] for _day in range(7)]
        for shift in calendar.hours.all():
            week[shift.weekday].append(shift.seconds)
        holidays = list(calendar.holidays.all())
        cached = Calendar(
            ZoneInfo(calendar.time_zone),
            tuple(tuple(sorted(day)) for day in week),
            frozenset(h.date for h in holidays if not h.yearly),
            frozenset((h.date.month, h.date.day) for h in holidays if h.yearly),
        )
        if len(_calendars) > 256:
            _calendars.clear()
        _calendars[key] = cached
    return cached


def select_policy(ticket: Ticket, policies: Iterable[SlaPolicy]) -> SlaPolicy | None:
    """The first active policy, in order, whose conditions the ticket meets."""
    return next((p for p in policies if p.active and p.matches(ticket)), None)


def pause_statuses(policy: SlaPolicy | None) -> frozenset[str]:
    configured = policy.pause_statuses if policy is not None else ()
    return ALWAYS_PAUSED | frozenset(configured)


def parsed_pauses(clock: SlaClock) -> list[Pause]:
    return parse_pauses(clock.pauses)


def parse_pauses(pauses: Sequence[Sequence[Any]]) -> list[Pause]:
    """The stored [start, end] ISO strings as datetimes (end None while still paused)."""
    return [
        (datetime.fromisoformat(start), datetime.fromisoformat(end) if end else None)
        for start, end in pauses
    ]


def pause(clock: SlaClock, at: datetime) -> None:
    if not clock.paused:
        clock.pauses = [*clock.pauses, [at.isoformat(), None]]


def resume(clock: SlaClock, at: datetime) -> None:
    if clock.paused:
        start = clock.pauses[-1][0]
        clock.pauses = [*clock.pauses[:-1], [start, at.isoformat()]]


def tier_minutes(policy: SlaPolicy, tier: str) -> int | None:
    return {Tier.L1: policy.l1_minutes, Tier.L2: policy.l2_minutes, Tier.L3: policy.l3_minutes}[
        Tier(tier)
    ]


class Facts(NamedTuple):
    """What the running targets depend on, from the ticket and its clock; read straight
    from rows when recomputing many tickets, where model instances cost the most."""

    status: str
    created_at: datetime
    first_responded_at: datetime | None
    tier: str
    tier_since: datetime
    awaiting_since: datetime | None


def targets(clock: SlaClock, ticket: Ticket, policy: SlaPolicy | None) -> dict[str, tuple]:
    """Each running target: name -> (counted from, minutes)."""
    facts = Facts(
        ticket.status,
        ticket.created_at,
        ticket.first_responded_at,
        ticket.tier,
        clock.tier_since,
        clock.awaiting_since,
    )
    return running_targets(facts, policy)


def running_targets(facts: Facts, policy: SlaPolicy | None) -> dict[str, tuple]:
    """Each running target: name -> (counted from, minutes)."""
    if policy is None or facts.status in ALWAYS_PAUSED:
        return {}
    running: dict[str, tuple] = {}
    if facts.first_responded_at is None and policy.first_response_minutes:
        running[Target.FIRST_RESPONSE] = (facts.created_at, policy.first_response_minutes)
    if (
        facts.first_responded_at is not None
        and facts.awaiting_since is not None
        and policy.next_response_minutes
    ):
        running[Target.NEXT_RESPONSE] = (facts.awaiting_since, policy.next_response_minutes)
    if policy.resolution_minutes:
        running[Target.RESOLUTION] = (facts.created_at, policy.resolution_minutes)
    minutes = tier_minutes(policy, facts.tier)
    if minutes:
        running[Target.TIER] = (facts.tier_since, minutes)
    return running


DUE_FIELDS = {
    Target.FIRST_RESPONSE: "first_response_due",
    Target.NEXT_RESPONSE: "next_response_due",
    Target.RESOLUTION: "resolution_due",
    Target.TIER: "tier_due",
}


def refresh(clock: SlaClock, ticket: Ticket, policy: SlaPolicy | None) -> None:
    """Recompute every due time and the next check from the ticket, the policy and the
    clock's pause history (so time already elapsed and paused is kept)."""
    clock.policy = policy
    times = due_times(
        policy, targets(clock, ticket, policy), parsed_pauses(clock), clock.warned, clock.breached
    )
    for field, value in times.items():
        setattr(clock, field, value)


def due_times(
    policy: SlaPolicy | None,
    running: dict[str, tuple],
    pauses: list[Pause],
    warned: Iterable[str],
    breached: Iterable[str],
) -> dict[str, datetime | None]:
    """Each due-time field of the clock, and next_check_at: the earliest due time not yet
    breached or warning time not yet warned about."""
    calendar = engine_calendar(policy.calendar if policy is not None else None)
    times: dict[str, datetime | None] = {}
    checks: list[datetime] = []
    for target, field in DUE_FIELDS.items():
        if target not in running:
            times[field] = None
            continue
        since, minutes = running[target]
        due = add_business_seconds(calendar, since, minutes * 60, pauses)
        times[field] = due
        if due is None:
            continue  # paused: nothing can fall due until the clock runs again
        if target not in breached:
            checks.append(due)
        if target not in warned and policy is not None and policy.warn_percent < 100:
            warn = add_business_seconds(
                calendar, since, minutes * 60 * policy.warn_percent // 100, pauses
            )
            if warn is not None:
                checks.append(warn)
    times["next_check_at"] = min(checks, default=None)
    return times


def warn_at(clock: SlaClock, ticket: Ticket, target: str) -> datetime | None:
    """When the warning for a running target is (or was) due."""
    policy = clock.policy
    running = targets(clock, ticket, policy)
    if policy is None or target not in running:
        return None
    since, minutes = running[target]
    calendar = engine_calendar(policy.calendar)
    return add_business_seconds(
        calendar, since, minutes * 60 * policy.warn_percent // 100, parsed_pauses(clock)
    )
