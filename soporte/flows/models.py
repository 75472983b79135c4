"""Troubleshooting flows: a decision tree (kept whole, as a definition, in versions), and
its runs, each with the path taken written down as it went, and how it ended.

A flow's definition lives in FlowVersion rows: editing a flow adds a version, so a run
keeps pointing at the tree it was answered against, and its path is a text snapshot
besides. The rules of a definition are in graph.py; every change goes through services.py.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from soporte.tickets.models import Ticket

from .graph import Definition, parse


class Language(models.TextChoices):
    EN = "en", "English"
    ES = "es", "Español"


class Flow(models.Model):
    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    language = models.CharField(
        _("language"), max_length=8, choices=Language.choices, default=Language.EN
    )
    # Public flows are offered to requesters on the portal; the others to agents only.
    public = models.BooleanField(_("offered on the portal"), default=False)
    # Archived flows keep their runs and statistics but are offered to nobody.
    archived = models.BooleanField(_("archived"), default=False)
    # The number of the current FlowVersion.
    version = models.PositiveIntegerField(default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title", "id"]
        verbose_name = _("troubleshooting flow")
        verbose_name_plural = _("troubleshooting flows")

    def __str__(self) -> str:
        return self.title

    def current(self) -> FlowVersion:
        """The current version (one query)."""
        return self.versions.get(number=self.version)


class FlowVersion(models.Model):
    """The whole tree as one save left it (graph.Definition.as_dict())."""

    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    definition = models.JSONField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["flow", "number"], name="flows_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.flow_id} v{self.number}"

    def tree(self) -> Definition:
        return parse(self.definition)


class Outcome(models.TextChoices):
    IN_PROGRESS = "in_progress", _("In progress")
    SOLVED = "solved", _("Solved")
    ESCALATED = "escalated", _("Escalated")
    ABANDONED = "abandoned", _("Abandoned")


class RunChannel(models.TextChoices):
    DESK = "desk", _("Agent, on a ticket")
    PORTAL = "portal", _("Requester, on the portal")


class FlowRun(models.Model):
    """One person answering a flow, step by step. `path` is the snapshot of the steps:
    [{"node", "question", "answer"}...], readable whatever happens to the flow later."""

    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="runs")
    flow_version = models.ForeignKey(FlowVersion, on_delete=models.PROTECT, related_name="runs")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    ticket = models.ForeignKey(
        Ticket, on_delete=models.SET_NULL, null=True, blank=True, related_name="flow_runs"
    )
    channel = models.CharField(max_length=8, choices=RunChannel.choices, default=RunChannel.DESK)
    node = models.CharField(max_length=80, help_text="The id of the node shown now.")
    path = models.JSONField(default=list)
    # The leaf the run ended on, as text (solution or escalation), once finished.
    result = models.TextField(blank=True)
    outcome = models.CharField(max_length=12, choices=Outcome.choices, default=Outcome.IN_PROGRESS)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["flow", "outcome"], name="flows_run_outcome")]

    def __str__(self) -> str:
        return f"{self.flow_id} run {self.pk}"

    @property
    def finished(self) -> bool:
        return self.outcome != Outcome.IN_PROGRESS
