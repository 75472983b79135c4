"""Forms for the playbooks pages. They parse and validate; the services decide."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from soporte.accounts.models import User
from soporte.tickets.models import Category

from .models import NOTE_MAX, ChecklistTemplate, ConsentMethod, RemoteTool

LOCAL_DATETIME = {"type": "datetime-local"}


def _agents():
    return User.objects.filter(role__in=("agent", "supervisor", "admin"), is_active=True)


class CategoryChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Category) -> str:
        return f"{obj.parent.name} › {obj.name}" if obj.parent_id else obj.name


class TemplateForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    description = forms.CharField(
        label=_("Description"),
        required=False,
        max_length=NOTE_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    categories = CategoryChoiceField(
        label=_("Attach to tickets of these categories"),
        queryset=Category.objects.select_related("parent").order_by("parent__name", "name"),
        required=False,
        help_text=_("Their subcategories too."),
    )
    steps = forms.CharField(
        label=_("Steps"),
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 10}),
        help_text=_("One step per line. Start a line with ? for an optional step."),
    )
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    @staticmethod
    def steps_text(template: ChecklistTemplate) -> str:
        return "\n".join(
            ("? " if not step.required else "") + step.title for step in template.steps.all()
        )

    def clean_steps(self) -> list[tuple[str, bool]]:
        steps = []
        for line in self.cleaned_data["steps"].splitlines():
            line = line.strip()
            optional = line.startswith("?")
            title = line.lstrip("?").strip()
            if title:
                steps.append((title, not optional))
        if not steps:
            raise forms.ValidationError(_("Write at least one step."))
        return steps


class AttachForm(forms.Form):
    template = forms.ModelChoiceField(
        label=_("Add a checklist"), queryset=ChecklistTemplate.objects.filter(active=True)
    )


class StepForm(forms.Form):
    done = forms.BooleanField(required=False)
    note = forms.CharField(required=False, max_length=NOTE_MAX)


class SubTaskForm(forms.Form):
    title = forms.CharField(label=_("Sub-task"), max_length=200)
    assignee = forms.ModelChoiceField(label=_("For"), queryset=User.objects.none(), required=False)
    due_at = forms.DateTimeField(
        label=_("Due"), required=False, widget=forms.DateTimeInput(attrs=LOCAL_DATETIME)
    )
    required = forms.BooleanField(label=_("Required to resolve"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = _agents()


class DoneForm(forms.Form):
    done = forms.BooleanField(required=False)


class SessionForm(forms.Form):
    tool = forms.ChoiceField(label=_("Tool"), choices=RemoteTool.choices)
    session_id = forms.CharField(label=_("Session ID"), max_length=100, required=False)
    consent_by = forms.CharField(label=_("Consent given by"), max_length=200)
    consent_method = forms.ChoiceField(label=_("How"), choices=ConsentMethod.choices)
    consent_at = forms.DateTimeField(
        label=_("When (empty: now)"),
        required=False,
        widget=forms.DateTimeInput(attrs=LOCAL_DATETIME),
    )


class SessionEndForm(forms.Form):
    summary = forms.CharField(
        label=_("What was done"),
        required=False,
        max_length=NOTE_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
