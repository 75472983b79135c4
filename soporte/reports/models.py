"""Daily rollups the dashboard reads instead of the tickets, what each ticket last added
to them, and the weekly reports sent.

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
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("ticket contribution")
        verbose_name_plural = _("ticket contributions")

    def __str__(self) -> str:
        return f"contribution of ticket {self.ticket_id}"


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
