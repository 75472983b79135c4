"""Page forms: they parse input; the services decide."""

from __future__ import annotations

import json

from django import forms
from django.utils.translation import gettext_lazy as _

from soporte.accounts.models import Organization, Team

from .models import AssetStatus, AssetType, ImportKind, Kind, Location


class JSONField(forms.CharField):
    """A JSON value typed into a textarea (custom fields, disks, interfaces)."""

    def __init__(self, *, kind: type, **kwargs):
        self.kind = kind
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 3}))
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def prepare_value(self, value):
        if isinstance(value, dict | list):
            return json.dumps(value, ensure_ascii=False, sort_keys=True) if value else ""
        return value

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return self.kind()
        try:
            parsed = json.loads(value)
        except ValueError:
            raise forms.ValidationError(_("Not valid JSON.")) from None
        if not isinstance(parsed, self.kind):
            raise forms.ValidationError(
                _("Must be a JSON object.") if self.kind is dict else _("Must be a JSON list.")
            )
        return parsed


class AssetForm(forms.Form):
    tag = forms.CharField(label=_("Asset tag"), max_length=64)
    name = forms.CharField(label=_("Name"), max_length=200, required=False)
    type = forms.ModelChoiceField(label=_("Type"), queryset=AssetType.objects.all())
    status = forms.ChoiceField(
        label=_("Status"), choices=AssetStatus.choices, initial=AssetStatus.IN_STOCK
    )
    serial = forms.CharField(label=_("Serial number"), max_length=100, required=False)
    manufacturer = forms.CharField(label=_("Manufacturer"), max_length=100, required=False)
    model = forms.CharField(label=_("Model"), max_length=100, required=False)
    location = forms.CharField(
        label=_("Location"), max_length=200, required=False,
        help_text=_("A new name creates the location."),
    )  # fmt: skip
    owner = forms.CharField(label=_("Owner (username or email)"), max_length=254, required=False)
    organization = forms.ModelChoiceField(
        label=_("Organization"), queryset=Organization.objects.all(), required=False
    )
    purchase_date = forms.DateField(
        label=_("Purchase date"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    warranty_end = forms.DateField(
        label=_("Warranty end"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    hostname = forms.CharField(label=_("Hostname"), max_length=253, required=False)
    os_name = forms.CharField(label=_("Operating system"), max_length=100, required=False)
    os_version = forms.CharField(label=_("OS version"), max_length=100, required=False)
    cpu = forms.CharField(label=_("CPU"), max_length=200, required=False)
    ram_mb = forms.IntegerField(
        label=_("RAM (MB)"), required=False, min_value=0, max_value=2_147_483_647
    )
    disks = JSONField(label=_("Disks (JSON list)"), kind=list)
    interfaces = JSONField(label=_("Network interfaces (JSON list)"), kind=list)
    attached_to = forms.CharField(label=_("Attached to (asset tag)"), max_length=64, required=False)
    custom = JSONField(label=_("Custom fields (JSON object)"), kind=dict)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class AssetFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), max_length=100, required=False)
    kind = forms.ChoiceField(
        label=_("Kind"), choices=[("", _("Any"))] + Kind.choices, required=False
    )
    status = forms.ChoiceField(
        label=_("Status"), choices=[("", _("Any"))] + AssetStatus.choices, required=False
    )
    location = forms.ModelChoiceField(
        label=_("Location"), queryset=Location.objects.all(), required=False
    )
    stale = forms.ChoiceField(
        label=_("Agent"),
        choices=[("", _("Any")), ("1", _("Not reported lately")), ("0", _("Reporting"))],
        required=False,
    )


class InstallForm(forms.Form):
    name = forms.CharField(label=_("Software"), max_length=200)
    vendor = forms.CharField(label=_("Vendor"), max_length=200, required=False)
    version = forms.CharField(label=_("Version"), max_length=100, required=False)


class PatchForm(forms.Form):
    port = forms.CharField(label=_("Port"), max_length=50)
    other_tag = forms.CharField(label=_("To asset (tag)"), max_length=64)
    other_port = forms.CharField(label=_("Its port"), max_length=50)


class LinkTicketForm(forms.Form):
    number = forms.IntegerField(label=_("Ticket #"), min_value=1, max_value=2_147_483_647)


class LinkAssetForm(forms.Form):
    tag = forms.CharField(label=_("Asset tag"), max_length=64)


class ImportForm(forms.Form):
    kind = forms.ChoiceField(label=_("What the file holds"), choices=ImportKind.choices)
    file = forms.FileField(label=_("CSV file"))


class TokenForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    organization = forms.ModelChoiceField(
        label=_("Machines belong to"), queryset=Organization.objects.all(), required=False
    )


class PlanForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    rrule = forms.CharField(
        label=_("Recurrence (RRULE)"), max_length=500, initial="FREQ=MONTHLY;BYDAY=1MO",
        help_text=_("RFC 5545, e.g. FREQ=MONTHLY;BYDAY=1MO or FREQ=WEEKLY;INTERVAL=2"),
    )  # fmt: skip
    starts_at = forms.DateTimeField(
        label=_("First occurrence"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    lead_days = forms.IntegerField(label=_("Open the ticket days ahead"), min_value=0,
                                   max_value=365, initial=7)  # fmt: skip
    checklist = forms.CharField(
        label=_("Checklist (one item a line)"), widget=forms.Textarea(attrs={"rows": 5}),
        max_length=10_000,
    )  # fmt: skip
    asset_tags = forms.CharField(
        label=_("Assets (tags, comma separated)"), max_length=10_000, required=False
    )
    asset_type = forms.ModelChoiceField(
        label=_("Or every asset of type"), queryset=AssetType.objects.all(), required=False
    )
    location = forms.ModelChoiceField(
        label=_("At location"), queryset=Location.objects.all(), required=False
    )
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.all(), required=False)


class CompleteForm(forms.Form):
    done = forms.MultipleChoiceField(label=_("Done"), required=False, choices=())
    notes = forms.CharField(
        label=_("Notes"), widget=forms.Textarea(attrs={"rows": 3}), required=False,
        max_length=10_000,
    )  # fmt: skip

    def __init__(self, *args, checklist: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["done"].choices = [(item, item) for item in checklist]
