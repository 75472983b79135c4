"""Page forms: they parse input; the services decide."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import ProblemStatus, Tracker


class ProblemForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    description = forms.CharField(
        label=_("Description"), required=False, max_length=50_000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )  # fmt: skip
    root_cause = forms.CharField(
        label=_("Root cause"), required=False, max_length=50_000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )  # fmt: skip
    workaround = forms.CharField(
        label=_("Workaround"), required=False, max_length=50_000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )  # fmt: skip
    workaround_public = forms.BooleanField(
        label=_("Requesters may read the workaround"), required=False, initial=True
    )
    status = forms.ChoiceField(
        label=_("Status"), choices=ProblemStatus.choices, initial=ProblemStatus.INVESTIGATING
    )
    notify_when_fixed = forms.BooleanField(
        label=_("Tell the requesters when fixed"), required=False
    )
    version = forms.IntegerField(label="", widget=forms.HiddenInput, required=False, min_value=1)
    ticket = forms.IntegerField(
        label="", widget=forms.HiddenInput, required=False, min_value=1, max_value=2_147_483_647
    )


class FilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("Any")), *ProblemStatus.choices]
    )


class LinkTicketForm(forms.Form):
    number = forms.IntegerField(label=_("Ticket number"), min_value=1, max_value=2_147_483_647)


class LinkAssetForm(forms.Form):
    tag = forms.CharField(label=_("Asset tag"), max_length=64)


class ReportForm(forms.Form):
    tracker = forms.ModelChoiceField(
        label=_("Tracker"), queryset=Tracker.objects.filter(active=True), required=False
    )


class TicketReportForm(ReportForm):
    problem = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
