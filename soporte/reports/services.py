"""Metrics for the dashboard, the API and the weekly report, read from the rollups' coarse
projections (DaySeries: every counter per day; DayFacet: per day and chart dimension),
for no filter or one, else from the daily rollups (never from the tickets, except the
backlog and workload: open tickets now, an indexed query on status), and the ticket export.

Definitions (each over the tickets counted on the days of the range):
- volume: tickets opened per day, week, channel, category, organization;
- first response / resolution time: business seconds from opening (the ticket's SLA
  calendar, else the default one) to the first public agent answer / the last resolution;
  median and p90 from log-spaced histograms (histogram.py states the error bound);
- SLA compliance: resolved tickets that never breached a target / resolved tickets;
- first-contact resolution: resolved with at most one public agent reply, never reopened;
- reopen rate: resolved tickets reopened at least once / resolved tickets;
- escalation rate per tier: escalations out of the tier / tickets that arrived at it;
- throughput: tickets resolved per agent; workload: their open tickets now;
- satisfaction: average score (1-5) and share of 4s and 5s; time spent: logged hours.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from operator import itemgetter
from typing import Any

from django.db import connection
from django.db.models import (
    BooleanField,
    Count,
    ExpressionWrapper,
    Func,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from soporte.accounts import policy
from soporte.accounts.models import Organization, Team, Tier, User
from soporte.lib.errors import InvalidInput, PermissionDenied, TooLarge
from soporte.tickets.models import ACTIVE_STATUSES, Category, Channel, Ticket

from . import histogram, rollups
from .models import (
    COUNTERS,
    FACET_COLUMNS,
    FILTERS,
    GROUPS,
    HISTOGRAM_COLUMNS,
    DailyRollup,
    DayFacet,
    DaySeries,
)
from .rollups import rating_model

DEFAULT_DAYS = 30
MAX_DAYS = 3 * 366
XLSX_MAX_ROWS = 50_000
AGE_BUCKETS = (  # (label, lower bound in days, upper bound or None)
    (gettext_lazy("under 1 day"), 0, 1),
    (gettext_lazy("1-3 days"), 1, 3),
    (gettext_lazy("3-7 days"), 3, 7),
    (gettext_lazy("1-4 weeks"), 7, 28),
    (gettext_lazy("over 4 weeks"), 28, None),
)


def require_supervisor(user: User) -> None:
    if not (user.is_authenticated and user.is_active and user.is_supervisor):
        raise PermissionDenied(_("Reports are for supervisors and administrators."))


@dataclass(frozen=True)
class Filters:
    start: date
    end: date  # inclusive
    team: int | None = None
    organization: int | None = None
    category: int | None = None
    tier: str | None = None

    @classmethod
    def parse(
        cls,
        start: date | None = None,
        end: date | None = None,
        team: int | None = None,
        organization: int | None = None,
        category: int | None = None,
        tier: str | None = None,
    ) -> Filters:
        """Check the filters; the default range is the last 30 days up to today."""
        today = timezone.localdate(timezone=timezone.get_default_timezone())
        end = end or today
        start = start or end - timedelta(days=DEFAULT_DAYS - 1)
        if start > end:
            raise InvalidInput(_("The start date is after the end date."))
        if (end - start).days >= MAX_DAYS:
            raise InvalidInput(_("Choose at most three years."))
        if tier and tier not in Tier.values:
            raise InvalidInput(_("Unknown tier %(tier)s.") % {"tier": tier})
        return cls(start, end, team or None, organization or None, category or None, tier or None)

    def as_query(self) -> dict[str, str]:
        return {k: str(v) for k, v in asdict(self).items() if v not in (None, "")}


def _rollups(filters: Filters) -> QuerySet[DailyRollup]:
    rows = DailyRollup.objects.filter(day__gte=filters.start, day__lte=filters.end)
    if filters.team:
        rows = rows.filter(team_id=filters.team)
    if filters.organization:
        rows = rows.filter(organization_id=filters.organization)
    if filters.category:
        rows = rows.filter(category_id=filters.category)
    if filters.tier:
        rows = rows.filter(tier=filters.tier)
    return rows


def _open_tickets(filters: Filters) -> QuerySet[Ticket]:
    active: Any = Q(status__in=ACTIVE_STATUSES)
    if connection.vendor == "sqlite":
        # SQLite's statistics know how many statuses there are, not that the open ones
        # are few: without the hint it scans every ticket instead of the status index.
        active = Func(
            ExpressionWrapper(active, output_field=BooleanField()),
            template="likelihood(%(expressions)s, 0.001)",  # a literal, as SQLite requires
            output_field=BooleanField(),
        )
    tickets = Ticket.objects.filter(active)
    if filters.team:
        tickets = tickets.filter(team_id=filters.team)
    if filters.organization:
        tickets = tickets.filter(organization_id=filters.organization)
    if filters.category:
        tickets = tickets.filter(category_id=filters.category)
    if filters.tier:
        tickets = tickets.filter(tier=filters.tier)
    return tickets


def _ratio(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole else None


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 2)


def _names(model, ids) -> dict[int, str]:
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    return {obj.pk: str(obj) for obj in model.objects.filter(pk__in=wanted)}


def _chart(
    key: str,
    title: str,
    kind: str,
    columns: list[tuple[str, str]],
    rows: list,
    series: tuple[int, ...] = (),
) -> dict:
    """A chart as a table: the first column labels, `series` (default: every other column)
    are the columns drawn."""
    return {
        "key": key,
        "title": title,
        "kind": kind,
        "columns": [{"key": k, "label": str(label)} for k, label in columns],
        "rows": rows,
        "series": list(series or range(1, len(columns))),
    }


def _grouped(rows: QuerySet[DailyRollup], *dimensions: str) -> list[dict[str, Any]]:
    """FACET_COLUMNS per combination of these dimensions (one scan of the range's rows)."""
    return list(
        rows.values(*dimensions)
        .annotate(**{f"s_{name}": Sum(name) for name in FACET_COLUMNS})
        .order_by()
    )


def _collapse(groups: list[dict[str, Any]], dimension: str) -> list[dict[str, Any]]:
    """Sum the groups of a multi-dimension scan down to one dimension, in its order."""
    result: dict[Any, dict[str, Any]] = {}
    for group in groups:
        key = group[dimension]
        found = result.get(key)
        if found is None:
            result[key] = {dimension: key, **{f"s_{n}": group[f"s_{n}"] for n in FACET_COLUMNS}}
        else:
            for name in FACET_COLUMNS:
                found[f"s_{name}"] += group[f"s_{name}"]
    return [result[key] for key in sorted(result, key=lambda k: (k is None, k))]


def _facet(filters: Filters) -> tuple[str, str] | None:
    """(filter dimension, value as text) when the coarse projections answer these
    filters: none or one of them; None for two or more (the daily rollups answer)."""
    given = [
        (dim, str(value))
        for dim, value in zip(
            FILTERS,
            (filters.team, filters.organization, filters.category, filters.tier),
            strict=True,
        )
        if value
    ]
    if len(given) > 1:
        return None
    return given[0] if given else ("", "")


def _sums(filters: Filters) -> tuple[dict[date, dict[str, int]], dict[str, list[dict]]]:
    """Every counter per day, and FACET_COLUMNS per value of each of GROUPS (in the
    value's order), over the range: two queries over the coarse projections, or four
    over the daily rollups when two filters or more are given."""
    names = (*COUNTERS, *HISTOGRAM_COLUMNS)
    facet = _facet(filters)
    if facet is None:
        rows = _rollups(filters)
        per_day: dict[date, dict[str, Any]] = {
            r["day"]: dict(r)
            for r in rows.values("day").annotate(**{c: Sum(c) for c in names}).order_by()
        }
        small = _grouped(rows, "channel", "tier", "team_id")
        people = _grouped(rows, "category_id", "agent_id")
        by: dict[str, list[dict[str, Any]]] = {
            "channel": _collapse(small, "channel"),
            "tier": _collapse(small, "tier"),
            "team_id": _collapse(small, "team_id"),
            "category_id": _collapse(people, "category_id"),
            "agent_id": _collapse(people, "agent_id"),
            "organization_id": _collapse(_grouped(rows, "organization_id"), "organization_id"),
        }
        return per_day, by
    rollups.refresh_stale()  # the days changed since they were last derived
    fdim, fval = facet
    span = {"fdim": fdim, "fval": fval, "day__gte": filters.start, "day__lte": filters.end}
    per_day = {r["day"]: dict(r) for r in DaySeries.objects.filter(**span).values("day", *names)}
    by = {dim: [] for dim in GROUPS}
    found = (
        DayFacet.objects.filter(**span)
        .values("gdim", "gval")
        .annotate(**{f"s_{name}": Sum(name) for name in FACET_COLUMNS})
        .order_by()
    )
    for row in found:
        group: dict[str, Any] = dict(row)
        dim, value = group.pop("gdim"), group.pop("gval")
        group[dim] = value if dim in ("channel", "tier") else int(value)
        by[dim].append(group)
    for dim, groups in by.items():
        groups.sort(key=itemgetter(dim))
    return per_day, by


def metrics(filters: Filters, *, now: datetime | None = None) -> dict[str, Any]:
    """Every figure of the dashboard for these filters (about ten queries, none over
    the tickets table except the open ones)."""
    now = now or timezone.now()
    per_day, by = _sums(filters)
    total = dict.fromkeys((*COUNTERS, *HISTOGRAM_COLUMNS), 0)
    for found in per_day.values():
        for name in total:
            total[name] += found[name] or 0
    fr_hist = [total[f"fr_h{i}"] for i in range(histogram.BUCKETS)]
    res_hist = [total[f"res_h{i}"] for i in range(histogram.BUCKETS)]

    # Backlog by age and workload: the open tickets now, whatever the date range, in one
    # query. Grouped by an expression, not the column: SQLite would otherwise walk the
    # assignee index over every ticket instead of the status (and team) one.
    ages = {}
    for index, (_label, low, high) in enumerate(AGE_BUCKETS):
        condition = Q(created_at__lte=now - timedelta(days=low))
        if high is not None:
            condition &= Q(created_at__gt=now - timedelta(days=high))
        ages[f"a{index}"] = Count("pk", filter=condition)
    backlog = dict.fromkeys(ages, 0)
    workload = {}
    open_groups: Any = (
        _open_tickets(filters)
        .values(agent=Coalesce("assignee_id", 0))
        .annotate(n=Count("pk"), **ages)
        .order_by()
    )
    for group in open_groups:
        for name in backlog:
            backlog[name] += group[name]
        if group["agent"]:
            workload[group["agent"]] = group["n"]

    summary = {
        "created": total["created"],
        "resolved": total["resolved"],
        "backlog": sum(backlog.values()),
        "first_response_count": total["fr_count"],
        "first_response_median_hours": _hours(histogram.percentile(fr_hist, 0.5)),
        "first_response_p90_hours": _hours(histogram.percentile(fr_hist, 0.9)),
        "first_response_mean_hours": _hours(
            total["fr_seconds"] / total["fr_count"] if total["fr_count"] else None
        ),
        "resolution_median_hours": _hours(histogram.percentile(res_hist, 0.5)),
        "resolution_p90_hours": _hours(histogram.percentile(res_hist, 0.9)),
        "resolution_mean_hours": _hours(
            total["res_seconds"] / total["resolved"] if total["resolved"] else None
        ),
        "sla_compliance": _ratio(total["resolved"] - total["sla_breached"], total["resolved"]),
        "first_contact_resolution": _ratio(total["fcr"], total["resolved"]),
        "reopen_rate": _ratio(total["reopened"], total["resolved"]),
        "escalation_rate": _ratio(total["escalated"], total["entered"]),
        "satisfaction_average": (
            round(total["csat_sum"] / total["csat_count"], 2) if total["csat_count"] else None
        ),
        "satisfaction_good": _ratio(total["csat_good"], total["csat_count"]),
        "satisfaction_count": total["csat_count"],
        "time_hours": _hours(total["time_seconds"]),
        "billable_hours": _hours(total["billable_seconds"]),
    }

    # Volume per day (every day of the range, zeros included) and per ISO week.
    days = []
    weeks: dict[str, list[int]] = {}
    day = filters.start
    while day <= filters.end:
        found = per_day.get(day, {})
        created, resolved = found.get("created") or 0, found.get("resolved") or 0
        days.append([day.isoformat(), created, resolved])
        year, week, _weekday = day.isocalendar()
        bucket = weeks.setdefault(f"{year}-W{week:02d}", [0, 0])
        bucket[0] += created
        bucket[1] += resolved
        day += timedelta(days=1)

    users = _names(User, [r["agent_id"] for r in by["agent_id"]] + list(workload))
    teams = _names(Team, [r["team_id"] for r in by["team_id"]])
    orgs = _names(Organization, [r["organization_id"] for r in by["organization_id"]])
    categories = _names(Category, [r["category_id"] for r in by["category_id"]])
    channels = dict(Channel.choices)
    none = _("(none)")

    def label(names: dict, key) -> str:
        return names.get(key, none) if key else none

    def satisfaction(groups, names, dim) -> list:
        return [
            [
                label(names, g[dim]),
                g["s_csat_count"],
                round(g["s_csat_sum"] / g["s_csat_count"], 2),
                _ratio(g["s_csat_good"], g["s_csat_count"]),
            ]
            for g in groups
            if g["s_csat_count"]
        ]

    agents = {g["agent_id"]: g for g in by["agent_id"]}
    agent_rows = []
    for agent_id in sorted(set(agents) | set(workload), key=lambda a: label(users, a)):
        g = agents.get(agent_id, {})
        if not agent_id and not g.get("s_resolved"):
            continue
        agent_rows.append(
            [
                label(users, agent_id),
                g.get("s_resolved") or 0,
                workload.get(agent_id, 0),
                _hours(g["s_fr_seconds"] / g["s_fr_count"]) if g.get("s_fr_count") else None,
            ]
        )
    categories_by_id = {g["category_id"]: g for g in by["category_id"]}
    csat_by_category = satisfaction(categories_by_id.values(), categories, "category_id")

    charts = [
        _chart(
            "volume_by_day",
            _("Tickets per day"),
            "line",
            [("day", _("Day")), ("created", _("Opened")), ("resolved", _("Resolved"))],
            days,
        ),
        _chart(
            "volume_by_week",
            _("Tickets per week"),
            "bar",
            [("week", _("Week")), ("created", _("Opened")), ("resolved", _("Resolved"))],
            [[week, c, r] for week, (c, r) in weeks.items()],
        ),
        _chart(
            "by_channel",
            _("Opened by channel"),
            "doughnut",
            [("channel", _("Channel")), ("created", _("Opened"))],
            [
                [str(channels.get(g["channel"], g["channel"])), g["s_created"]]
                for g in by["channel"]
                if g["s_created"]
            ],
        ),
        _chart(
            "by_category",
            _("Opened by category"),
            "bar",
            [("category", _("Category")), ("created", _("Opened")), ("resolved", _("Resolved"))],
            [
                [label(categories, g["category_id"]), g["s_created"], g["s_resolved"]]
                for g in by["category_id"]
                if g["s_created"] or g["s_resolved"]
            ],
        ),
        _chart(
            "by_organization",
            _("Opened by organization"),
            "bar",
            [
                ("organization", _("Organization")),
                ("created", _("Opened")),
                ("resolved", _("Resolved")),
            ],
            sorted(
                (
                    [label(orgs, g["organization_id"]), g["s_created"], g["s_resolved"]]
                    for g in by["organization_id"]
                    if g["s_created"] or g["s_resolved"]
                ),
                key=lambda r: -r[1],
            ),
        ),
        _chart(
            "backlog_age",
            _("Open tickets by age (now)"),
            "bar",
            [("age", _("Age")), ("open", _("Open tickets"))],
            [[str(lbl), backlog[f"a{i}"]] for i, (lbl, _l, _h) in enumerate(AGE_BUCKETS)],
        ),
        _chart(
            "escalation_by_tier",
            _("Escalations per tier"),
            "bar",
            [
                ("tier", _("Tier")),
                ("entered", _("Arrived")),
                ("escalated", _("Escalated")),
                ("rate", _("Escalation rate")),
            ],
            [
                [
                    g["tier"],
                    g["s_entered"],
                    g["s_escalated"],
                    _ratio(g["s_escalated"], g["s_entered"]),
                ]
                for g in by["tier"]
                if g["s_entered"] or g["s_escalated"]
            ],
            series=(1, 2),
        ),
        _chart(
            "agents",
            _("Agents: throughput and workload"),
            "bar",
            [
                ("agent", _("Agent")),
                ("resolved", _("Resolved")),
                ("open", _("Open now")),
                ("first_response_hours", _("Mean first response (business hours)")),
            ],
            agent_rows,
            series=(1, 2),
        ),
        _chart(
            "satisfaction_by_agent",
            _("Satisfaction by agent"),
            "bar",
            [
                ("agent", _("Agent")),
                ("ratings", _("Ratings")),
                ("average", _("Average (1-5)")),
                ("good", _("Share of 4 and 5")),
            ],
            satisfaction(by["agent_id"], users, "agent_id"),
            series=(2,),
        ),
        _chart(
            "satisfaction_by_team",
            _("Satisfaction by team"),
            "bar",
            [
                ("team", _("Team")),
                ("ratings", _("Ratings")),
                ("average", _("Average (1-5)")),
                ("good", _("Share of 4 and 5")),
            ],
            satisfaction(by["team_id"], teams, "team_id"),
            series=(2,),
        ),
        _chart(
            "satisfaction_by_category",
            _("Satisfaction by category"),
            "bar",
            [
                ("category", _("Category")),
                ("ratings", _("Ratings")),
                ("average", _("Average (1-5)")),
                ("good", _("Share of 4 and 5")),
            ],
            csat_by_category,
            series=(2,),
        ),
        _chart(
            "time_by_agent",
            _("Time spent by agent (hours)"),
            "bar",
            [("agent", _("Agent")), ("hours", _("Hours")), ("billable", _("Billable hours"))],
            [
                [
                    label(users, g["agent_id"]),
                    _hours(g["s_time_seconds"]),
                    _hours(g["s_billable_seconds"]),
                ]
                for g in by["agent_id"]
                if g["s_time_seconds"]
            ],
        ),
        _chart(
            "time_by_organization",
            _("Time spent by organization (hours)"),
            "bar",
            [
                ("organization", _("Organization")),
                ("hours", _("Hours")),
                ("billable", _("Billable hours")),
            ],
            [
                [
                    label(orgs, g["organization_id"]),
                    _hours(g["s_time_seconds"]),
                    _hours(g["s_billable_seconds"]),
                ]
                for g in by["organization_id"]
                if g["s_time_seconds"]
            ],
        ),
    ]
    return {
        "filters": {
            k: (v.isoformat() if isinstance(v, date) else v) for k, v in asdict(filters).items()
        },
        "summary": summary,
        "charts": charts,
        "comments": satisfaction_comments(filters),
    }


def satisfaction_comments(filters: Filters, limit: int = 20) -> list[dict[str, Any]]:
    """The latest ratings with a comment in the range (the ratings table, by date)."""
    model = rating_model()
    if model is None:
        return []
    tz = timezone.get_default_timezone()
    start = datetime.combine(filters.start, datetime.min.time(), tzinfo=tz)
    end = datetime.combine(filters.end + timedelta(days=1), datetime.min.time(), tzinfo=tz)
    ratings = model.objects.filter(created_at__gte=start, created_at__lt=end).exclude(comment="")
    if filters.team:
        ratings = ratings.filter(ticket__team_id=filters.team)
    if filters.organization:
        ratings = ratings.filter(ticket__organization_id=filters.organization)
    if filters.category:
        ratings = ratings.filter(ticket__category_id=filters.category)
    if filters.tier:
        ratings = ratings.filter(ticket__tier=filters.tier)
    found = ratings.select_related("ticket").order_by("-created_at")[:limit]
    return [
        {
            "ticket": r.ticket.number,
            "rating": r.rating,
            "comment": r.comment,
            "created_at": r.created_at.isoformat(),
        }
        for r in found
    ]


def chart(result: dict[str, Any], key: str) -> dict[str, Any] | None:
    return next((c for c in result["charts"] if c["key"] == key), None)


class _Echo:
    def write(self, value: str) -> str:
        return value


def _cell(value: Any) -> Any:
    """Cells a spreadsheet would run as a formula get a leading apostrophe."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return timezone.localtime(value, timezone.get_default_timezone()).isoformat()
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def chart_csv(chart_data: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([c["label"] for c in chart_data["columns"]])
    for row in chart_data["rows"]:
        writer.writerow([_cell(v) for v in row])
    return out.getvalue()


# -- ticket export ---------------------------------------------------------------------

# column key -> (label, the value's path)
EXPORT_COLUMNS: dict[str, tuple[Any, str]] = {
    "number": (gettext_lazy("Number"), "number"),
    "subject": (gettext_lazy("Subject"), "subject"),
    "status": (gettext_lazy("Status"), "status"),
    "priority": (gettext_lazy("Priority"), "priority"),
    "channel": (gettext_lazy("Channel"), "channel"),
    "tier": (gettext_lazy("Tier"), "tier"),
    "requester": (gettext_lazy("Requester"), "requester__email"),
    "organization": (gettext_lazy("Organization"), "organization__name"),
    "team": (gettext_lazy("Team"), "team__name"),
    "assignee": (gettext_lazy("Assignee"), "assignee__username"),
    "category": (gettext_lazy("Category"), "category__name"),
    "created_at": (gettext_lazy("Created"), "created_at"),
    "first_responded_at": (gettext_lazy("First response"), "first_responded_at"),
    "resolved_at": (gettext_lazy("Resolved"), "resolved_at"),
    "closed_at": (gettext_lazy("Closed"), "closed_at"),
    "updated_at": (gettext_lazy("Updated"), "updated_at"),
}
DEFAULT_EXPORT = ("number", "subject", "status", "priority", "team", "assignee", "created_at")


def export_tickets(
    user: User, filters: Filters, columns: list[str] | tuple[str, ...]
) -> tuple[list[str], QuerySet]:
    """The header and the rows (values_list) of the tickets this person may see, opened in
    the range and matching the filters. Agents only; what they may not see is left out."""
    policy.require_agent(user)
    columns = list(columns) or list(DEFAULT_EXPORT)
    unknown = [c for c in columns if c not in EXPORT_COLUMNS]
    if unknown:
        raise InvalidInput(_("Unknown column: %(name)s.") % {"name": unknown[0]})
    tz = timezone.get_default_timezone()
    tickets = policy.visible_tickets(user).filter(
        created_at__gte=datetime.combine(filters.start, datetime.min.time(), tzinfo=tz),
        created_at__lt=datetime.combine(
            filters.end + timedelta(days=1), datetime.min.time(), tzinfo=tz
        ),
    )
    if filters.team:
        tickets = tickets.filter(team_id=filters.team)
    if filters.organization:
        tickets = tickets.filter(organization_id=filters.organization)
    if filters.category:
        tickets = tickets.filter(category_id=filters.category)
    if filters.tier:
        tickets = tickets.filter(tier=filters.tier)
    header = [str(EXPORT_COLUMNS[c][0]) for c in columns]
    values = tickets.order_by("created_at", "id").values_list(
        *(EXPORT_COLUMNS[c][1] for c in columns)
    )
    return header, values


def export_csv_lines(header: list[str], values: QuerySet) -> Iterator[str]:
    """CSV lines, streamed in chunks of rows (the whole export is never in memory)."""
    writer = csv.writer(_Echo())
    yield writer.writerow(header)
    for row in values.iterator(chunk_size=2000):
        yield writer.writerow([_cell(v) for v in row])


def export_xlsx(header: list[str], values: QuerySet) -> bytes:
    """An XLSX workbook; more than XLSX_MAX_ROWS tickets are refused (use CSV)."""
    from openpyxl import Workbook

    if values[: XLSX_MAX_ROWS + 1].count() > XLSX_MAX_ROWS:
        raise TooLarge(
            _(
                "More than %(max)s tickets match: narrow the dates or filters, or export "
                "as CSV, which has no limit."
            )
            % {"max": f"{XLSX_MAX_ROWS:,}"}
        )
    book = Workbook(write_only=True)
    sheet = book.create_sheet(_("Tickets"))
    sheet.append(header)
    for row in values.iterator(chunk_size=2000):
        sheet.append(
            [
                timezone.localtime(v, timezone.get_default_timezone()).replace(tzinfo=None)
                if isinstance(v, datetime)
                else _cell(v)
                for v in row
            ]
        )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
