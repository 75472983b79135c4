"""The dashboard's filters and the export's choices, as page forms."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from soporte.accounts.models import Organization, Team, Tier
from soporte.tickets.models import Category

from .services import DEFAULT_EXPORT, EXPORT_COLUMNS, Filters


class FilterForm(forms.Form):
    start = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput({"type": "date"})
    )
    end = forms.DateField(label=_("To"), required=False, widget=forms.DateInput({"type": "date"}))
    team = forms.ModelChoiceField(
        Team.objects.all(), label=_("Team"), required=False, empty_label=_("All")
    )
    organization = forms.ModelChoiceField(
        Organization.objects.all(), label=_("Organization"), required=False, empty_label=_("All")
    )
    category = forms.ModelChoiceField(
        Category.objects.all(), label=_("Category"), required=False, empty_label=_("All")
    )
    tier = forms.ChoiceField(
        label=_("Tier"), required=False, choices=[("", _("All")), *Tier.choices]
    )

    def filters(self) -> Filters:
        """The checked filters (call after is_valid); InvalidInput for a bad range."""
        data = self.cleaned_data
        return Filters.parse(
            start=data.get("start"),
            end=data.get("end"),
            team=data["team"].pk if data.get("team") else None,
            organization=data["organization"].pk if data.get("organization") else None,
            category=data["category"].pk if data.get("category") else None,
            tier=data.get("tier") or None,
        )


class ExportForm(FilterForm):
    format = forms.ChoiceField(
        label=_("Format"), choices=[("csv", "CSV"), ("xlsx", "XLSX")], initial="csv"
    )
    columns = forms.MultipleChoiceField(
        label=_("Columns"),
        required=False,
        choices=[(key, label) for key, (label, _path) in EXPORT_COLUMNS.items()],
        initial=list(DEFAULT_EXPORT),
        widget=forms.CheckboxSelectMultiple,
    )
