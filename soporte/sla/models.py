"""Business calendars, SLA policies and the clock each ticket runs against them."""

from __future__ import annotations

from datetime import time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from soporte.accounts.models import Organization, Team
from soporte.tickets.models import Category, Channel, Priority, Status, Ticket


def validate_time_zone(value: str) -> None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValidationError(
            _("%(value)s is not a known time zone."), params={"value": value}
        ) from error


class BusinessCalendar(models.Model):
    """Working hours (split shifts allowed) in one time zone, with holidays."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="UTC", validators=[validate_time_zone]
    )
    # Bumped by every change of the calendar, its hours or holidays: the cache key of its
    # computed form (soporte/sla/clock.py).
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("business calendar")
        verbose_name_plural = _("business calendars")

    def __str__(self) -> str:
        return self.name


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class WorkingHours(models.Model):
    """One shift of a weekday; `ends` 00:00 means midnight at the end of the day."""

    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="hours")
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    starts = models.TimeField(_("from"))
    ends = models.TimeField(_("to"))

    class Meta:
        ordering = ["weekday", "starts"]
        verbose_name = _("working hours")
        verbose_name_plural = _("working hours")

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.starts:%H:%M}-{self.ends:%H:%M}"

    @property
    def seconds(self) -> tuple[int, int]:
        start = _seconds(self.starts)
        end = 86400 if self.ends == time(0) else _seconds(self.ends)
        return start, end


def _seconds(moment: time) -> int:
    return moment.hour * 3600 + moment.minute * 60 + moment.second


class Holiday(models.Model):
    calendar = models.ForeignKey(
        BusinessCalendar, on_delete=models.CASCADE, related_name="holidays"
    )
    date = models.DateField(_("date"))
    name = models.CharField(_("name"), max_length=100, blank=True)
    yearly = models.BooleanField(_("every year"), default=False)

    class Meta:
        ordering = ["date"]
        verbose_name = _("holiday")
        verbose_name_plural = _("holidays")

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


class OnBreach(models.TextChoices):
    NOTIFY = "notify", _("Notify the assignee and the team")
    ESCALATE = "escalate", _("Escalate to the next tier")


def default_pause_statuses() -> list[str]:
    return [Status.PENDING_CUSTOMER, Status.PENDING_THIRD_PARTY]


class SlaPolicy(models.Model):
    """Targets for the tickets it matches. Policies are tried in `position` order and the
    first whose conditions all hold (a blank condition matches anything) applies."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    position = models.PositiveIntegerField(_("position"), default=100)
    active = models.BooleanField(_("active"), default=True)
    organization = models.ForeignKey(
        Organization,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        verbose_name=_("organization"),
    )
    priority = models.CharField(_("priority"), max_length=2, choices=Priority.choices, blank=True)
    category = models.ForeignKey(
        Category, on_delete=models.CASCADE, null=True, blank=True, verbose_name=_("category")
    )
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices, blank=True)
    team = models.ForeignKey(
        Team, on_delete=models.CASCADE, null=True, blank=True, verbose_name=_("team")
    )
    calendar = models.ForeignKey(
        BusinessCalendar,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        verbose_name=_("calendar"),
        help_text=_("Blank: the clock runs around the clock."),
    )
    # Targets in business minutes; blank = no target.
    first_response_minutes = models.PositiveIntegerField(_("first response"), null=True, blank=True)
    next_response_minutes = models.PositiveIntegerField(_("next response"), null=True, blank=True)
    resolution_minutes = models.PositiveIntegerField(_("resolution"), null=True, blank=True)
    # Operational targets: how long the ticket may stay at each tier before it moves on.
    l1_minutes = models.PositiveIntegerField(_("time at L1"), null=True, blank=True)
    l2_minutes = models.PositiveIntegerField(_("time at L2"), null=True, blank=True)
    l3_minutes = models.PositiveIntegerField(_("time at L3"), null=True, blank=True)
    pause_statuses = models.JSONField(_("paused in"), default=default_pause_statuses, blank=True)
    warn_percent = models.PositiveSmallIntegerField(_("warn at (%)"), default=75)
    on_breach = models.CharField(
        _("on breach"), max_length=8, choices=OnBreach.choices, default=OnBreach.NOTIFY
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")

    def __str__(self) -> str:
        return self.name

    def matches(self, ticket: Ticket) -> bool:
        return (
            (self.organization_id is None or self.organization_id == ticket.organization_id)
            and (not self.priority or self.priority == ticket.priority)
            and (self.category_id is None or self.category_id == ticket.category_id)
            and (not self.channel or self.channel == ticket.channel)
            and (self.team_id is None or self.team_id == ticket.team_id)
        )


class Target(models.TextChoices):
    FIRST_RESPONSE = "first_response", _("First response")
    NEXT_RESPONSE = "next_response", _("Next response")
    RESOLUTION = "resolution", _("Resolution")
    TIER = "tier", _("Time at tier")


class SlaClock(models.Model):
    """A ticket's SLA state: when each target is due, and when the watch must look next.

    Due times are None when there is no target, it is met, or the clock is paused (a
    paused clock has no due time until it runs again)."""

    ticket = models.OneToOneField(
        Ticket, on_delete=models.CASCADE, primary_key=True, related_name="sla"
    )
    policy = models.ForeignKey(SlaPolicy, on_delete=models.SET_NULL, null=True, blank=True)
    # Every interval the clock stood still, as [start, end] ISO strings; end null while it is
    # still paused. Kept whole so a new policy or priority recomputes from the same history.
    pauses = models.JSONField(default=list)
    tier_since = models.DateTimeField()
    # The requester's message waiting for an answer (after the first response).
    awaiting_since = models.DateTimeField(null=True, blank=True)
    first_response_due = models.DateTimeField(null=True, blank=True)
    next_response_due = models.DateTimeField(null=True, blank=True)
    resolution_due = models.DateTimeField(null=True, blank=True)
    tier_due = models.DateTimeField(null=True, blank=True)
    warned = models.JSONField(default=list)  # targets already warned about
    breached = models.JSONField(default=list)  # targets breached (missed), ever
    # The earliest moment the breach watch must look at this ticket again; indexed, so the
    # watch reads only the clocks that are due whatever the number of tickets.
    next_check_at = models.DateTimeField(null=True, blank=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("SLA clock")
        verbose_name_plural = _("SLA clocks")

    def __str__(self) -> str:
        return f"SLA of ticket {self.ticket_id}"

    @property
    def paused(self) -> bool:
        return bool(self.pauses) and self.pauses[-1][1] is None


class Trigger(models.TextChoices):
    CREATED = "created", _("A ticket is created")
    UPDATED = "updated", _("A ticket changes")
    REQUESTER_REPLIED = "requester_replied", _("The requester replies")
    AGENT_REPLIED = "agent_replied", _("An agent replies")
    IDLE = "idle", _("Hours since the last change")
    IN_STATUS = "in_status", _("Hours in the current status")


TIMED_TRIGGERS = frozenset({Trigger.IDLE, Trigger.IN_STATUS})


class Rule(models.Model):
    """When `trigger` happens and every condition holds, run the actions in order.

    conditions: [{"field": "priority", "op": "in", "value": ["P1", "P2"]}, ...]
    actions: [{"type": "set", "field": "status", "value": "open"},
              {"type": "assign", "to": "round_robin"}, {"type": "add_tag", "value": "vip"},
              {"type": "escalate", "reason": "..."}, {"type": "note", "body": "..."},
              {"type": "email", "to": "requester", "subject": "...", "body": "..."}]
    (soporte/sla/automation.py checks and runs them)."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    position = models.PositiveIntegerField(_("position"), default=100)
    active = models.BooleanField(_("active"), default=True)
    trigger = models.CharField(_("when"), max_length=20, choices=Trigger.choices)
    hours = models.PositiveIntegerField(
        _("hours"), null=True, blank=True, help_text=_("For the timed triggers.")
    )
    conditions = models.JSONField(_("conditions"), default=list, blank=True)
    actions = models.JSONField(_("actions"), default=list)
    created_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("automation rule")
        verbose_name_plural = _("automation rules")

    def __str__(self) -> str:
        return self.name


class RuleRun(models.Model):
    """A timed rule fired for a ticket in one episode (`basis`: the time the idle or
    in-status period started), so it fires once per episode, never in a loop."""

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="runs")
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    basis = models.DateTimeField()
    ran_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["rule", "ticket", "basis"], name="rule_run_once")
        ]

    def __str__(self) -> str:
        return f"{self.rule_id} on {self.ticket_id} for {self.basis}"
