"""Time tracking: time entries on tickets and the agents' start/stop timers.

- An agent logs time on a ticket they may work (policy.require_work): typed in ("25m",
  "1h 30m", "1:30") with a note and a billable flag, or by stopping a timer.
- One running timer per agent per ticket, stored on the server: it survives reloads and
  shows on the ticket and on the agent's home. Stopping writes the entry.
- Agents change and delete their own entries; supervisors (and admins) anyone's.
- Every change writes a "time logged" event with a summary; none bumps the ticket's
  version, so logging time never makes a reply in progress stale.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from soporte.accounts import policy
from soporte.accounts.models import User
from soporte.lib.errors import Conflict, InvalidInput, NotFound, PermissionDenied

from .models import EventKind, Message, RunningTimer, Ticket, TimeEntry
from .services import log_event

MAX_SECONDS = 86_400  # one entry: at most a day
NOTE_MAX = 500

_UNITS = {
    "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600, "hora": 3600, "horas": 3600,
    "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60, "minuto": 60, "minutos": 60,
    "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1, "segundo": 1, "segundos": 1,
}  # fmt: skip
_PART = re.compile(r"(\d+(?:[.,]\d+)?)\s*([a-z]+)")
_CLOCK = re.compile(r"(\d{1,2}):([0-5]\d)(?::([0-5]\d))?")


# -- durations ----------------------------------------------------------------------


def parse_duration(text: str) -> int:
    """Seconds in a duration as people type it: "25m", "1h 30m", "1h30", "1.5h",
    "1:30" (h:mm), "0:45:30" (h:mm:ss), or a bare number of minutes ("90").
    Pure; raises InvalidInput with a message fit to show when it cannot be read or is
    not between one second and a day."""
    value = (text or "").strip().lower()
    if not value:
        raise InvalidInput(_("Enter the time spent, e.g. 25m, 1h 30m or 1:30."))
    seconds: float | None = None
    if match := _CLOCK.fullmatch(value):
        hours, minutes, secs = match.groups()
        seconds = int(hours) * 3600 + int(minutes) * 60 + int(secs or 0)
    elif re.fullmatch(r"\d+(?:[.,]\d+)?", value):
        seconds = float(value.replace(",", ".")) * 60
    else:
        # "1h30" means 1h 30m: a trailing bare number after hours counts as minutes.
        if re.fullmatch(r".*\d\s*h[a-z]*\s*\d+", value):
            value += "m"
        total, position = 0.0, 0
        for match in _PART.finditer(value):
            if value[position : match.start()].strip(" ,+"):
                break
            number, unit = match.groups()
            if unit not in _UNITS:
                break
            total += float(number.replace(",", ".")) * _UNITS[unit]
            position = match.end()
        else:
            if position and not value[position:].strip(" ,+"):
                seconds = total
    if seconds is None:
        raise InvalidInput(
            _("“%(value)s” is not a duration; write e.g. 25m, 1h 30m or 1:30.")
            % {"value": (text or "").strip()[:40]}
        )
    seconds = round(seconds)
    if seconds < 1:
        raise InvalidInput(_("The time spent must be more than zero."))
    if seconds > MAX_SECONDS:
        raise InvalidInput(_("One time entry can be at most 24 hours; split it."))
    return seconds


def format_duration(seconds: int | None) -> str:
    """ "1h 30m", "25m", "40s"; for people, in any language (h/m/s are universal)."""
    seconds = int(seconds or 0)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours and minutes:
        return f"{hours}h {minutes}m"
    if hours:
        return f"{hours}h"
    if minutes:
        return f"{minutes}m"
    return f"{secs}s"


def _seconds(value: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_SECONDS:
        raise InvalidInput(_("The time spent must be between 1 second and 24 hours."))
    return value


def _note(note: str | None) -> str:
    note = (note or "").strip()
    if "\x00" in note:
        raise InvalidInput(_("The note contains a character that is not allowed."))
    if len(note) > NOTE_MAX:
        raise InvalidInput(_("The note is longer than %(max)s characters.") % {"max": NOTE_MAX})
    return note


def _event(ticket: Ticket, acting_user: User, summary: str, **data: Any) -> None:
    log_event(ticket, acting_user=acting_user, kind=EventKind.TIME_LOGGED, summary=summary, **data)


# -- entries ------------------------------------------------------------------------


@transaction.atomic
def log_time(
    ticket: Ticket,
    *,
    acting_user: User,
    seconds: int,
    note: str = "",
    billable: bool = False,
    started_at: datetime | None = None,
    message: Message | None = None,
) -> TimeEntry:
    """Record time the agent spent on the ticket."""
    policy.require_work(acting_user, ticket)
    seconds = _seconds(seconds)
    if message is not None and message.ticket_id != ticket.pk:
        raise InvalidInput(_("That message is not on this ticket."))
    entry = TimeEntry.objects.create(
        ticket=ticket,
        agent=acting_user,
        seconds=seconds,
        note=_note(note),
        billable=bool(billable),
        started_at=started_at,
        message=message,
    )
    _event(
        ticket,
        acting_user,
        _("%(duration)s logged") % {"duration": format_duration(seconds)},
        entry=entry.pk,
        seconds=seconds,
        billable=entry.billable,
    )
    return entry


def _require_owner(entry: TimeEntry, acting_user: User) -> None:
    if entry.agent_id != acting_user.pk and not acting_user.is_supervisor:
        raise PermissionDenied(_("Only its author or a supervisor may change a time entry."))


def get_entry(acting_user: User, ticket: Ticket, entry_id: int) -> TimeEntry:
    """An entry of the ticket (which the caller may work), or NotFound."""
    policy.require_work(acting_user, ticket)
    entry = TimeEntry.objects.select_related("agent").filter(pk=entry_id, ticket=ticket).first()
    if entry is None:
        raise NotFound(_("Time entry not found."))
    return entry


_UNSET: Any = object()


@transaction.atomic
def update_entry(
    entry: TimeEntry,
    *,
    acting_user: User,
    seconds: int = _UNSET,
    note: str = _UNSET,
    billable: bool = _UNSET,
) -> TimeEntry:
    """Change an entry: its author, or a supervisor."""
    ticket = entry.ticket
    policy.require_work(acting_user, ticket)
    _require_owner(entry, acting_user)
    # Locked, so two edits of the same entry apply one after the other.
    entry = TimeEntry.objects.select_for_update().get(pk=entry.pk)
    old = entry.seconds
    changed = []
    if seconds is not _UNSET and seconds is not None:
        entry.seconds = _seconds(seconds)
        changed.append("seconds")
    if note is not _UNSET and note is not None:
        entry.note = _note(note)
        changed.append("note")
    if billable is not _UNSET and billable is not None:
        entry.billable = bool(billable)
        changed.append("billable")
    if not changed:
        return entry
    entry.save(update_fields=[*changed, "updated_at"])
    _event(
        ticket,
        acting_user,
        _("time entry changed: %(old)s → %(new)s")
        % {"old": format_duration(old), "new": format_duration(entry.seconds)},
        entry=entry.pk,
        seconds=entry.seconds,
        billable=entry.billable,
    )
    return entry


@transaction.atomic
def delete_entry(entry: TimeEntry, *, acting_user: User) -> None:
    """Remove an entry: its author, or a supervisor. The event keeps what it was."""
    ticket = entry.ticket
    policy.require_work(acting_user, ticket)
    _require_owner(entry, acting_user)
    deleted, _rows = TimeEntry.objects.filter(pk=entry.pk).delete()
    if not deleted:
        raise NotFound(_("Time entry not found."))
    _event(
        ticket,
        acting_user,
        _("time entry of %(duration)s deleted") % {"duration": format_duration(entry.seconds)},
        entry=entry.pk,
        seconds=-entry.seconds,
    )


# -- timers -------------------------------------------------------------------------


def running_timer(ticket: Ticket, agent: User) -> RunningTimer | None:
    """The agent's timer on this ticket, if one runs. One query."""
    return RunningTimer.objects.filter(ticket=ticket, agent=agent).first()


def running_timers(agent: User) -> QuerySet[RunningTimer]:
    """Every timer the agent left running, oldest first, with its ticket."""
    return RunningTimer.objects.filter(agent=agent).select_related("ticket")


@transaction.atomic
def start_timer(ticket: Ticket, *, acting_user: User, note: str = "") -> RunningTimer:
    """Start the agent's timer on the ticket; 409 when it already runs."""
    policy.require_work(acting_user, ticket)
    try:
        with transaction.atomic():
            return RunningTimer.objects.create(
                ticket=ticket, agent=acting_user, started_at=timezone.now(), note=_note(note)
            )
    except IntegrityError:
        raise Conflict(_("Your timer is already running on this ticket.")) from None


def _take_timer(ticket: Ticket, acting_user: User) -> RunningTimer:
    """Remove the agent's timer and return it; the delete decides, so two stops at the
    same moment write one entry."""
    timer = running_timer(ticket, acting_user)
    if timer is None or not RunningTimer.objects.filter(pk=timer.pk).delete()[0]:
        raise Conflict(_("No timer of yours is running on this ticket."))
    return timer


@transaction.atomic
def stop_timer(
    ticket: Ticket,
    *,
    acting_user: User,
    note: str | None = None,
    billable: bool = False,
) -> TimeEntry:
    """Stop the agent's timer and write the time since it started as an entry (at least
    a second; a timer forgotten for more than a day writes a day, to be corrected)."""
    policy.require_work(acting_user, ticket)
    timer = _take_timer(ticket, acting_user)
    elapsed = (timezone.now() - timer.started_at).total_seconds()
    seconds = min(max(1, round(elapsed)), MAX_SECONDS)
    return log_time(
        ticket,
        acting_user=acting_user,
        seconds=seconds,
        note=timer.note if note is None else note,
        billable=billable,
        started_at=timer.started_at,
    )


@transaction.atomic
def discard_timer(ticket: Ticket, *, acting_user: User) -> None:
    """Throw the running timer away without logging anything."""
    policy.require_work(acting_user, ticket)
    _take_timer(ticket, acting_user)


# -- reading ------------------------------------------------------------------------


def ticket_entries(acting_user: User, ticket: Ticket) -> QuerySet[TimeEntry]:
    """The ticket's entries, for an agent who may work it."""
    policy.require_work(acting_user, ticket)
    return ticket.time_entries.select_related("agent").order_by("created_at", "id")


def total_seconds(ticket: Ticket) -> int:
    return ticket.time_entries.aggregate(total=Sum("seconds"))["total"] or 0


@dataclass
class EntryFilter:
    agent: int | None = None
    organization: int | None = None
    ticket: int | None = None  # a ticket number
    since: date | None = None  # logged on or after this day (the server's time zone)
    until: date | None = None  # logged on or before this day
    billable: bool | None = None


def visible_entries(acting_user: User, filters: EntryFilter | None = None) -> QuerySet[TimeEntry]:
    """Entries on the tickets this agent may see (every ticket for supervisors),
    narrowed by the filters; newest first."""
    policy.require_agent(acting_user)
    entries = TimeEntry.objects.all()
    if not acting_user.is_supervisor:
        entries = entries.filter(ticket__in=policy.visible_tickets(acting_user).values("pk"))
    f = filters or EntryFilter()
    query = Q()
    if f.agent is not None:
        query &= Q(agent_id=f.agent)
    if f.organization is not None:
        query &= Q(ticket__organization_id=f.organization)
    if f.ticket is not None:
        query &= Q(ticket__number=f.ticket)
    if f.since is not None:
        query &= Q(created_at__gte=_day_start(f.since))
    if f.until is not None:
        query &= Q(created_at__lt=_day_start(f.until) + timedelta(days=1))
    if f.billable is not None:
        query &= Q(billable=f.billable)
    if f.since and f.until and f.since > f.until:
        raise InvalidInput(_("The start date is after the end date."))
    return entries.filter(query).order_by("-created_at", "-id")


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, datetime.min.time()))
