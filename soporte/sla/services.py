"""SLA rules: every ticket change moves its clock; the breach watch warns, records
breaches and escalates; admins keep calendars and policies."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from copy import deepcopy
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from soporte.accounts import policy
from soporte.accounts.models import Tier, User
from soporte.accounts.services import system_user
from soporte.lib.db import insert_row, select_rows
from soporte.lib.errors import Conflict, InvalidInput
from soporte.lib.ttlcache import TtlCache
from soporte.tickets import services as tickets
from soporte.tickets.models import ACTIVE_STATUSES, EventKind, Status, Ticket, TicketEvent

from . import clock as sla
from .calendar import Calendar
from .models import (
    TIMED_TRIGGERS,
    BusinessCalendar,
    Holiday,
    OnBreach,
    Rule,
    SlaClock,
    SlaPolicy,
    Target,
    Trigger,
    WorkingHours,
    validate_time_zone,
)

log = logging.getLogger(__name__)

# Fields whose change may select another policy.
POLICY_FIELDS = frozenset({"priority", "category", "team", "organization", "channel"})
MOVING_KINDS = frozenset(
    {
        EventKind.CREATED,
        EventKind.REPLIED,
        EventKind.STATUS_CHANGED,
        EventKind.ESCALATED,
        EventKind.DEESCALATED,
        EventKind.UPDATED,
        EventKind.MERGED,
    }
)


# Policies and rules are read on every ticket change and changed rarely, by admins: each
# process keeps them up to CACHE_SECONDS. A save or delete in this process forgets them at
# once and again at its commit (receivers.py); another process sees it within that time.
CACHE_SECONDS = 1.0
_cache = TtlCache(CACHE_SECONDS)


def cached(name: str, load: Callable[[], list[Any]]) -> list[Any]:
    """load() run at most once per CACHE_SECONDS in this process; a new list each call
    (the rows in it are shared: read them, never change them)."""
    return list(_cache.get(name, load))


def forget_cached() -> None:
    """Forget the cached policies and rules (on a change of them, and between tests)."""
    _cache.clear()


def load_policies() -> list[SlaPolicy]:
    """The active policies with their calendars, in order, from the database."""
    return list(SlaPolicy.objects.filter(active=True).select_related("calendar"))


def active_policies() -> list[SlaPolicy]:
    """The active policies, in order; no query while cached (see CACHE_SECONDS)."""
    return cached("policies", load_policies)


def apply_change(ticket: Ticket, events: Sequence[TicketEvent]) -> SlaClock | None:
    """Move the ticket's clock for a change just written (inside its transaction):
    start it, pause or resume it, note who waits for whom, then recompute due times."""
    kinds = {event.kind for event in events}
    if not kinds & MOVING_KINDS:
        return None
    now = timezone.now()
    if EventKind.CREATED in kinds:
        clock = SlaClock(ticket=ticket, tier_since=ticket.created_at or now)
        chosen = sla.select_policy(ticket, active_policies())
        if ticket.status in sla.pause_statuses(chosen):
            sla.pause(clock, now)
        sla.refresh(clock, ticket, chosen)
        insert_row(clock)  # one per new ticket: the cheap statement
        return clock
    found = _load_clock(ticket)
    reselect = found is None
    loaded = _state(found) if found is not None else None
    # A ticket older than the SLA area starts counting now.
    clock = found if found is not None else SlaClock(ticket=ticket, tier_since=now)
    chosen = clock.policy
    for event in events:
        if event.kind == EventKind.REPLIED:
            if event.actor is not None and event.actor.is_agent:
                clock.awaiting_since = None
                _reset(clock, Target.NEXT_RESPONSE)
            elif ticket.first_responded_at is not None and clock.awaiting_since is None:
                clock.awaiting_since = now
        elif event.kind in (EventKind.ESCALATED, EventKind.DEESCALATED):
            clock.tier_since = now
            _reset(clock, Target.TIER)
    if (
        reselect
        or any(e.field in POLICY_FIELDS for e in events if e.kind == EventKind.UPDATED)
        or kinds & {EventKind.ESCALATED, EventKind.DEESCALATED}
    ):
        chosen = sla.select_policy(ticket, active_policies())
    if ticket.status in sla.pause_statuses(chosen):
        sla.pause(clock, now)
    else:
        sla.resume(clock, now)
    sla.refresh(clock, ticket, chosen)
    if loaded is None or _state(clock) != loaded:
        clock.save()  # most changes (a requester's reply, no policy) leave it as it was
    return clock


def _load_clock(ticket: Ticket) -> SlaClock | None:
    """The ticket's clock with its policy, taken from the cached active policies when
    it is one of them (one plain query instead of a three-table join)."""
    found = next(iter(select_rows(SlaClock, "ticket_id = %s", [ticket.pk])), None)
    if found is None or found.policy_id is None:
        return found
    policy = next((p for p in active_policies() if p.pk == found.policy_id), None)
    if policy is None:  # no longer active: read as it is now
        return SlaClock.objects.select_related("policy__calendar").get(pk=found.pk)
    found.policy = policy
    return found


def _state(clock: SlaClock) -> tuple:
    """The clock's stored values but its timestamp: whether a save would change it
    (lists copied, so a change made in place still shows; the rest, dates and ids, are
    immutable and deepcopy of a datetime is not free)."""
    values = (getattr(clock, name) for name in _CLOCK_FIELDS)
    return tuple(deepcopy(v) if isinstance(v, list | dict) else v for v in values)


_CLOCK_FIELDS = tuple(
    f.attname for f in SlaClock._meta.concrete_fields if f.name not in ("ticket", "updated_at")
)


def _reset(clock: SlaClock, target: str) -> None:
    """A target that starts over (a new wait for an answer, a new tier) may warn again."""
    clock.warned = [t for t in clock.warned if t != target]
    clock.breached = [t for t in clock.breached if t != target]


# -- the breach watch ---------------------------------------------------------------


def due_clocks(now: datetime, limit: int = 500):
    """The clocks the watch must look at (an index range on next_check_at)."""
    return (
        SlaClock.objects.filter(next_check_at__lte=now)
        .order_by("next_check_at")
        .values_list("ticket_id", flat=True)[:limit]
    )


def watch(now: datetime | None = None, limit: int = 500) -> int:
    """Warn about targets near their due time and record breaches (escalating where the
    policy says so), each as an event on the ticket; how many clocks were handled."""
    now = now or timezone.now()
    handled = 0
    for ticket_id in list(due_clocks(now, limit)):
        try:
            handled += _check(ticket_id, now)
        except Exception:  # noqa: BLE001 - one broken ticket must not stop the watch
            log.exception("SLA watch failed for ticket %s", ticket_id)
    return handled


@transaction.atomic
def _check(ticket_id: int, now: datetime) -> int:
    locked = SlaClock.objects.select_related("policy__calendar", "ticket")
    if connection.features.has_select_for_update_skip_locked:
        locked = locked.select_for_update(skip_locked=True, of=("self",))
    clock = locked.filter(ticket_id=ticket_id, next_check_at__lte=now).first()
    if clock is None:
        return 0  # another watcher has it, or it moved on
    ticket, applied = clock.ticket, clock.policy
    warnings, breaches = [], []
    for target, field in sla.DUE_FIELDS.items():
        due = getattr(clock, field)
        if due is None:
            continue
        if due <= now and target not in clock.breached:
            breaches.append((target, due))
        elif target not in clock.warned:
            warn = sla.warn_at(clock, ticket, target)
            if warn is not None and warn <= now:
                warnings.append((target, due))
    clock.warned = sorted({*clock.warned, *(t for t, _due in warnings + breaches)})
    clock.breached = sorted({*clock.breached, *(t for t, _due in breaches)})
    sla.refresh(clock, ticket, applied)
    clock.save()
    actor = system_user()
    found = [(EventKind.SLA_WARNING, w) for w in warnings]
    found += [(EventKind.SLA_BREACHED, b) for b in breaches]
    for kind, (target, due) in found:
        tickets.log_event(ticket, acting_user=actor, kind=kind, target=target, due=due.isoformat())
    if breaches and applied is not None and applied.on_breach == OnBreach.ESCALATE:
        _escalate(ticket, actor, [target for target, _due in breaches])
    return 1


def _escalate(ticket: Ticket, actor: User, breached: list[str]) -> None:
    if ticket.status not in ACTIVE_STATUSES or ticket.tier == Tier.ordered()[-1]:
        return  # nowhere higher to go: the breach event has told the team
    reason = "SLA breached: " + ", ".join(str(Target(t).label) for t in breached)
    with tickets.event_context(sla=breached):
        tickets.escalate(Ticket.objects.get(pk=ticket.pk), acting_user=actor, reason=reason)


# -- recomputing --------------------------------------------------------------------

UPDATE_SQL = (
    "UPDATE sla_slaclock SET policy_id = %s, first_response_due = %s, next_response_due = %s, "
    "resolution_due = %s, tier_due = %s, next_check_at = %s, updated_at = %s "
    "WHERE ticket_id = %s"
)
# PostgreSQL: the whole batch in one statement, a column an array, in UPDATE_SQL's order
# (2,000 single-row UPDATEs took about twice as long).
UPDATE_FROM_ARRAYS_SQL = (
    "UPDATE sla_slaclock AS c SET policy_id = v.policy_id, "
    "first_response_due = v.first_response_due, next_response_due = v.next_response_due, "
    "resolution_due = v.resolution_due, tier_due = v.tier_due, "
    "next_check_at = v.next_check_at, updated_at = v.updated_at "
    "FROM unnest(%s::bigint[], %s::timestamptz[], %s::timestamptz[], %s::timestamptz[], "
    "%s::timestamptz[], %s::timestamptz[], %s::timestamptz[], %s::bigint[]) "
    "AS v(policy_id, first_response_due, next_response_due, resolution_due, tier_due, "
    "next_check_at, updated_at, ticket_id) "
    "WHERE c.ticket_id = v.ticket_id"
)


# The ticket fields SlaPolicy.matches reads, with the status and tier to be safe: the policy
# is chosen once per distinct combination, on an unsaved ticket holding just these.
MATCH_FIELDS = (
    "status", "tier", "organization_id", "priority", "category_id", "channel", "team_id",
)  # fmt: skip
# A row of recompute_open: the ticket id, the clock's own fields, sla.Facts in its order,
# then MATCH_FIELDS.
RECOMPUTE_COLUMNS = (
    "id", "sla__pauses", "sla__warned", "sla__breached",
    "status", "created_at", "first_responded_at", "tier", "sla__tier_since", "sla__awaiting_since",
    *MATCH_FIELDS,
)  # fmt: skip


def recompute_open(batch: int = 2000, progress: Callable[[int], None] | None = None) -> int:
    """Select the policy and recompute due times of every open ticket (after policies or
    calendars change); keeps each clock's pause history. Returns how many were done.

    Reads plain rows, not model instances (building those took most of the time on
    100,000 tickets), and computes with the functions refresh() uses."""
    policies = load_policies()  # after a change: never the cached ones
    chosen: dict[tuple, SlaPolicy | None] = {}
    done = 0
    last = 0
    while True:
        with transaction.atomic():
            # The id range on both tables, so that each batch scans both from `last` on
            # (with it on one side only, PostgreSQL read the other from the first id).
            rows = list(
                Ticket.objects.filter(status__in=ACTIVE_STATUSES, id__gt=last, sla__pk__gt=last)
                .order_by("id")
                .values_list(*RECOMPUTE_COLUMNS)[:batch]
            )
            if not rows:
                return done
            now = timezone.now()
            updates = []
            for ticket_id, pauses, warned, breached, *rest in rows:
                key = tuple(rest[6:])
                if key not in chosen:
                    probe = Ticket(**dict(zip(MATCH_FIELDS, key, strict=True)))
                    chosen[key] = sla.select_policy(probe, policies)
                policy = chosen[key]
                times = sla.due_times(
                    policy,
                    sla.running_targets(sla.Facts(*rest[:6]), policy),
                    sla.parse_pauses(pauses),
                    warned,
                    breached,
                )
                updates.append(
                    (
                        policy.pk if policy else None,
                        times["first_response_due"],
                        times["next_response_due"],
                        times["resolution_due"],
                        times["tier_due"],
                        times["next_check_at"],
                        now,
                        ticket_id,
                    )
                )
            _save_due_times(updates)
        done += len(rows)
        last = rows[-1][0]
        if progress:
            progress(done)


def _save_due_times(updates: list[tuple]) -> None:
    """Write recompute_open's rows, each in UPDATE_SQL's parameter order."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            columns = [list(column) for column in zip(*updates, strict=True)]
            cursor.execute(UPDATE_FROM_ARRAYS_SQL, columns)
        else:
            cursor.executemany(UPDATE_SQL, updates)  # SQLite steps one prepared statement


# -- calendars and policies (admins) ------------------------------------------------


@dataclass(frozen=True)
class Shift:
    weekday: int
    starts: time
    ends: time  # 00:00 = midnight at the end of the day


@dataclass(frozen=True)
class HolidayIn:
    date: date
    name: str = ""
    yearly: bool = False


@transaction.atomic
def save_calendar(
    *,
    acting_user: User,
    name: str,
    time_zone: str,
    hours: Sequence[Shift],
    holidays: Sequence[HolidayIn] = (),
    calendar: BusinessCalendar | None = None,
) -> BusinessCalendar:
    """Create or replace a calendar with its hours and holidays; open tickets are then
    recomputed by a job."""
    policy.require_admin(acting_user)
    name = name.strip()
    if not name:
        raise InvalidInput(_("A calendar needs a name."))
    try:
        validate_time_zone(time_zone)
    except ValidationError as error:
        raise InvalidInput(error.messages[0]) from error
    week: list[list[tuple[int, int]]] = [[] for _day in range(7)]
    for shift in hours:
        if not 0 <= shift.weekday <= 6:
            raise InvalidInput(_("Weekdays go from 0 (Monday) to 6 (Sunday)."))
        row = WorkingHours(weekday=shift.weekday, starts=shift.starts, ends=shift.ends)
        week[shift.weekday].append(row.seconds)
    try:
        Calendar(ZoneInfo(time_zone), tuple(tuple(sorted(day)) for day in week))
    except ValueError as error:
        raise InvalidInput(
            _("The working hours are not valid: %(error)s") % {"error": error}
        ) from error
    clash = BusinessCalendar.objects.filter(name__iexact=name)
    if calendar is not None:
        clash = clash.exclude(pk=calendar.pk)
    if clash.exists():
        raise Conflict(_("A calendar named %(name)s already exists.") % {"name": name})
    if calendar is None:
        calendar = BusinessCalendar(name=name, time_zone=time_zone)
    calendar.name, calendar.time_zone = name, time_zone
    calendar.save()
    calendar.hours.all().delete()
    calendar.holidays.all().delete()
    WorkingHours.objects.bulk_create(
        WorkingHours(calendar=calendar, weekday=s.weekday, starts=s.starts, ends=s.ends)
        for s in hours
    )
    Holiday.objects.bulk_create(
        Holiday(calendar=calendar, date=h.date, name=h.name.strip()[:100], yearly=h.yearly)
        for h in holidays
    )
    _recompute_later()
    return calendar


POLICY_FIELDS_EDITABLE = frozenset(
    {
        "name", "position", "active", "organization", "priority", "category", "channel", "team",
        "calendar", "first_response_minutes", "next_response_minutes", "resolution_minutes",
        "l1_minutes", "l2_minutes", "l3_minutes", "pause_statuses", "warn_percent", "on_breach",
    }
)  # fmt: skip
PAUSABLE = frozenset({Status.PENDING_CUSTOMER, Status.PENDING_THIRD_PARTY})


@transaction.atomic
def save_policy(
    *, acting_user: User, sla_policy: SlaPolicy | None = None, **fields: Any
) -> SlaPolicy:
    """Create a policy or change some of its fields; open tickets are then recomputed."""
    policy.require_admin(acting_user)
    unknown = set(fields) - POLICY_FIELDS_EDITABLE
    if unknown:
        raise InvalidInput(_("Unknown fields: %(names)s") % {"names": ", ".join(sorted(unknown))})
    target = sla_policy or SlaPolicy()
    for name, value in fields.items():
        setattr(target, name, value)
    target.name = (target.name or "").strip()
    if not target.name:
        raise InvalidInput(_("A policy needs a name."))
    if not 1 <= target.warn_percent <= 100:
        raise InvalidInput(_("The warning share must be between 1 and 100 percent."))
    if not set(target.pause_statuses or ()) <= PAUSABLE:
        raise InvalidInput(_("Clocks can pause only while pending the customer or a third party."))
    clash = SlaPolicy.objects.filter(name__iexact=target.name).exclude(pk=target.pk)
    if clash.exists():
        raise Conflict(_("A policy named %(name)s already exists.") % {"name": target.name})
    target.save()
    _recompute_later()
    return target


def _recompute_later() -> None:
    from .tasks import recompute_open as job

    job.enqueue()


# -- automation rules (admins) ------------------------------------------------------


RULE_FIELDS = frozenset({"name", "position", "active", "trigger", "hours", "conditions", "actions"})


@transaction.atomic
def save_rule(*, acting_user: User, rule: Rule | None = None, **fields: Any) -> Rule:
    """Create a rule or change some of its fields, after checking every condition and
    action (a rule that could not run is refused with the reason)."""
    from .automation import check_actions, check_conditions

    policy.require_admin(acting_user)
    unknown = set(fields) - RULE_FIELDS
    if unknown:
        raise InvalidInput(_("Unknown fields: %(names)s") % {"names": ", ".join(sorted(unknown))})
    target = rule or Rule(created_by=acting_user)
    for name, value in fields.items():
        setattr(target, name, value)
    target.name = (target.name or "").strip()
    if not target.name:
        raise InvalidInput(_("A rule needs a name."))
    if target.trigger not in Trigger.values:
        raise InvalidInput(_("Choose when the rule runs."))
    if target.trigger in TIMED_TRIGGERS and not target.hours:
        raise InvalidInput(_("A timed rule needs a number of hours."))
    target.conditions = check_conditions(target.conditions)
    target.actions = check_actions(target.actions)
    clash = Rule.objects.filter(name__iexact=target.name).exclude(pk=target.pk)
    if clash.exists():
        raise Conflict(_("A rule named %(name)s already exists.") % {"name": target.name})
    target.save()
    return target


def delete_rule(rule: Rule, *, acting_user: User) -> None:
    policy.require_admin(acting_user)
    rule.delete()
