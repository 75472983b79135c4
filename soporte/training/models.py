"""Courses and their sessions; who is invited to a session and how they answered; the
attendance the trainer took, the attendee's feedback.

Who sees what is decided in policy.py; every change goes through services.py.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from soporte.accounts.models import Organization
from soporte.kb.models import Article
from soporte.kb.models import Category as KbCategory
from soporte.tickets.models import Category as TicketCategory


class Language(models.TextChoices):
    EN = "en", "English"
    ES = "es", "Español"


class Course(models.Model):
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    audience = models.CharField(_("audience"), max_length=200, blank=True)
    language = models.CharField(
        _("language"), max_length=8, choices=Language.choices, default=Language.EN
    )
    # Materials: knowledge-base articles, and manuals (a knowledge-base category exported).
    articles = models.ManyToManyField(
        Article, blank=True, related_name="courses", verbose_name=_("articles")
    )
    manuals = models.ManyToManyField(
        KbCategory, blank=True, related_name="courses", verbose_name=_("manuals")
    )
    # The ticket categories the course covers: the coverage report counts their tickets.
    categories = models.ManyToManyField(
        TicketCategory, blank=True, related_name="courses", verbose_name=_("ticket categories")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["title", "id"]
        verbose_name = _("course")
        verbose_name_plural = _("courses")

    def __str__(self) -> str:
        return self.title


class CourseFile(models.Model):
    """A file handed out with the course; checked and size-limited like attachments."""

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="files")
    filename = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    file = models.FileField(upload_to="training/%Y/%m/")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["filename", "id"]

    def __str__(self) -> str:
        return self.filename


class SessionStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    CANCELLED = "cancelled", _("Cancelled")


class Session(models.Model):
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="sessions")
    starts_at = models.DateTimeField(_("starts"))
    duration_minutes = models.PositiveIntegerField(_("duration (minutes)"))
    place = models.CharField(_("place"), max_length=200, blank=True)
    online_url = models.URLField(_("online link"), max_length=500, blank=True)
    capacity = models.PositiveIntegerField(_("capacity"))
    trainer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="trained_sessions",
        verbose_name=_("trainer"),
    )
    # Requesters of these organizations may see the session and sign up themselves.
    organizations = models.ManyToManyField(
        Organization, blank=True, related_name="+", verbose_name=_("open to organizations")
    )
    status = models.CharField(
        max_length=12, choices=SessionStatus.choices, default=SessionStatus.SCHEDULED
    )
    # iCalendar SEQUENCE: raised by every change sent to the attendees.
    sequence = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["starts_at", "id"]
        indexes = [models.Index(fields=["starts_at"], name="training_session_starts")]

    def __str__(self) -> str:
        return f"{self.course} ({self.starts_at:%Y-%m-%d %H:%M} UTC)"

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + timedelta(minutes=self.duration_minutes)

    @property
    def cancelled(self) -> bool:
        return self.status == SessionStatus.CANCELLED


class AttendeeStatus(models.TextChoices):
    INVITED = "invited", _("Invited")
    ACCEPTED = "accepted", _("Accepted")
    WAITING = "waiting", _("On the waiting list")
    DECLINED = "declined", _("Declined")


# iCalendar PARTSTAT for each answer (RFC 5545 3.2.12); the waiting list is TENTATIVE.
PARTSTAT = {
    AttendeeStatus.INVITED: "NEEDS-ACTION",
    AttendeeStatus.ACCEPTED: "ACCEPTED",
    AttendeeStatus.WAITING: "TENTATIVE",
    AttendeeStatus.DECLINED: "DECLINED",
}


class Attendee(models.Model):
    """One person's place in a session: invited, accepted, waiting or declined."""

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="attendees")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="training_sessions"
    )
    status = models.CharField(
        max_length=10, choices=AttendeeStatus.choices, default=AttendeeStatus.INVITED
    )
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    # First come, first served: the order of the waiting list.
    waiting_since = models.DateTimeField(null=True, blank=True)
    responded_at = models.DateTimeField(null=True, blank=True)
    # Taken by the trainer: None until then.
    attended = models.BooleanField(null=True)
    rating = models.PositiveSmallIntegerField(null=True, blank=True)
    comment = models.TextField(blank=True)
    feedback_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["session", "user"], name="training_attendee_once"),
            models.CheckConstraint(
                condition=models.Q(rating__isnull=True) | models.Q(rating__gte=1, rating__lte=5),
                name="training_rating_1_5",
            ),
        ]
        indexes = [models.Index(fields=["session", "status"], name="training_attendee_status")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.session_id}"

    @property
    def uid(self) -> str:
        """The iCalendar UID: the same for every message about this person's place."""
        return f"training-session-{self.session_id}-user-{self.user_id}@soporte"
