"""Mail as it arrived (raw, before anything else), mailboxes we poll, ids we know, and
mail we send."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from soporte.accounts.models import Team
from soporte.tickets.models import Message, Ticket


class Security(models.TextChoices):
    IMAPS = "imaps", _("IMAP over TLS (993)")
    STARTTLS = "starttls", _("IMAP with STARTTLS (143)")
    PLAIN = "plain", _("Plain IMAP (tests and local relays only)")


class AfterFetch(models.TextChoices):
    FLAG = "flag", _("Mark as read")
    MOVE = "move", _("Move to a folder")


class Mailbox(models.Model):
    """An IMAP mailbox polled for requests; its mail goes to one team's queue."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    address = models.EmailField(_("support address"), help_text=_("Where requesters write."))
    team = models.ForeignKey(
        Team, on_delete=models.SET_NULL, null=True, blank=True, verbose_name=_("team")
    )
    host = models.CharField(_("host"), max_length=255)
    port = models.PositiveIntegerField(_("port"), default=993)
    security = models.CharField(
        _("security"), max_length=8, choices=Security.choices, default=Security.IMAPS
    )
    username = models.CharField(_("username"), max_length=255)
    # Secrets come from the environment: this names the variable holding the password.
    password_env = models.CharField(_("password variable"), max_length=100)
    folder = models.CharField(_("folder"), max_length=255, default="INBOX")
    after_fetch = models.CharField(
        _("after fetching"), max_length=4, choices=AfterFetch.choices, default=AfterFetch.FLAG
    )
    move_to = models.CharField(_("move to folder"), max_length=255, blank=True)
    active = models.BooleanField(_("active"), default=True)
    # Where the poller left off: UIDs are only meaningful within one UIDVALIDITY.
    uidvalidity = models.BigIntegerField(null=True, blank=True)
    last_uid = models.BigIntegerField(default=0)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = _("mailboxes")

    def __str__(self) -> str:
        return f"{self.name} <{self.address}>"


class Source(models.TextChoices):
    IMAP = "imap", "IMAP"
    SMTP = "smtp", "SMTP/LMTP"
    API = "api", "API"


class RawStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    DONE = "done", _("Processed")
    QUARANTINED = "quarantined", _("Quarantined")
    # Over MAIL_MAX_BYTES: recorded (headers only) and answered, never processed.
    REFUSED = "refused", _("Refused: too large")


class RawMessage(models.Model):
    """An inbound message exactly as received, committed before it is parsed; for one
    refused as too large, only its size, sender and subject (`raw` stays empty)."""

    # Unique: "mid:" + the Message-ID, or "sha:" + the content hash when it has none,
    # hashed to a fixed length; the same message delivered twice is stored once.
    dedupe_key = models.CharField(max_length=64, unique=True)
    mail_id = models.CharField(_("Message-ID"), max_length=998, blank=True, db_index=True)
    sender = models.CharField(max_length=254, blank=True)  # rawmessage_sender indexes it
    subject = models.CharField(max_length=998, blank=True)
    source = models.CharField(max_length=4, choices=Source.choices)
    mailbox = models.ForeignKey(Mailbox, on_delete=models.SET_NULL, null=True, blank=True)
    raw = models.BinaryField()
    size = models.PositiveIntegerField()
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    status = models.CharField(
        max_length=12, choices=RawStatus.choices, default=RawStatus.PENDING, db_index=True
    )
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    ticket = models.ForeignKey(
        Ticket, on_delete=models.SET_NULL, null=True, blank=True, related_name="raw_mail"
    )
    message = models.ForeignKey(
        Message, on_delete=models.SET_NULL, null=True, blank=True, related_name="raw_mail"
    )

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["sender", "received_at"], name="rawmessage_sender")]

    def __str__(self) -> str:
        return f"{self.mail_id or self.dedupe_key[:12]} ({self.status})"


class KnownMessageId(models.Model):
    """Every Message-ID we received or sent, and its ticket: how replies find their
    conversation through In-Reply-To and References."""

    mail_id = models.CharField(_("Message-ID"), max_length=998, unique=True)
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.mail_id


class OutboundKind(models.TextChoices):
    ACKNOWLEDGEMENT = "ack", _("Acknowledgement")
    REPLY = "reply", _("Agent reply")
    STATUS = "status", _("Status change")
    RESOLVED = "resolved", _("Resolution")
    REFUSED = "refused", _("Message too large")
    SLA = "sla", _("Service level alert")
    TEMPLATED = "rule", _("Mail from an automation rule")


class OutboundStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class OutboundMail(models.Model):
    """One email we send, recorded before sending so it is sent once and its failures
    show on the ticket. Mail about a refused message has no ticket, only that message."""

    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, null=True, blank=True, related_name="outbound_mail"
    )
    raw = models.ForeignKey(
        RawMessage, on_delete=models.CASCADE, null=True, blank=True, related_name="outbound_mail"
    )
    message = models.ForeignKey(Message, on_delete=models.SET_NULL, null=True, blank=True)
    # The event an alert is about (SLA warnings and breaches: which target, when due).
    event = models.ForeignKey(
        "tickets.TicketEvent", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=8, choices=OutboundKind.choices)
    # The text of a mail written elsewhere (an automation rule's email), placeholders filled.
    body = models.TextField(blank=True)
    # What makes it unique: e.g. "reply:<message id>:<address>"; sending twice is impossible.
    dedupe_key = models.CharField(max_length=255, unique=True)
    to = models.JSONField(default=list)
    subject = models.CharField(max_length=998)
    mail_id = models.CharField(_("Message-ID"), max_length=998, unique=True)
    status = models.CharField(
        max_length=8, choices=OutboundStatus.choices, default=OutboundStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        about = f"#{self.ticket_id}" if self.ticket_id else f"mail {self.raw_id}"
        return f"{self.kind} {about} -> {', '.join(self.to)}"
