"""Checklist templates and the checklists attached to tickets, sub-tasks, and remote
sessions. Requesters never see any of it: it is the agents' own record of the work."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from soporte.tickets.models import Category, Ticket

NOTE_MAX = 2000


class ChecklistTemplate(models.Model):
    """A reusable list of steps, attached to tickets of its categories (and of their
    subcategories) automatically, or to any ticket by hand."""

    # Set on the templates shipped with Soporte (defaults.py), so they are made once.
    key = models.SlugField(max_length=50, unique=True, null=True, blank=True, editable=False)
    name = models.CharField(_("name"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    categories = models.ManyToManyField(
        Category, blank=True, related_name="checklist_templates", verbose_name=_("categories")
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def display_name(self) -> str:
        """The name in the reader's language when it is one of the shipped names."""
        return gettext(self.name)


class TemplateStep(models.Model):
    template = models.ForeignKey(ChecklistTemplate, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveIntegerField()
    title = models.CharField(_("step"), max_length=200)
    required = models.BooleanField(_("required"), default=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.title

    @property
    def display_title(self) -> str:
        return gettext(self.title)


class Checklist(models.Model):
    """A template's steps copied onto a ticket: later edits of the template leave the
    checklists already attached as they were."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="checklists")
    template = models.ForeignKey(
        ChecklistTemplate, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    name = models.CharField(_("name"), max_length=120)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["added_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["ticket", "template"], name="checklist_once_per_ticket")
        ]

    def __str__(self) -> str:
        return f"{self.name} on #{self.ticket_id}"

    @property
    def display_name(self) -> str:
        return gettext(self.name)


class ChecklistStep(models.Model):
    checklist = models.ForeignKey(Checklist, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveIntegerField()
    title = models.CharField(_("step"), max_length=200)
    required = models.BooleanField(_("required"), default=True)
    done = models.BooleanField(_("done"), default=False)
    # Who checked it and when; an uncheck clears them (the ticket's history keeps both).
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    done_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(_("note"), blank=True, max_length=NOTE_MAX)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.title

    @property
    def display_title(self) -> str:
        return gettext(self.title)


class SubTask(models.Model):
    """A piece of the ticket's work for one agent. Open sub-tasks are a warning on the
    ticket; only the ones marked required hold back its resolution."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="subtasks")
    title = models.CharField(_("title"), max_length=200)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="subtasks",
        verbose_name=_("assignee"),
    )
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    required = models.BooleanField(_("required to resolve"), default=False)
    done_at = models.DateTimeField(_("done"), null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            # "My sub-tasks": the open ones of one agent, soonest due first.
            models.Index(
                fields=["assignee", "due_at", "id"],
                condition=Q(done_at__isnull=True),
                name="subtask_open_by_assignee",
            )
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def done(self) -> bool:
        return self.done_at is not None


class RemoteTool(models.TextChoices):
    QUICK_ASSIST = "quick_assist", _("Quick Assist")
    ANYDESK = "anydesk", _("AnyDesk")
    TEAMVIEWER = "teamviewer", _("TeamViewer")
    RDP = "rdp", _("Remote Desktop (RDP)")
    VNC = "vnc", _("VNC")
    SSH = "ssh", _("SSH")
    PHONE = "phone", _("Phone only (guided, no remote tool)")
    OTHER = "other", _("Other")


class ConsentMethod(models.TextChoices):
    VERBAL = "verbal", _("Said yes on a call")
    WRITTEN = "written", _("In writing (ticket, mail or chat)")
    IN_TOOL = "in_tool", _("Accepted the tool's prompt")
    IN_PERSON = "in_person", _("In person")


class RemoteSession(models.Model):
    """A remote or phone support session on a ticket. None is recorded without the
    user's consent: who gave it, how and when."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="remote_sessions")
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    tool = models.CharField(_("tool"), max_length=16, choices=RemoteTool.choices)
    session_id = models.CharField(_("session ID"), max_length=100, blank=True)
    consent_by = models.CharField(_("consent given by"), max_length=200)
    consent_method = models.CharField(
        _("consent given"), max_length=16, choices=ConsentMethod.choices
    )
    consent_at = models.DateTimeField(_("consent given at"))
    started_at = models.DateTimeField(_("started"))
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    summary = models.TextField(_("what was done"), blank=True, max_length=NOTE_MAX)

    class Meta:
        ordering = ["started_at", "id"]
        constraints = [
            models.CheckConstraint(condition=~Q(consent_by=""), name="remote_session_consent"),
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(ended_at__gte=models.F("started_at")),
                name="remote_session_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_tool_display()} on #{self.ticket_id}"
