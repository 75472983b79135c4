"""Daily rollups the dashboard reads instead of the tickets, what each ticket last added
to them, their coarse projections (DaySeries, DayFacet), and the weekly reports sent.

A ticket's contribution (soporte/reports/rollups.py) is a set of counters keyed by day and
dimensions. When the ticket changes, its previous contribution (TicketContribution) is
taken away and the new one added, in the transaction of the change; so the rollups always
equal a recompute from scratch (`soporte rebuild_rollups`).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from .histogram import BUCKETS

# Counters of a rollup row, besides the histograms. Dimensions use 0 / "" for "none", not
# NULL, so that one unique key holds and an upsert can find its row on every database.
COUNTERS = (
    "created",  # tickets opened that day
    "resolved",  # tickets whose (last) resolution fell that day
    "fr_count",  # first responses given that day
    "fr_seconds",  # their business seconds since the ticket was opened, summed
    "res_seconds",  # business seconds from opening to resolution of the resolved ones
    "fcr",  # resolved with at most one public agent reply and never reopened
    "reopened",  # resolved tickets that had been reopened at least once
    "sla_breached",  # resolved tickets that missed an SLA target at least once
    "entered",  # tickets that arrived at the row's tier (opened there or moved there)
    "escalated",  # escalations out of the row's tier
    "time_seconds",  # time logged by the row's agent
    "billable_seconds",
    "csat_count",  # satisfaction ratings given
    "csat_sum",  # their scores (1..5), summed
    "csat_good",  # ratings of 4 or 5
)
HISTOGRAMS = ("fr", "res")
HISTOGRAM_COLUMNS = tuple(f"{name}_h{i}" for name in HISTOGRAMS for i in range(BUCKETS))
DIMENSIONS = ("team_id", "organization_id", "category_id", "channel", "tier", "agent_id")
VALUE_COLUMNS = COUNTERS + HISTOGRAM_COLUMNS
# The dashboard's filters, and the dimensions its charts group by.
FILTERS = ("team_id", "organization_id", "category_id", "tier")
GROUPS = ("channel", "tier", "team_id", "category_id", "agent_id", "organization_id")
# The counters the charts sum per group (a facet keeps only these).
FACET_COLUMNS = (
    "created",
    "resolved",
    "fr_count",
    "fr_seconds",
    "res_seconds",
    "entered",
    "escalated",
    "time_seconds",
    "billable_seconds",
    "csat_count",
    "csat_sum",
    "csat_good",
)


class DailyRollup(models.Model):
    """One day x one combination of dimensions, with its counters summed. The ids are not
    foreign keys: the table is derived data, rebuilt at will, and never blocks a delete."""

    day = models.DateField()
    team_id = models.PositiveIntegerField(default=0)
    organization_id = models.PositiveIntegerField(default=0)
    category_id = models.PositiveIntegerField(default=0)
    channel = models.CharField(max_length=8, default="")
    tier = models.CharField(max_length=2, default="")
    agent_id = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("daily rollup")
        verbose_name_plural = _("daily rollups")
        constraints = [
            models.UniqueConstraint(fields=["day", *DIMENSIONS], name="rollup_unique_key"),
        ]
        indexes = [
            # The dashboard's filters: a date range, alone or with a team / an organization.
            models.Index(fields=["team_id", "day"], name="rollup_team_day"),
            models.Index(fields=["organization_id", "day"], name="rollup_org_day"),
        ]

    def __str__(self) -> str:
        return f"{self.day} team={self.team_id} org={self.organization_id}"


for _name in COUNTERS:
    DailyRollup.add_to_class(_name, models.BigIntegerField(default=0))
for _name in HISTOGRAM_COLUMNS:
    DailyRollup.add_to_class(_name, models.IntegerField(default=0))


class TicketContribution(models.Model):
    """What a ticket last added to the rollups, so a change can take it away again."""

    ticket_id = models.PositiveIntegerField(primary_key=True)
    # [[day ISO, team, organization, category, channel, tier, agent, {column: value}], ...]
    rows = models.JSONField(default=list)
    # The ticket's reportable fields when `rows` were computed: a change that leaves them
    # alone, and whose events cannot matter, skips the recompute (rollups.unchanged).
    signature = models.CharField(max_length=200, default="", blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("ticket contribution")
        verbose_name_plural = _("ticket contributions")

    def __str__(self) -> str:
        return f"contribution of ticket {self.ticket_id}"


class DaySeries(models.Model):
    """Every counter of a day, for no filter (fdim "") or one filter's value: the daily
    rollups summed over every other dimension (about 80 rows a day however many tickets).
    Derived from DailyRollup by rollups.derive; fval is the value as text ("12", "L1")."""

    day = models.DateField()
    fdim = models.CharField(max_length=16, default="")
    fval = models.CharField(max_length=16, default="")

    class Meta:
        verbose_name = _("daily series")
        verbose_name_plural = _("daily series")
        constraints = [
            models.UniqueConstraint(fields=["fdim", "fval", "day"], name="series_unique_key"),
        ]
        # Deriving a day again deletes its rows first.
        indexes = [models.Index(fields=["day"], name="series_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.fdim}={self.fval}"


class DayFacet(models.Model):
    """A day's FACET_COLUMNS for no filter or one filter's value, per value of one group
    dimension (gdim, gval): what each chart sums, at most a few thousand rows a day where
    the daily rollups can hold one per ticket. Derived from DailyRollup by rollups.derive."""

    day = models.DateField()
    fdim = models.CharField(max_length=16, default="")
    fval = models.CharField(max_length=16, default="")
    gdim = models.CharField(max_length=16)
    gval = models.CharField(max_length=16)

    class Meta:
        verbose_name = _("daily facet")
        verbose_name_plural = _("daily facets")
        constraints = [
            # Also the dashboard's index: one filter's value, a range of days.
            models.UniqueConstraint(
                fields=["fdim", "fval", "day", "gdim", "gval"], name="facet_unique_key"
            ),
        ]
        indexes = [models.Index(fields=["day"], name="facet_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.fdim}={self.fval} by {self.gdim}={self.gval}"


class StaleDay(models.Model):
    """A day whose daily rollups changed after its DaySeries and DayFacet rows were derived.
    Append-only (one row per change and day: no row two changes would wait on); the next
    derivation (rollups.refresh_stale) takes the rows it deletes."""

    day = models.DateField()

    class Meta:
        verbose_name = _("stale day")
        verbose_name_plural = _("stale days")

    def __str__(self) -> str:
        return str(self.day)


class WeeklyReport(models.Model):
    """One per ISO week: claimed by whoever inserts it first, so the mail goes once."""

    year = models.PositiveIntegerField(_("year"))
    week = models.PositiveSmallIntegerField(_("week"))
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    recipients = models.PositiveIntegerField(_("recipients"), default=0)

    class Meta:
        ordering = ["-year", "-week"]
        verbose_name = _("weekly report")
        verbose_name_plural = _("weekly reports")
        constraints = [
            models.UniqueConstraint(fields=["year", "week"], name="weeklyreport_unique_week"),
        ]

    def __str__(self) -> str:
        return f"{self.year}-W{self.week:02d}"


for _name in COUNTERS:
    DaySeries.add_to_class(_name, models.BigIntegerField(default=0))
for _name in HISTOGRAM_COLUMNS:
    DaySeries.add_to_class(_name, models.IntegerField(default=0))
for _name in FACET_COLUMNS:
    DayFacet.add_to_class(_name, models.BigIntegerField(default=0))
