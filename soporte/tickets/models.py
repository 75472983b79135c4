"""Tickets, their conversation, their files and their audit trail."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from soporte.accounts.models import Organization, Team, Tier


class Status(models.TextChoices):
    NEW = "new", _("New")
    OPEN = "open", _("Open")
    PENDING_CUSTOMER = "pending_customer", _("Pending customer")
    PENDING_THIRD_PARTY = "pending_third_party", _("Pending third party")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")


ACTIVE_STATUSES = frozenset(
    {Status.NEW, Status.OPEN, Status.PENDING_CUSTOMER, Status.PENDING_THIRD_PARTY}
)

# The only moves change_status allows. Closing needs a resolved ticket (merge is the one
# service that closes an active ticket, as a duplicate).
TRANSITIONS: dict[str, frozenset[str]] = {
    Status.NEW: frozenset(
        {Status.OPEN, Status.PENDING_CUSTOMER, Status.PENDING_THIRD_PARTY, Status.RESOLVED}
    ),
    Status.OPEN: frozenset({Status.PENDING_CUSTOMER, Status.PENDING_THIRD_PARTY, Status.RESOLVED}),
    Status.PENDING_CUSTOMER: frozenset({Status.OPEN, Status.PENDING_THIRD_PARTY, Status.RESOLVED}),
    Status.PENDING_THIRD_PARTY: frozenset({Status.OPEN, Status.PENDING_CUSTOMER, Status.RESOLVED}),
    Status.RESOLVED: frozenset({Status.OPEN, Status.CLOSED}),
    Status.CLOSED: frozenset({Status.OPEN}),
}


class Priority(models.TextChoices):
    P1 = "P1", _("P1 - critical")
    P2 = "P2", _("P2 - high")
    P3 = "P3", _("P3 - medium")
    P4 = "P4", _("P4 - low")


class Level(models.TextChoices):
    """Impact and urgency share one scale."""

    HIGH = "high", _("High")
    MEDIUM = "medium", _("Medium")
    LOW = "low", _("Low")


# ITIL-style matrix: (impact, urgency) -> priority.
PRIORITY_MATRIX: dict[tuple[str, str], str] = {
    (Level.HIGH, Level.HIGH): Priority.P1,
    (Level.HIGH, Level.MEDIUM): Priority.P2,
    (Level.MEDIUM, Level.HIGH): Priority.P2,
    (Level.HIGH, Level.LOW): Priority.P3,
    (Level.MEDIUM, Level.MEDIUM): Priority.P3,
    (Level.LOW, Level.HIGH): Priority.P3,
    (Level.MEDIUM, Level.LOW): Priority.P4,
    (Level.LOW, Level.MEDIUM): Priority.P4,
    (Level.LOW, Level.LOW): Priority.P4,
}


class Channel(models.TextChoices):
    EMAIL = "email", _("Email")
    WEB = "web", _("Web portal")
    PHONE = "phone", _("Phone")
    API = "api", _("API")
    CHAT = "chat", _("Chat")


class Category(models.Model):
    name = models.CharField(_("name"), max_length=120)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children"
    )
    description = models.TextField(_("description"), blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = _("categories")
        constraints = [
            models.UniqueConstraint(fields=["parent", "name"], name="category_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    name = models.CharField(_("name"), max_length=50, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Counter(models.Model):
    """Gapless counters (ticket numbers) taken with UPDATE ... RETURNING."""

    name = models.CharField(max_length=32, primary_key=True)
    value = models.BigIntegerField()

    def __str__(self) -> str:
        return f"{self.name}={self.value}"


class Ticket(models.Model):
    # Set by services.open_ticket on the ticket it returns (no query to find it); not a field.
    first_message: Message
    number = models.PositiveIntegerField(_("number"), unique=True, editable=False)
    subject = models.CharField(_("subject"), max_length=250)
    status = models.CharField(
        _("status"), max_length=24, choices=Status.choices, default=Status.NEW
    )
    impact = models.CharField(
        _("impact"), max_length=8, choices=Level.choices, default=Level.MEDIUM
    )
    urgency = models.CharField(
        _("urgency"), max_length=8, choices=Level.choices, default=Level.MEDIUM
    )
    priority = models.CharField(
        _("priority"), max_length=2, choices=Priority.choices, default=Priority.P3
    )
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="requested_tickets",
        verbose_name=_("requester"),
        db_index=False,  # ticket_requester_upd starts with it
    )
    organization = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="tickets",
        verbose_name=_("organization"),
        db_index=False,  # ticket_org_upd starts with it
    )
    watchers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="watched_tickets", blank=True, verbose_name=_("CC")
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assigned_tickets",
        verbose_name=_("assignee"),
        db_index=False,  # ticket_assignee_upd starts with it
    )
    team = models.ForeignKey(
        Team,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="tickets",
        verbose_name=_("team"),
        db_index=False,  # ticket_team_status_upd starts with it
    )
    tier = models.CharField(_("tier"), max_length=2, choices=Tier.choices, default=Tier.L1)
    category = models.ForeignKey(
        Category,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="tickets",
        verbose_name=_("category"),
    )
    tags = models.ManyToManyField(Tag, related_name="tickets", blank=True, verbose_name=_("tags"))
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    resolution = models.TextField(_("resolution"), blank=True)
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="merged_from",
        verbose_name=_("merged into"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    first_responded_at = models.DateTimeField(_("first response"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    # Bumped by every change; a write that carries an older value is refused (409).
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-updated_at", "-id"]
        indexes = [
            # Keyset pagination: each list filter leads, the sort key and id follow.
            models.Index(fields=["updated_at", "id"], name="ticket_updated"),
            models.Index(fields=["status", "updated_at", "id"], name="ticket_status_updated"),
            models.Index(
                fields=["team", "status", "updated_at", "id"], name="ticket_team_status_upd"
            ),
            models.Index(
                fields=["assignee", "status", "updated_at", "id"], name="ticket_assignee_upd"
            ),
            models.Index(fields=["requester", "updated_at", "id"], name="ticket_requester_upd"),
            models.Index(fields=["organization", "updated_at", "id"], name="ticket_org_upd"),
            models.Index(fields=["created_at", "id"], name="ticket_created"),
        ]

    def __str__(self) -> str:
        return f"#{self.number} {self.subject}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES


class MessageKind(models.TextChoices):
    REPLY = "reply", _("Public reply")
    NOTE = "note", _("Internal note")
    CALL = "call", _("Phone call")


class CallDirection(models.TextChoices):
    INBOUND = "inbound", _("Inbound")
    OUTBOUND = "outbound", _("Outbound")


class Message(models.Model):
    # Indexed by message_ticket, which starts with it (one index less per message written).
    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="messages", db_index=False
    )
    kind = models.CharField(_("kind"), max_length=8, choices=MessageKind.choices)
    # Internal messages are never shown to requesters: notes always, calls by default.
    internal = models.BooleanField(_("internal"), default=False)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="messages"
    )
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    body_text = models.TextField(_("text"))
    body_html = models.TextField(_("HTML"), blank=True)
    call_direction = models.CharField(max_length=8, choices=CallDirection.choices, blank=True)
    call_duration = models.PositiveIntegerField(null=True, blank=True)  # seconds
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["ticket", "created_at", "id"], name="message_ticket")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on #{self.ticket_id}"


def attachment_path(instance: Attachment, filename: str) -> str:
    # The stored name never comes from the user: a random token under the ticket.
    return f"attachments/{instance.ticket_id}/{instance.token}"


class Attachment(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="attachments")
    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, null=True, blank=True, related_name="attachments"
    )
    token = models.CharField(max_length=32, unique=True)
    file = models.FileField(upload_to=attachment_path, max_length=200)
    filename = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    internal = models.BooleanField(default=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.filename


class EventKind(models.TextChoices):
    CREATED = "created", _("Created")
    REPLIED = "replied", _("Replied")
    NOTE_ADDED = "note_added", _("Internal note added")
    CALL_LOGGED = "call_logged", _("Call logged")
    ASSIGNED = "assigned", _("Assigned")
    ESCALATED = "escalated", _("Escalated")
    DEESCALATED = "deescalated", _("De-escalated")
    STATUS_CHANGED = "status_changed", _("Status changed")
    UPDATED = "updated", _("Field changed")
    MERGED = "merged", _("Merged")
    ATTACHMENT_ADDED = "attachment_added", _("Attachment added")
    SLA_WARNING = "sla_warning", _("SLA target nearly reached")
    SLA_BREACHED = "sla_breached", _("SLA target breached")
    MACRO_APPLIED = "macro_applied", _("Macro applied")
    # Kinds the other areas write through log_event (declared here: one migration, not one
    # per area).
    PROBLEM_LINKED = "problem_linked", _("Linked to a problem")
    PROBLEM_UNLINKED = "problem_unlinked", _("Unlinked from a problem")
    BUG_REPORTED = "bug_reported", _("Reported to development")
    BUG_FIXED = "bug_fixed", _("Fixed by development")
    CHECKLIST_ADDED = "checklist_added", _("Checklist added")
    CHECKLIST_STEP = "checklist_step", _("Checklist step done")
    TASK_ADDED = "task_added", _("Sub-task added")
    TASK_DONE = "task_done", _("Sub-task done")
    REMOTE_SESSION = "remote_session", _("Remote session")
    FLOW_RUN = "flow_run", _("Troubleshooting flow run")
    TIME_LOGGED = "time_logged", _("Time logged")
    RATED = "rated", _("Satisfaction rated")
    TRIAGED = "triaged", _("Triage suggestion applied")
    DUPLICATE_FLAGGED = "duplicate_flagged", _("Flagged as a probable duplicate")
    INCIDENT_LINKED = "incident_linked", _("Part of a probable major incident")
    COURSE_RECOMMENDED = "course_recommended", _("Course recommended")


class TicketEventQuerySet(models.QuerySet):
    """Bulk writes would bypass TicketEvent.save/delete, so they are refused too."""

    def update(self, **kwargs):
        raise ValueError("ticket events are immutable")

    def delete(self):
        raise ValueError("ticket events are immutable")


class TicketEvent(models.Model):
    """One line of the audit trail. Written once, never changed or deleted."""

    # Indexed by event_ticket, which starts with it.
    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="events", db_index=False
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    kind = models.CharField(max_length=24, choices=EventKind.choices)
    field = models.CharField(max_length=40, blank=True)
    old = models.TextField(blank=True)
    new = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TicketEventQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["ticket", "created_at", "id"], name="event_ticket")]

    def __str__(self) -> str:
        return f"{self.kind} on #{self.ticket_id}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("ticket events are immutable")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("ticket events are immutable")


class SavedView(models.Model):
    """An agent's saved ticket-list filter (the list page's query string)."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views"
    )
    name = models.CharField(_("name"), max_length=80)
    query = models.CharField(max_length=1000)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="savedview_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class MacroKind(models.TextChoices):
    """How a macro posts its text."""

    REPLY = "reply", _("Public reply")
    NOTE = "note", _("Internal note")


class MacroAssign(models.TextChoices):
    KEEP = "", _("Keep the assignee")
    ME = "me", _("The agent applying it")
    AGENT = "agent", _("A specific agent")


# The statuses a macro may set: new is never set by hand, and closing needs a resolved
# ticket first.
MACRO_STATUSES = (
    Status.OPEN,
    Status.PENDING_CUSTOMER,
    Status.PENDING_THIRD_PARTY,
    Status.RESOLVED,
)


class CannedResponse(models.Model):
    """A macro: a ready answer, shared (no owner) or personal, with placeholders, and
    optional field changes applied with it in one step. With text only, it is the
    canned response agents insert in the composer."""

    title = models.CharField(_("title"), max_length=120)
    body = models.TextField(_("text"), blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="canned_responses",
    )
    kind = models.CharField(
        _("post the text as"), max_length=8, choices=MacroKind.choices, default=MacroKind.REPLY
    )
    # Blank means "leave as it is".
    status = models.CharField(
        _("set status"),
        max_length=24,
        choices=[(s.value, s.label) for s in MACRO_STATUSES],
        blank=True,
    )
    impact = models.CharField(_("set impact"), max_length=8, choices=Level.choices, blank=True)
    urgency = models.CharField(_("set urgency"), max_length=8, choices=Level.choices, blank=True)
    team = models.ForeignKey(
        Team,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("move to team"),
    )
    assign = models.CharField(_("assign to"), max_length=8, choices=MacroAssign.choices, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("agent"),
    )
    add_tags = models.JSONField(_("add tags"), default=list, blank=True)

    class Meta:
        ordering = ["title", "id"]

    def __str__(self) -> str:
        return self.title

    @property
    def shared(self) -> bool:
        return self.owner_id is None

    @property
    def changes_fields(self) -> bool:
        return bool(
            self.status
            or self.impact
            or self.urgency
            or self.team_id
            or self.assign
            or self.add_tags
        )


class Presence(models.Model):
    """Who is composing on a ticket right now; rows expire after a short while."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    seen_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["ticket", "user"], name="presence_unique")]

    def __str__(self) -> str:
        return f"{self.user_id} on {self.ticket_id}"


# -- time tracking and satisfaction surveys (issue 9) -----------------------------------


class TimeEntry(models.Model):
    """Time an agent spent on a ticket: typed in (the composer, the time box, the API)
    or written by stopping a timer (then `started_at` says when the timer started)."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="time_entries")
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="time_entries",
        verbose_name=_("agent"),
    )
    seconds = models.PositiveIntegerField(_("seconds"))
    note = models.CharField(_("note"), max_length=500, blank=True)
    billable = models.BooleanField(_("billable"), default=False)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    # The reply, note or call it was logged with, if any.
    message = models.ForeignKey(
        Message, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("logged"), auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("time entry")
        verbose_name_plural = _("time entries")
        indexes = [
            models.Index(fields=["ticket", "created_at", "id"], name="timeentry_ticket"),
            models.Index(fields=["agent", "created_at", "id"], name="timeentry_agent"),
            models.Index(fields=["created_at", "id"], name="timeentry_created"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(seconds__gte=1, seconds__lte=86_400),
                name="timeentry_seconds_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.seconds}s on #{self.ticket_id}"


class RunningTimer(models.Model):
    """A started timer: one per agent per ticket, kept on the server so that it survives
    page reloads and shows on the ticket and the agent's home until it is stopped."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="timers")
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="running_timers"
    )
    started_at = models.DateTimeField()
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["started_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["ticket", "agent"], name="timer_one_per_agent"),
        ]

    def __str__(self) -> str:
        return f"timer of {self.agent_id} on #{self.ticket_id}"


class SatisfactionRating(models.Model):
    """The requester's rating of one resolution. A reopened and re-resolved ticket gets a
    new survey (another `resolved_at`); rating again the same resolution updates the row."""

    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="ratings", verbose_name=_("ticket")
    )
    resolved_at = models.DateTimeField(_("resolution rated"))
    rating = models.PositiveSmallIntegerField(_("rating"))
    comment = models.TextField(_("comment"), blank=True)
    # Who and which team resolved it, as they were at the resolution (for reports).
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="ratings_received",
        verbose_name=_("agent"),
    )
    team = models.ForeignKey(
        Team,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="ratings",
        verbose_name=_("team"),
    )
    # What a low rating did ("alert", "reopen"), once per survey; blank while none.
    low_action = models.CharField(max_length=12, blank=True)
    alert_sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(_("rated"), auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["created_at", "id"], name="rating_created"),
            models.Index(fields=["agent", "created_at"], name="rating_agent"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "resolved_at"], name="rating_one_per_resolution"
            ),
            models.CheckConstraint(
                condition=models.Q(rating__gte=1, rating__lte=5), name="rating_1_to_5"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rating}/5 for #{self.ticket_id}"
