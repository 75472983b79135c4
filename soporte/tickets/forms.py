"""Forms for the agent workspace and the requester portal. They parse and validate;
the services decide."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from soporte.accounts.models import Organization, Team, Tier, User

from . import macros
from .models import (
    MACRO_STATUSES,
    CallDirection,
    CannedResponse,
    Category,
    Level,
    MacroAssign,
    MacroKind,
    MessageKind,
    Priority,
    Status,
)
from .queries import SORTS, TicketFilter

SORT_CHOICES = [
    ("-updated_at", _("Recently updated")),
    ("updated_at", _("Least recently updated")),
    ("-created_at", _("Newest")),
    ("created_at", _("Oldest")),
    ("priority", _("Priority")),
    ("due_at", _("Due soonest")),
    ("-number", _("Number")),
]
assert {s.lstrip("-") for s, _label in SORT_CHOICES} <= set(SORTS)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    widget = MultipleFileInput

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else [data] if data else []
        cleaned = [super(MultipleFileField, self).clean(f, initial) for f in files]
        if len(cleaned) > 10:
            raise forms.ValidationError(_("Attach at most 10 files at once."))
        limit = settings.MAX_ATTACHMENT_BYTES
        for f in cleaned:
            if f.size > limit:
                raise forms.ValidationError(
                    _("%(name)s is larger than the %(mb)s MB limit.")
                    % {"name": f.name, "mb": limit // 1_048_576}
                )
        return cleaned


ANY = _("Any")


def _choices(enum):
    return [("", ANY), *enum.choices]


class TicketFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    status = forms.MultipleChoiceField(label=_("Status"), choices=Status.choices, required=False)
    priority = forms.ChoiceField(label=_("Priority"), choices=_choices(Priority), required=False)
    team = forms.ModelChoiceField(
        label=_("Team"), queryset=Team.objects.all(), required=False, empty_label=_("Any")
    )
    tier = forms.ChoiceField(label=_("Tier"), choices=_choices(Tier), required=False)
    assignee = forms.CharField(label=_("Assignee"), required=False, max_length=16)
    organization = forms.ModelChoiceField(
        label=_("Organization"),
        queryset=Organization.objects.all(),
        required=False,
        empty_label=_("Any"),
    )
    category = forms.ModelChoiceField(
        label=_("Category"), queryset=Category.objects.all(), required=False, empty_label=_("Any")
    )
    tag = forms.CharField(label=_("Tag"), required=False, max_length=50)
    sort = forms.ChoiceField(label=_("Sort"), choices=SORT_CHOICES, required=False)

    def __init__(self, *args, agents=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].widget = forms.Select(
            choices=[("", _("Anyone")), ("me", _("Me")), ("none", _("Unassigned"))]
            + [(str(a.pk), str(a)) for a in agents]
        )

    def clean_assignee(self) -> str:
        value = self.cleaned_data.get("assignee") or ""
        if value and value not in ("me", "none") and not (value.isdigit() and len(value) < 16):
            raise forms.ValidationError(_("Choose an agent, me, or unassigned."))
        return value

    def to_filter(self, user: User) -> TicketFilter:
        data = self.cleaned_data
        assignee = data.get("assignee") or ""
        return TicketFilter(
            status=data.get("status") or None,
            priority=[data["priority"]] if data.get("priority") else None,
            assignee=user.pk if assignee == "me" else int(assignee) if assignee.isdigit() else None,
            unassigned=assignee == "none",
            team=data["team"].pk if data.get("team") else None,
            tier=data.get("tier") or None,
            organization=data["organization"].pk if data.get("organization") else None,
            category=data["category"].pk if data.get("category") else None,
            tag=data.get("tag") or None,
            q=data.get("q") or None,
        )


class ComposerForm(forms.Form):
    kind = forms.ChoiceField(choices=MessageKind.choices, initial=MessageKind.REPLY)
    body = forms.CharField(label=_("Message"), widget=forms.Textarea, max_length=200_000)
    status = forms.ChoiceField(
        label=_("Then set status"),
        required=False,
        choices=[
            ("", _("Keep")),
            *[(v, label) for v, label in Status.choices if v not in ("new", "resolved", "closed")],
        ],
    )
    direction = forms.ChoiceField(
        choices=CallDirection.choices, initial=CallDirection.INBOUND, required=False
    )
    duration_minutes = forms.IntegerField(
        label=_("Duration (minutes)"), min_value=0, max_value=1440, required=False
    )
    files = MultipleFileField(label=_("Attachments"))
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=2000)
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class ResolveForm(forms.Form):
    resolution = forms.CharField(
        label=_("Resolution summary"), widget=forms.Textarea, max_length=20_000
    )
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class AssignForm(forms.Form):
    assignee = forms.CharField(required=False, max_length=16)
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class MergeForm(forms.Form):
    into = forms.IntegerField(label=_("Merge into ticket #"), min_value=1, max_value=2_147_483_647)
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class BulkForm(forms.Form):
    ACTIONS = [("assign", _("Assign")), ("status", _("Change status")), ("merge", _("Merge"))]
    action = forms.ChoiceField(choices=ACTIONS)
    numbers = forms.TypedMultipleChoiceField(coerce=int, choices=[])
    assignee = forms.CharField(required=False, max_length=16)
    status = forms.ChoiceField(choices=[("", "-"), *Status.choices], required=False)
    into = forms.IntegerField(required=False, min_value=1, max_value=2_147_483_647)

    def __init__(self, *args, numbers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["numbers"].choices = [(n, n) for n in numbers]


class NewTicketForm(forms.Form):
    """The portal's form; agents get requester, channel, impact and urgency too."""

    category = forms.ModelChoiceField(
        label=_("What is it about?"), queryset=Category.objects.all(), required=False,
        empty_label=_("Choose a category"),
    )  # fmt: skip
    subject = forms.CharField(label=_("Subject"), max_length=250)
    body = forms.CharField(
        label=_("Describe the problem"), widget=forms.Textarea, max_length=200_000
    )
    impact = forms.ChoiceField(
        label=_("How many people are affected?"), choices=Level.choices, initial=Level.MEDIUM
    )
    urgency = forms.ChoiceField(
        label=_("How urgent is it?"), choices=Level.choices, initial=Level.MEDIUM
    )
    files = MultipleFileField(label=_("Attachments"))


class AgentNewTicketForm(NewTicketForm):
    requester = forms.ModelChoiceField(
        label=_("Requester"), queryset=User.objects.filter(is_active=True)
    )
    channel = forms.ChoiceField(
        label=_("Channel"),
        choices=[
            ("phone", _("Phone")),
            ("email", _("Email")),
            ("web", _("Web portal")),
            ("chat", _("Chat")),
        ],
        initial="phone",
    )
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.all(), required=False)


# -- macros -------------------------------------------------------------------------

KEEP = _("Keep")


class MacroForm(forms.Form):
    """A macro's text and changes; who may share it is the service's decision, the
    "shared" box is only offered to those who may."""

    title = forms.CharField(label=_("Title"), max_length=120)
    body = forms.CharField(
        label=_("Text"),
        widget=forms.Textarea(attrs={"rows": 6}),
        required=False,
        max_length=20_000,
        help_text=_("Leave empty for a macro that only changes fields."),
    )
    kind = forms.ChoiceField(
        label=_("Post the text as"), choices=MacroKind.choices, initial=MacroKind.REPLY
    )
    shared = forms.BooleanField(label=_("Shared with every agent"), required=False)
    status = forms.ChoiceField(
        label=_("Set status"),
        required=False,
        choices=[("", KEEP), *[(s.value, s.label) for s in MACRO_STATUSES]],
    )
    impact = forms.ChoiceField(
        label=_("Set impact"), required=False, choices=[("", KEEP), *Level.choices]
    )
    urgency = forms.ChoiceField(
        label=_("Set urgency"), required=False, choices=[("", KEEP), *Level.choices]
    )
    team = forms.ModelChoiceField(
        label=_("Move to team"), queryset=Team.objects.all(), required=False, empty_label=KEEP
    )
    assign = forms.ChoiceField(label=_("Assign to"), required=False, choices=MacroAssign.choices)
    assignee = forms.ModelChoiceField(
        label=_("Agent"),
        queryset=User.objects.filter(role__in=("agent", "supervisor", "admin"), is_active=True),
        required=False,
        empty_label="—",
    )
    tags = forms.CharField(
        label=_("Add tags"),
        required=False,
        max_length=1000,
        help_text=_("Separated by commas."),
    )

    def __init__(self, *args, can_share: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not can_share:
            del self.fields["shared"]

    @staticmethod
    def initial_for(macro: CannedResponse) -> dict:
        return {
            "title": macro.title,
            "body": macro.body,
            "kind": macro.kind,
            "shared": macro.owner_id is None,
            "status": macro.status,
            "impact": macro.impact,
            "urgency": macro.urgency,
            "team": macro.team_id,
            "assign": macro.assign,
            "assignee": macro.assignee_id,
            "tags": ", ".join(macro.add_tags),
        }

    def clean_body(self) -> str:
        body = self.cleaned_data.get("body") or ""
        unknown = macros.unknown_placeholders(body)
        if unknown:
            raise forms.ValidationError(macros.unknown_error(unknown))
        return body

    def clean_tags(self) -> list[str]:
        value = self.cleaned_data.get("tags") or ""
        names = [name.strip() for name in value.split(",") if name.strip()]
        if any(len(name) > 50 for name in names):
            raise forms.ValidationError(_("A tag is at most 50 characters long."))
        return names

    def clean(self):
        data = super().clean()
        if data.get("assign") == MacroAssign.AGENT and not data.get("assignee"):
            self.add_error("assignee", _("Choose the agent the macro assigns to."))
        if not (data.get("body") or "").strip() and not any(
            data.get(name) for name in ("status", "impact", "urgency", "team", "assign", "tags")
        ):
            self.add_error("body", _("A macro needs a text or at least one change."))
        return data

    def to_service(self) -> dict:
        """The cleaned data as create_macro/update_macro take it."""
        data = dict(self.cleaned_data)
        if "shared" not in self.fields:
            data.pop("shared", None)
        if data.get("assign") != MacroAssign.AGENT:
            data["assignee"] = None
        return data


class MacroApplyForm(forms.Form):
    macro = forms.IntegerField(label=_("Macro"), min_value=1, max_value=2**53)
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
