"""Triage: the trained model, its suggestions, probable duplicates and probable major
incidents (storms of similar tickets)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

# The ticket fields the classifier suggests.
FIELDS = ("category", "priority", "team")


class Field(models.TextChoices):
    CATEGORY = "category", _("Category")
    PRIORITY = "priority", _("Priority")
    TEAM = "team", _("Team")


class TriageSettings(models.Model):
    """The site's triage knobs (one row, pk=1), changed by administrators."""

    enabled = models.BooleanField(_("suggest on new tickets"), default=True)
    auto_apply_threshold = models.FloatField(
        _("apply automatically at confidence"),
        default=0.9,
        help_text=_("From 0 to 1; above 1 nothing is applied without an agent."),
    )
    duplicate_hours = models.PositiveIntegerField(_("duplicate window (hours)"), default=24)
    duplicate_similarity = models.FloatField(_("duplicate text similarity"), default=0.8)
    storm_size = models.PositiveIntegerField(_("storm size (tickets)"), default=5)
    storm_minutes = models.PositiveIntegerField(_("storm window (minutes)"), default=30)
    storm_similarity = models.FloatField(_("storm text similarity"), default=0.3)
    storm_by_category = models.BooleanField(_("a storm may be one category"), default=True)
    storm_auto_reply = models.BooleanField(
        _("answer new matching tickets with the incident's status message"), default=False
    )

    class Meta:
        verbose_name = _("triage settings")
        verbose_name_plural = _("triage settings")

    def __str__(self) -> str:
        return str(_("Triage settings"))


class TriageModel(models.Model):
    """One training run: every language's classifiers, pickled (joblib). Only rows this
    site wrote are ever loaded; there is no upload of a model."""

    version = models.PositiveIntegerField(_("version"), unique=True)
    trained_at = models.DateTimeField(_("trained"), auto_now_add=True)
    blob = models.BinaryField(editable=False)
    metrics = models.JSONField(_("metrics"), default=dict)
    samples = models.PositiveIntegerField(_("tickets learned from"), default=0)
    trained_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-version"]

    def __str__(self) -> str:
        return f"triage model v{self.version}"


class SuggestionStatus(models.TextChoices):
    PENDING = "pending", _("Offered")
    APPLIED = "applied", _("Applied automatically")
    ACCEPTED = "accepted", _("Accepted")
    REJECTED = "rejected", _("Rejected")
    # The field was later changed to something else: a correction to learn from.
    CORRECTED = "corrected", _("Corrected later")


class Suggestion(models.Model):
    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.CASCADE, related_name="triage_suggestions"
    )
    field = models.CharField(_("field"), max_length=10, choices=Field.choices)
    value = models.CharField(_("value"), max_length=40)
    label = models.CharField(_("label"), max_length=200)
    confidence = models.FloatField(_("confidence"))
    model_version = models.PositiveIntegerField()
    status = models.CharField(
        max_length=10, choices=SuggestionStatus.choices, default=SuggestionStatus.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["ticket", "field"]
        constraints = [
            models.UniqueConstraint(fields=["ticket", "field"], name="triage_suggestion_unique")
        ]
        indexes = [models.Index(fields=["status", "field"], name="triage_suggestion_status")]

    def __str__(self) -> str:
        return f"{self.field}={self.label} ({self.confidence:.2f})"


class DuplicateStatus(models.TextChoices):
    OPEN = "open", _("Probable duplicate")
    MERGED = "merged", _("Merged")
    DISMISSED = "dismissed", _("Not a duplicate")


class DuplicateFlag(models.Model):
    ticket = models.OneToOneField(
        "tickets.Ticket", on_delete=models.CASCADE, related_name="triage_duplicate"
    )
    original = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="+")
    similarity = models.FloatField()
    status = models.CharField(
        max_length=10, choices=DuplicateStatus.choices, default=DuplicateStatus.OPEN
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.ticket_id} ~ {self.original_id}"


class IncidentStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")


class Incident(models.Model):
    """A probable major incident: many similar tickets in a short time."""

    title = models.CharField(_("title"), max_length=250)
    reason = models.CharField(_("grouped by"), max_length=20)  # text, category, asset, location
    reason_key = models.CharField(max_length=40, blank=True)  # the category, asset or location
    status = models.CharField(
        max_length=10, choices=IncidentStatus.choices, default=IncidentStatus.OPEN
    )
    status_message = models.TextField(_("status message for requesters"), blank=True)
    # The problem record (soporte/problems) opened for it.
    problem_id = models.PositiveIntegerField(null=True, blank=True)
    first_ticket_at = models.DateTimeField()
    detected_at = models.DateTimeField(auto_now_add=True)
    last_ticket_at = models.DateTimeField()
    ticket_count = models.PositiveIntegerField(default=0)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-detected_at", "-id"]
        indexes = [models.Index(fields=["status", "last_ticket_at"], name="triage_incident_open")]

    def __str__(self) -> str:
        return self.title


class IncidentTicket(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="links")
    ticket = models.OneToOneField(
        "tickets.Ticket", on_delete=models.CASCADE, related_name="triage_incident"
    )
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["added_at", "id"]

    def __str__(self) -> str:
        return f"{self.incident_id}: {self.ticket_id}"


class TicketVector(models.Model):
    """A ticket's sentence embedding (soporte[semantic]), written by the triage job when
    the ticket arrives and again when its text changes: a similar-ticket lookup then
    embeds only the ticket it starts from (embedding 30 candidates cost 300 ms)."""

    ticket = models.OneToOneField(
        "tickets.Ticket", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    model = models.CharField(max_length=40)  # search.semantic.MODEL that wrote it
    digest = models.BigIntegerField()  # of the text embedded (search.semantic.digest)
    vector = models.BinaryField()  # float16, unit length (search.semantic.pack)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"vector of {self.ticket_id}"
