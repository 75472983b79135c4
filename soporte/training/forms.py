"""The training pages' forms: they parse input; the services decide."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from soporte.accounts.models import Organization, Team, User
from soporte.kb.models import Article
from soporte.kb.models import Category as KbCategory
from soporte.tickets.models import Category as TicketCategory

from .models import Course, Language, Session


class CourseForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    description = forms.CharField(
        label=_("Description"), max_length=20_000, required=False, widget=forms.Textarea
    )
    audience = forms.CharField(label=_("Audience"), max_length=200, required=False)
    language = forms.ChoiceField(label=_("Language"), choices=Language.choices)
    articles = forms.ModelMultipleChoiceField(
        label=_("Knowledge-base articles"), queryset=Article.objects.all(), required=False
    )
    manuals = forms.ModelMultipleChoiceField(
        label=_("Manuals"), queryset=KbCategory.objects.all(), required=False
    )
    categories = forms.ModelMultipleChoiceField(
        label=_("Ticket categories covered"), queryset=TicketCategory.objects.all(), required=False
    )


class CourseFileForm(forms.Form):
    file = forms.FileField(label=_("File"))


class SessionForm(forms.Form):
    starts_at = forms.DateTimeField(
        label=_("Starts"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    time_zone = forms.CharField(label=_("Time zone"), max_length=64, initial="UTC")
    duration_minutes = forms.IntegerField(
        label=_("Duration (minutes)"), min_value=1, max_value=10080
    )
    capacity = forms.IntegerField(label=_("Capacity"), min_value=1, max_value=10_000)
    trainer = forms.ModelChoiceField(
        label=_("Trainer"), queryset=User.objects.filter(role__in=("agent", "supervisor", "admin"))
    )
    place = forms.CharField(label=_("Place"), max_length=200, required=False)
    online_url = forms.URLField(
        label=_("Online link"), max_length=500, required=False, assume_scheme="https"
    )
    organizations = forms.ModelMultipleChoiceField(
        label=_("Open to organizations"), queryset=Organization.objects.all(), required=False
    )

    def clean(self):
        data = super().clean()
        start, zone = data.get("starts_at"), data.get("time_zone") or "UTC"
        try:
            tz = ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise forms.ValidationError(_("Unknown time zone.")) from None
        if start is not None:
            data["starts_at"] = timezone.make_aware(start.replace(tzinfo=None), tz)
        return data


class InviteForm(forms.Form):
    users = forms.ModelMultipleChoiceField(
        label=_("People"), queryset=User.objects.filter(is_active=True), required=False
    )
    teams = forms.ModelMultipleChoiceField(
        label=_("Teams"), queryset=Team.objects.all(), required=False
    )
    organizations = forms.ModelMultipleChoiceField(
        label=_("Organizations"), queryset=Organization.objects.all(), required=False
    )


class AnswerForm(forms.Form):
    answer = forms.ChoiceField(choices=[("accept", _("Accept")), ("decline", _("Decline"))])


class FeedbackForm(forms.Form):
    rating = forms.TypedChoiceField(
        label=_("Rating"), coerce=int, choices=[(i, str(i)) for i in range(1, 6)]
    )
    comment = forms.CharField(
        label=_("Comment"), max_length=5000, required=False, widget=forms.Textarea
    )


class AttendanceForm(forms.Form):
    """One checkbox per attendee with a place: `present_<user id>`."""

    def __init__(self, *args, session: Session, **kwargs):
        super().__init__(*args, **kwargs)
        self.people = list(session.attendees.filter(status="accepted").select_related("user"))
        for attendee in self.people:
            self.fields[f"present_{attendee.user_id}"] = forms.BooleanField(
                label=str(attendee.user), required=False, initial=bool(attendee.attended)
            )

    def present(self) -> dict[int, bool]:
        return {a.user_id: self.cleaned_data[f"present_{a.user_id}"] for a in self.people}


class RecommendForm(forms.Form):
    course = forms.ModelChoiceField(label=_("Course"), queryset=Course.objects.all())
    session = forms.ModelChoiceField(
        label=_("Invite to the session"),
        queryset=Session.objects.filter(status="scheduled"),
        required=False,
    )
    note = forms.CharField(label=_("Note"), max_length=2000, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Only sessions still ahead can take an invitation.
        self.fields["session"].queryset = Session.objects.filter(
            status="scheduled", starts_at__gt=timezone.now()
        ).select_related("course")
        self.fields["session"].label_from_instance = _session_label


def _session_label(session: Session) -> str:
    """The course and its start in the viewer's zone (activated by the middleware)."""
    start = timezone.localtime(session.starts_at)
    return f"{session.course} ({start:%Y-%m-%d %H:%M} {timezone.get_current_timezone_name()})"


class ReportForm(forms.Form):
    days = forms.IntegerField(
        label=_("Days"), min_value=1, max_value=3660, initial=90, required=False
    )
    course = forms.ModelChoiceField(
        label=_("Course"), queryset=Course.objects.all(), required=False
    )
