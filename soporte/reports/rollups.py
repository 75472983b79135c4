"""Daily rollups, maintained incrementally.

A ticket's contribution is a pure function of the ticket, its events, its time entries and
its satisfaction ratings (`contribution`): counters keyed by (day, team, organization,
category, channel, tier, agent). Ticket metrics are kept under the ticket's CURRENT team,
organization, category and channel (moving a ticket to another team moves its history
too); the agent is the current assignee, except for logged time (the agent who logged it)
and ratings (the assignee at resolution, as recorded with the rating).

On every ticket change (receivers.py, inside the change's transaction) the ticket's
previous contribution is subtracted and the new one added with additive upserts
(INSERT ... ON CONFLICT DO UPDATE SET c = c + excluded.c), so concurrent changes of
different tickets never overwrite each other. `rebuild` recomputes everything.

A change that leaves the ticket's reportable fields alone and whose events cannot count
(a requester's reply to an open ticket, a note, an attachment: most of inbound mail) is
skipped after one indexed read (`unchanged`).

The dashboard reads coarse projections of the daily rollups (DaySeries, DayFacet), derived
from them in SQL per day (`derive`). Each change records the days it touched (StaleDay);
`refresh_stale` derives those days again, and runs before every dashboard read, so the
projections always equal the sums of the daily rollups when read.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.apps import apps
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from soporte.accounts.models import STAFF_ROLES
from soporte.lib.db import insert_rows
from soporte.sla.calendar import ALWAYS, Calendar, business_seconds
from soporte.sla.clock import engine_calendar
from soporte.sla.models import BusinessCalendar, SlaClock, SlaPolicy
from soporte.tickets.models import EventKind, Status, Ticket, TicketEvent

from . import histogram
from .models import (
    DIMENSIONS,
    FACET_COLUMNS,
    FILTERS,
    GROUPS,
    VALUE_COLUMNS,
    DailyRollup,
    DayFacet,
    DaySeries,
    StaleDay,
    TicketContribution,
)

Key = tuple[str, int, int, int, str, str, int]  # day ISO + DIMENSIONS
Contribution = dict[Key, dict[str, int]]

EVENT_KINDS = (
    EventKind.REPLIED,
    EventKind.STATUS_CHANGED,
    EventKind.ESCALATED,
    EventKind.DEESCALATED,
    EventKind.SLA_BREACHED,
)
DONE = (Status.RESOLVED, Status.CLOSED)
# Kinds of event that can change a contribution even when the ticket's reportable fields
# stay the same: tier moves, breaches, time, ratings, merges; edits, triage and macros may
# change the SLA policy, so its calendar (which only matters once there is a response).
COUNTED_KINDS = frozenset(
    {
        *EVENT_KINDS,
        EventKind.CREATED,
        EventKind.TIME_LOGGED,
        EventKind.RATED,
        EventKind.MERGED,
    }
)
POLICY_KINDS = frozenset({EventKind.UPDATED, EventKind.TRIAGED, EventKind.MACRO_APPLIED})
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
TICKET_FIELDS = (
    "id",
    "status",
    "channel",
    "tier",
    "team_id",
    "organization_id",
    "category_id",
    "assignee_id",
    "created_at",
    "first_responded_at",
    "resolved_at",
)


def day_of(moment: datetime) -> str:
    """The day a moment counts for: its date in the server's time zone (never the viewer's,
    so every person sees the same figures)."""
    return timezone.localtime(moment, timezone.get_default_timezone()).date().isoformat()


def signature(ticket: Any) -> str:
    """The ticket fields its contribution reads (the resolution only once it counts)."""

    def micros(moment: datetime | None) -> str:
        return "" if moment is None else str((moment - EPOCH) // timedelta(microseconds=1))

    done = ticket.status in DONE
    return "|".join(
        (
            "d" if done else "a",
            str(ticket.channel),
            str(ticket.tier),
            str(ticket.team_id or 0),
            str(ticket.organization_id or 0),
            str(ticket.category_id or 0),
            str(ticket.assignee_id or 0),
            micros(ticket.created_at),
            micros(ticket.first_responded_at),
            micros(ticket.resolved_at) if done else "",
        )
    )


def cannot_count(ticket: Any, kinds: Iterable[str]) -> bool:
    """Whether events of these kinds leave the contribution as it was, provided the
    ticket's signature did not change: replies and status changes only count once the
    ticket is resolved; policy changes only once a duration is measured."""
    done = ticket.status in DONE
    measured = done or ticket.first_responded_at is not None
    for kind in kinds:
        if kind in COUNTED_KINDS and not (
            kind in (EventKind.REPLIED, EventKind.STATUS_CHANGED) and not done
        ):
            return False
        if kind in POLICY_KINDS and measured:
            return False
    return True


def time_entry_model():
    """tickets.TimeEntry once the tickets area has it, else None."""
    try:
        return apps.get_model("tickets", "TimeEntry")
    except LookupError:
        return None


def rating_model():
    try:
        return apps.get_model("tickets", "SatisfactionRating")
    except LookupError:
        return None


# -- one ticket's contribution (pure) ----------------------------------------------------


def contribution(
    ticket: Any,
    events: Sequence[dict[str, Any]],
    calendar: Calendar,
    time_entries: Iterable[dict[str, Any]] = (),
    ratings: Iterable[dict[str, Any]] = (),
) -> Contribution:
    """The counters a ticket adds to the rollups.

    `events` are dicts with kind, field, old, new, created_at and actor_role, oldest first;
    `time_entries` dicts with agent_id, seconds, billable, started_at, created_at;
    `ratings` dicts with rating, agent_id, team_id, created_at.
    """
    result: Contribution = defaultdict(lambda: defaultdict(int))
    team, org, cat = ticket.team_id or 0, ticket.organization_id or 0, ticket.category_id or 0
    agent = ticket.assignee_id or 0

    def add(moment: datetime, values: dict[str, int], *, tier: str = "", who: int = -1, to=0):
        key = (
            day_of(moment),
            to or team,
            org,
            cat,
            ticket.channel,
            tier or ticket.tier,
            agent if who < 0 else who,
        )
        row = result[key]
        for name, value in values.items():
            row[name] += value

    # 1. Volume, and the tier the ticket arrived at (the first tier move says where it was).
    moves = [e for e in events if e["kind"] in (EventKind.ESCALATED, EventKind.DEESCALATED)]
    first_tier = moves[0]["old"] if moves else ticket.tier
    add(ticket.created_at, {"created": 1})
    add(ticket.created_at, {"entered": 1}, tier=first_tier)
    for move in moves:
        add(move["created_at"], {"entered": 1}, tier=move["new"])
        if move["kind"] == EventKind.ESCALATED:
            add(move["created_at"], {"escalated": 1}, tier=move["old"])
    # 2. First response, in business seconds since the ticket was opened.
    if ticket.first_responded_at is not None:
        seconds = business_seconds(calendar, ticket.created_at, ticket.first_responded_at)
        add(
            ticket.first_responded_at,
            {"fr_count": 1, "fr_seconds": seconds, f"fr_h{histogram.bucket(seconds)}": 1},
        )
    # 3. Resolution: counted once, on the day of the last resolution.
    if ticket.status in DONE and ticket.resolved_at is not None:
        seconds = business_seconds(calendar, ticket.created_at, ticket.resolved_at)
        reopened = any(
            e["kind"] == EventKind.STATUS_CHANGED and e["old"] in DONE and e["new"] not in DONE
            for e in events
        )
        agent_replies = sum(
            1 for e in events if e["kind"] == EventKind.REPLIED and e["actor_role"] in STAFF_ROLES
        )
        breached = any(e["kind"] == EventKind.SLA_BREACHED for e in events)
        add(
            ticket.resolved_at,
            {
                "resolved": 1,
                "res_seconds": seconds,
                f"res_h{histogram.bucket(seconds)}": 1,
                "fcr": int(agent_replies <= 1 and not reopened),
                "reopened": int(reopened),
                "sla_breached": int(breached),
            },
        )
    # 4. Time logged, under the agent who logged it.
    for entry in time_entries:
        seconds = max(0, int(entry["seconds"] or 0))
        add(
            entry["started_at"] or entry["created_at"],
            {"time_seconds": seconds, "billable_seconds": seconds if entry["billable"] else 0},
            who=entry["agent_id"] or 0,
        )
    # 5. Satisfaction, under the assignee and team at resolution.
    for rating in ratings:
        score = int(rating["rating"])
        add(
            rating["created_at"],
            {"csat_count": 1, "csat_sum": score, "csat_good": int(score >= 4)},
            who=rating["agent_id"] or 0,
            to=rating["team_id"] or 0,
        )
    return {key: {k: v for k, v in row.items() if v} for key, row in result.items()}


def to_rows(contrib: Contribution) -> list[list[Any]]:
    return [[*key, values] for key, values in sorted(contrib.items())]


def from_rows(rows: Iterable[Sequence[Any]]) -> Contribution:
    return {tuple(row[:7]): dict(row[7]) for row in rows}  # type: ignore[misc]


def difference(new: Contribution, old: Contribution) -> Contribution:
    """new - old, without the keys and counters that did not change."""
    delta: Contribution = {}
    for key in new.keys() | old.keys():
        a, b = new.get(key, {}), old.get(key, {})
        changed = {name: a.get(name, 0) - b.get(name, 0) for name in a.keys() | b.keys()}
        changed = {name: value for name, value in changed.items() if value}
        if changed:
            delta[key] = changed
    return delta


# -- loading what contributions need, for many tickets at once ---------------------------


class Calendars:
    """The calendar a ticket's times are measured in: its SLA policy's (around the clock
    when that policy has none, like the SLA clock); with no policy, the default calendar
    (the first one created), else around the clock."""

    def __init__(self) -> None:
        self._policies: dict[int, Calendar] = {}
        first = BusinessCalendar.objects.order_by("pk").first()
        self.default = engine_calendar(first) if first is not None else ALWAYS

    def for_policy(self, policy_id: int | None) -> Calendar:
        if policy_id is None:
            return self.default
        if policy_id not in self._policies:
            policy = SlaPolicy.objects.filter(pk=policy_id).select_related("calendar").first()
            self._policies[policy_id] = (
                engine_calendar(policy.calendar) if policy is not None else self.default
            )
        return self._policies[policy_id]


def _grouped(rows: Iterable[Any]) -> dict[int, list[dict[str, Any]]]:
    grouped: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        grouped[row["ticket_id"]].append(row)
    return grouped


def contributions(ticket_ids: Sequence[int], calendars: Calendars) -> dict[int, Contribution]:
    """The contributions of these tickets, in a handful of queries."""
    return {ticket.pk: contrib for ticket, contrib in loaded(ticket_ids, calendars)}


def loaded(ticket_ids: Sequence[int], calendars: Calendars) -> list[tuple[Ticket, Contribution]]:
    """Each ticket (its reportable fields) with its contribution."""
    tickets = Ticket.objects.filter(pk__in=ticket_ids).only(*TICKET_FIELDS)
    events = _grouped(
        TicketEvent.objects.filter(ticket_id__in=ticket_ids, kind__in=EVENT_KINDS)
        .order_by("ticket_id", "created_at", "id")
        .values("ticket_id", "kind", "field", "old", "new", "created_at", actor_role=_role())
    )
    policies = dict(
        SlaClock.objects.filter(ticket_id__in=ticket_ids).values_list("ticket_id", "policy_id")
    )
    entries: dict[int, list[dict[str, Any]]] = {}
    model = time_entry_model()
    if model is not None:
        entries = _grouped(
            model.objects.filter(ticket_id__in=ticket_ids).values(
                "ticket_id", "agent_id", "seconds", "billable", "started_at", "created_at"
            )
        )
    ratings: dict[int, list[dict[str, Any]]] = {}
    model = rating_model()
    if model is not None:
        ratings = _grouped(
            model.objects.filter(ticket_id__in=ticket_ids).values(
                "ticket_id", "rating", "agent_id", "team_id", "created_at"
            )
        )
    return [
        (
            ticket,
            contribution(
                ticket,
                events.get(ticket.pk, []),
                calendars.for_policy(policies.get(ticket.pk)),
                entries.get(ticket.pk, []),
                ratings.get(ticket.pk, []),
            ),
        )
        for ticket in tickets
    ]


def _role():
    from django.db.models import F

    return F("actor__role")


# -- writing -------------------------------------------------------------------------------


def _upsert_sql() -> str:
    """The additive upsert of a rollup row (built once per database vendor)."""
    found = _UPSERT_SQL.get(connection.vendor)
    if found is None:
        found = _UPSERT_SQL[connection.vendor] = _build_upsert_sql()
    return found


_UPSERT_SQL: dict[str, str] = {}


def _build_upsert_sql() -> str:
    table = connection.ops.quote_name(DailyRollup._meta.db_table)
    keys = ["day", *DIMENSIONS]
    columns = keys + list(VALUE_COLUMNS)
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    marks = ", ".join(["%s"] * len(columns))
    updates = ", ".join(
        f"{q} = {table}.{q} + excluded.{q}" for q in map(connection.ops.quote_name, VALUE_COLUMNS)
    )
    conflict = ", ".join(connection.ops.quote_name(c) for c in keys)
    # Only our own quoted column names are formatted in; the values are parameters.
    return (
        f"INSERT INTO {table} ({names}) VALUES ({marks}) "  # noqa: S608
        f"ON CONFLICT ({conflict}) DO UPDATE SET {updates}"
    )


def add_to_rollups(delta: Contribution) -> None:
    """Add these counters to the rollup rows (created when missing)."""
    if not delta:
        return
    params: list[list[Any]] = [
        [date.fromisoformat(key[0]), *key[1:], *(values.get(c, 0) for c in VALUE_COLUMNS)]
        for key, values in sorted(delta.items())
    ]
    stale = connection.ops.quote_name(StaleDay._meta.db_table)
    days = sorted({row[0] for row in params})
    with connection.cursor() as cursor:
        cursor.executemany(_upsert_sql(), params)  # type: ignore[arg-type]
        cursor.executemany(
            f"INSERT INTO {stale} (day) VALUES (%s)",  # noqa: S608 - our own table name
            [[connection.ops.adapt_datefield_value(day)] for day in days],
        )


def refresh_ticket(
    ticket_id: int, *, opened: Any = None, ticket: Any = None, kinds: Sequence[str] = ()
) -> None:
    """Bring the rollups up to date with one ticket (inside the caller's transaction).

    0. `ticket` changed by events of `kinds` that cannot count, its signature the one
       stored: nothing to do (one read).
    1. Lock the ticket's last contribution (a concurrent change of the same ticket waits).
    2. Compute the new one from the stored ticket and events.
    3. Add the difference to the rollups and keep the new contribution.

    `opened`: the ticket just opened (its only event "created"): nothing to read or take
    away, so a few writes and no reads, which keeps opening tickets fast. (When another
    receiver changed the new ticket first, its row exists and the full way is taken.)
    """
    if ticket is not None and kinds and cannot_count(ticket, kinds):
        table = connection.ops.quote_name(TicketContribution._meta.db_table)
        with connection.cursor() as cursor:  # raw: this runs on most changes
            cursor.execute(
                f"SELECT signature FROM {table} WHERE ticket_id = %s",  # noqa: S608
                [ticket_id],
            )
            found = cursor.fetchone()
        if found and found[0] and found[0] == signature(ticket):
            return
    with transaction.atomic():
        if opened is not None and opened.status not in DONE and not opened.first_responded_at:
            try:
                with transaction.atomic():
                    new = contribution(opened, (), ALWAYS)
                    TicketContribution.objects.create(
                        ticket_id=ticket_id, rows=to_rows(new), signature=signature(opened)
                    )
                    add_to_rollups(new)
                    return
            except IntegrityError:
                pass  # another receiver changed the new ticket first: the full way below
        stored = TicketContribution.objects.select_for_update().filter(pk=ticket_id).first()
        old = from_rows(stored.rows) if stored is not None else {}
        found = loaded([ticket_id], Calendars())
        new = found[0][1] if found else {}
        sig = signature(found[0][0]) if found else ""
        add_to_rollups(difference(new, old))
        if stored is None:
            TicketContribution.objects.create(ticket_id=ticket_id, rows=to_rows(new), signature=sig)
        elif old != new or stored.signature != sig:
            stored.rows = to_rows(new)
            stored.signature = sig
            stored.save(update_fields=["rows", "signature", "updated_at"])


def refresh_tickets(
    ticket_ids: Iterable[int],
    *,
    opened: dict[int, Any] | None = None,
    quiet: dict[int, Any] | None = None,
) -> None:
    """refresh_ticket for the tickets of a batch of changes, in a few queries for all of
    them (inside the caller's transaction).

    0. `quiet`: tickets changed only by events that cannot count (ticket id -> the ticket
       as last changed): skipped when their stored signature is still theirs (one read
       for all), as refresh_ticket does for one.
    1. `opened`: tickets just opened and not changed since (ticket id -> the ticket as
       opened): their contributions come from the ticket alone, as in refresh_ticket,
       unless they are gone (rolled back) or a contribution was written meanwhile.
    2. Every other ticket (and those): the full way, set-based: lock the stored
       contributions, compute the new ones, keep the changed ones.
    3. Add the sum of the differences to the rollups in one upsert per row touched.
    """
    opened = dict(opened or {})
    full = set(ticket_ids) - opened.keys()
    if quiet:
        full -= _unchanged({pk: quiet[pk] for pk in full if pk in quiet})
    total: Contribution = {}
    with transaction.atomic():
        for pk, ticket in list(opened.items()):
            if ticket.status in DONE or ticket.first_responded_at:
                full.add(pk)
                del opened[pk]
        if opened:
            alive = set(Ticket.objects.filter(pk__in=list(opened)).values_list("pk", flat=True))
            written = set(
                TicketContribution.objects.filter(pk__in=alive).values_list("pk", flat=True)
            )
            full |= written
            fresh = []
            for pk in sorted(alive - written):
                new = contribution(opened[pk], (), ALWAYS)
                _accumulate(total, new)
                fresh.append(
                    TicketContribution(
                        ticket_id=pk, rows=to_rows(new), signature=signature(opened[pk])
                    )
                )
            insert_rows(fresh)
        if full:
            _refresh_fully(sorted(full), total)
        add_to_rollups({key: values for key, values in total.items() if any(values.values())})


def _unchanged(tickets: dict[int, Any]) -> set[int]:
    """Of these tickets (id -> ticket), those whose stored signature is their own."""
    if not tickets:
        return set()
    stored = TicketContribution.objects.filter(pk__in=list(tickets)).values_list("pk", "signature")
    return {pk for pk, sig in stored if sig and sig == signature(tickets[pk])}


def _refresh_fully(ids: list[int], total: Contribution) -> None:
    stored = {
        row.pk: row for row in TicketContribution.objects.select_for_update().filter(pk__in=ids)
    }
    now = timezone.now()
    created, changed = [], []
    empty: tuple[Contribution, str] = ({}, "")
    found = dict.fromkeys(ids, empty)  # a ticket gone contributes nothing
    for ticket, new in loaded(ids, Calendars()):
        found[ticket.pk] = (new, signature(ticket))
    for pk, (new, sig) in found.items():
        row = stored.get(pk)
        old = from_rows(row.rows) if row is not None else {}
        _accumulate(total, difference(new, old))
        if row is None:
            if sig:
                created.append(TicketContribution(ticket_id=pk, rows=to_rows(new), signature=sig))
        elif old != new or row.signature != sig:
            row.rows, row.signature, row.updated_at = to_rows(new), sig, now
            changed.append(row)
    insert_rows(created)
    TicketContribution.objects.bulk_update(changed, ["rows", "signature", "updated_at"])


def _accumulate(total: Contribution, delta: Contribution) -> None:
    for key, values in delta.items():
        row = total.setdefault(key, {})
        for name, value in values.items():
            row[name] = row.get(name, 0) + value


# -- the coarse projections ------------------------------------------------------------------


def derive(days: Iterable[date] | None = None) -> None:
    """Recompute DaySeries and DayFacet from the daily rollups of these days (every day
    when None), in SQL: one INSERT ... SELECT ... GROUP BY per filter and group."""
    qn = connection.ops.quote_name
    daily = qn(DailyRollup._meta.db_table)
    series, facet = qn(DaySeries._meta.db_table), qn(DayFacet._meta.db_table)
    where, params = "", []
    if days is None:
        DaySeries.objects.all().delete()
        DayFacet.objects.all().delete()
    else:
        days = sorted(set(days))
        if not days:
            return
        DaySeries.objects.filter(day__in=days).delete()
        DayFacet.objects.filter(day__in=days).delete()
        where = f"WHERE {qn('day')} IN ({', '.join(['%s'] * len(days))})"
        params = [connection.ops.adapt_datefield_value(day) for day in days]
    all_sums = ", ".join(f"SUM({qn(c)})" for c in VALUE_COLUMNS)
    facet_sums = ", ".join(f"SUM({qn(c)})" for c in FACET_COLUMNS)
    all_names = ", ".join(qn(c) for c in VALUE_COLUMNS)
    facet_names = ", ".join(qn(c) for c in FACET_COLUMNS)
    series_selects, series_params, facet_selects, facet_params = [], [], [], []
    for fdim in ("", *FILTERS):
        fval = f"CAST({qn(fdim)} AS TEXT)" if fdim else "''"
        by_filter = f", {qn(fdim)}" if fdim else ""
        series_selects.append(
            f"SELECT day, %s, {fval}, {all_sums} "  # noqa: S608 - see below
            f"FROM {daily} {where} GROUP BY day{by_filter}"
        )
        series_params += [fdim, *params]
        for gdim in GROUPS:
            facet_selects.append(
                f"SELECT day, %s, {fval}, %s, CAST({qn(gdim)} AS TEXT), {facet_sums} "  # noqa: S608
                f"FROM {daily} {where} GROUP BY day{by_filter}, {qn(gdim)}"
            )
            facet_params += [fdim, gdim, *params]
    # Only our own quoted table and column names are formatted in; values are parameters.
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {series} (day, fdim, fval, {all_names}) "  # noqa: S608
            + " UNION ALL ".join(series_selects),
            series_params,
        )
        cursor.execute(
            f"INSERT INTO {facet} (day, fdim, fval, gdim, gval, {facet_names}) "  # noqa: S608
            + " UNION ALL ".join(facet_selects),
            facet_params,
        )


def refresh_stale() -> int:
    """Derive again the days whose daily rollups changed since; how many days.

    The stale rows are deleted first and the days derived after, in one transaction: a
    change committed before the delete is in the derivation, one committed after left
    its own row for next time. Derivations run one at a time (a PostgreSQL advisory
    lock; SQLite has one writer)."""
    if not StaleDay.objects.exists():
        return 0
    table = connection.ops.quote_name(StaleDay._meta.db_table)
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [DERIVE_LOCK])
        cursor.execute(f"DELETE FROM {table} RETURNING day")  # noqa: S608
        days = {
            day if isinstance(day, date) else date.fromisoformat(str(day))
            for (day,) in cursor.fetchall()
        }
        derive(days)
    return len(days)


DERIVE_LOCK = 0x5E9047  # the advisory lock key of refresh_stale


def full_recompute(
    batch: int = 1000, progress: Callable[[int, int], None] | None = None
) -> tuple[Contribution, dict[int, Contribution]]:
    """Every ticket's contribution and their sum, computed from scratch (no writes)."""
    calendars = Calendars()
    ids = list(Ticket.objects.order_by("pk").values_list("pk", flat=True))
    totals: Contribution = defaultdict(lambda: defaultdict(int))
    per_ticket: dict[int, Contribution] = {}
    for start in range(0, len(ids), batch):
        chunk = ids[start : start + batch]
        for ticket_id, contrib in contributions(chunk, calendars).items():
            per_ticket[ticket_id] = contrib
            for key, values in contrib.items():
                row = totals[key]
                for name, value in values.items():
                    row[name] += value
        if progress is not None:
            progress(min(start + batch, len(ids)), len(ids))
    return {k: dict(v) for k, v in totals.items()}, per_ticket


@transaction.atomic
def rebuild(batch: int = 1000, progress: Callable[[int, int], None] | None = None) -> int:
    """Recompute every rollup from the tickets; returns the number of rollup rows.

    Runs in one transaction; on PostgreSQL the contributions table is locked first, so
    ticket changes made meanwhile wait and are then applied on top. The coarse
    projections are derived again at the end. (Signatures are left empty: each ticket's
    next change is recomputed in full once.)"""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            table = connection.ops.quote_name(TicketContribution._meta.db_table)
            cursor.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
    totals, per_ticket = full_recompute(batch, progress)
    TicketContribution.objects.all().delete()
    DailyRollup.objects.all().delete()
    StaleDay.objects.all().delete()
    TicketContribution.objects.bulk_create(
        (TicketContribution(ticket_id=pk, rows=to_rows(c)) for pk, c in per_ticket.items()),
        batch_size=2000,
    )
    DailyRollup.objects.bulk_create(
        (
            DailyRollup(
                day=date.fromisoformat(key[0]),
                **dict(zip(DIMENSIONS, key[1:], strict=True)),
                **values,
            )
            for key, values in totals.items()
        ),
        batch_size=500,
    )
    derive()
    return len(totals)


def stored_totals() -> Contribution:
    """The rollup table as a Contribution (non-zero counters only), to compare."""
    result: Contribution = {}
    for row in DailyRollup.objects.values("day", *DIMENSIONS, *VALUE_COLUMNS):
        key = (row["day"].isoformat(), *(row[d] for d in DIMENSIONS))
        values = {c: row[c] for c in VALUE_COLUMNS if row[c]}
        if values:
            result[key] = values  # type: ignore[index]
    return result
