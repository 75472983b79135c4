from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import IncidentStatus, TriageSettings


class SettingsForm(forms.ModelForm):
    class Meta:
        model = TriageSettings
        fields = [
            "enabled",
            "auto_apply_threshold",
            "duplicate_hours",
            "duplicate_similarity",
            "storm_size",
            "storm_minutes",
            "storm_similarity",
            "storm_by_category",
            "storm_auto_reply",
        ]


class IncidentForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=IncidentStatus.choices)
    status_message = forms.CharField(
        label=_("Status message for requesters"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
