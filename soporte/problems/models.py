"""Problems (the cause behind one or more tickets) and known errors (a problem whose cause
is known and that has a workaround), the development trackers a problem is reported to
as a bug, and each delivery of such a report.

Who sees what is decided in services.py (agents only; requesters see the public
workaround of a known error on their linked tickets); every change goes through it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from soporte.assets.models import Asset
from soporte.tickets.models import Ticket


class ProblemStatus(models.TextChoices):
    INVESTIGATING = "investigating", _("Investigating")
    KNOWN_ERROR = "known_error", _("Known error")
    FIX_IN_PROGRESS = "fix_in_progress", _("Fix in progress")
    RESOLVED = "resolved", _("Resolved")


class TrackerKind(models.TextChoices):
    GITHUB = "github", _("GitHub Issues")
    GITLAB = "gitlab", _("GitLab Issues")
    JIRA = "jira", _("Jira")
    WEBHOOK = "webhook", _("Generic webhook (HMAC-SHA256 signed)")


class BugState(models.TextChoices):
    NONE = "", _("Not reported")
    OPEN = "open", _("Open")
    FIXED = "fixed", _("Fixed")


class Tracker(models.Model):
    """Where bugs go. Secrets stay in the environment: these fields only NAME the
    variables holding them, so nothing secret is stored in the database or shown."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=TrackerKind.choices)
    base_url = models.URLField(
        _("base URL"),
        max_length=300,
        help_text=_(
            "https://api.github.com, https://gitlab.example.com, https://you.atlassian.net, "
            "or the generic webhook's URL."
        ),
    )
    project = models.CharField(
        _("project or repository"),
        max_length=200,
        blank=True,
        help_text=_("GitHub: owner/repo. GitLab: the project id or path. Jira: the project key."),
    )
    username = models.CharField(
        _("user name"),
        max_length=200,
        blank=True,
        help_text=_("Jira: the account's email (Basic authentication); empty for a bearer token."),
    )
    issue_type = models.CharField(_("Jira issue type"), max_length=60, default="Bug", blank=True)
    jira_api_version = models.CharField(
        _("Jira API version"), max_length=1, choices=[("2", "v2"), ("3", "v3")], default="2"
    )
    token_env = models.CharField(
        _("token variable"),
        max_length=100,
        blank=True,
        help_text=_(
            "The NAME of the environment variable holding the API token (generic webhook: "
            "the secret the requests are signed with)."
        ),
    )
    secret_env = models.CharField(
        _("webhook secret variable"),
        max_length=100,
        blank=True,
        help_text=_(
            "The NAME of the environment variable holding the secret incoming status "
            "webhooks are checked with."
        ),
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("development tracker")
        verbose_name_plural = _("development trackers")

    def __str__(self) -> str:
        return self.name


class Problem(models.Model):
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    root_cause = models.TextField(_("root cause"), blank=True)
    workaround = models.TextField(_("workaround"), blank=True)
    # Shown to requesters on their linked tickets while the problem is a known error.
    workaround_public = models.BooleanField(_("requesters may read the workaround"), default=True)
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=ProblemStatus.choices,
        default=ProblemStatus.INVESTIGATING,
    )
    notify_when_fixed = models.BooleanField(_("tell the requesters when fixed"), default=False)
    tickets = models.ManyToManyField(
        Ticket, through="ProblemTicket", related_name="problems", blank=True
    )
    assets = models.ManyToManyField(
        Asset, blank=True, related_name="problems", verbose_name=_("affected assets")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    # The bug in the development tracker, once a report was delivered.
    tracker = models.ForeignKey(
        Tracker, on_delete=models.PROTECT, null=True, blank=True, related_name="problems"
    )
    bug_key = models.CharField(_("bug"), max_length=100, blank=True)
    bug_url = models.URLField(_("bug URL"), max_length=500, blank=True)
    bug_state = models.CharField(
        _("bug status"), max_length=8, choices=BugState.choices, default="", blank=True
    )
    bug_fixed_at = models.DateTimeField(null=True, blank=True)
    bug_checked_at = models.DateTimeField(null=True, blank=True)
    # A save that carries an older version is refused (someone else changed it).
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        indexes = [
            models.Index(fields=["status", "updated_at"], name="problem_status"),
            models.Index(fields=["tracker", "bug_key"], name="problem_bug"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("problems:problem", args=[self.pk])

    @property
    def is_known_error(self) -> bool:
        return self.status == ProblemStatus.KNOWN_ERROR


class ProblemTicket(models.Model):
    problem = models.ForeignKey(Problem, on_delete=models.CASCADE, related_name="ticket_links")
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="problem_links")
    linked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    linked_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["linked_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["problem", "ticket"], name="problem_ticket_unique")
        ]

    def __str__(self) -> str:
        return f"problem {self.problem_id} - ticket {self.ticket_id}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class BugReport(models.Model):
    """One "report to development": delivered by the job problems.deliver_bug, retried on
    network errors and 5xx answers; a failure stays here, shown to agents, until
    someone tries again."""

    problem = models.ForeignKey(Problem, on_delete=models.CASCADE, related_name="reports")
    tracker = models.ForeignKey(Tracker, on_delete=models.PROTECT, related_name="reports")
    status = models.CharField(
        max_length=8, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One report under way per problem: a second click does not file a second bug.
            models.UniqueConstraint(
                fields=["problem"],
                condition=Q(status="pending"),
                name="problem_one_pending_report",
            )
        ]

    def __str__(self) -> str:
        return f"report of problem {self.problem_id} ({self.status})"
