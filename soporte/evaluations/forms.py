"""Page forms: they parse input; the services decide."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from soporte.assets.models import AssetType, SoftwareProduct

from .models import (
    Compatibility,
    EvaluationStatus,
    FeedbackMethod,
    ProductKind,
    Recommendation,
    StepResult,
    SystemKind,
)


def _area(label, rows: int = 3, required: bool = False, max_length: int = 50_000):
    return forms.CharField(
        label=label, required=required, max_length=max_length,
        widget=forms.Textarea(attrs={"rows": rows}),
    )  # fmt: skip


class EvaluationForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    description = _area(_("Description"))
    kind = forms.ChoiceField(label=_("Kind"), choices=ProductKind.choices)
    asset_type = forms.ModelChoiceField(
        label=_("Asset type"), queryset=AssetType.objects.all(), required=False
    )
    manufacturer = forms.CharField(label=_("Manufacturer"), max_length=100, required=False)
    model = forms.CharField(label=_("Model"), max_length=100, required=False)
    software_product = forms.ModelChoiceField(
        label=_("Software product"), queryset=SoftwareProduct.objects.all(), required=False
    )
    product_version = forms.CharField(label=_("Version"), max_length=100, required=False)
    vendor = forms.CharField(label=_("Vendor"), max_length=200, required=False)
    vendor_contact = forms.CharField(label=_("Vendor contact"), max_length=200, required=False)
    vendor_email = forms.EmailField(label=_("Vendor e-mail"), required=False)
    steps = _area(_("Test plan (one step a line)"), rows=6)

    def clean_steps(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["steps"].splitlines() if line.strip()]


class FilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("Any")), *EvaluationStatus.choices]
    )
    recommendation = forms.ChoiceField(
        label=_("Recommendation"),
        required=False,
        choices=[("", _("Any")), *Recommendation.choices],
    )


class StepForm(forms.Form):
    text = forms.CharField(label=_("New step"), max_length=500)


class StepResultForm(forms.Form):
    result = forms.ChoiceField(label=_("Result"), choices=StepResult.choices)
    note = forms.CharField(label=_("Note"), required=False, max_length=50_000)


class CompatibilityForm(forms.Form):
    # "asset_type:3", "software:7" or "os:Windows 11": one select for the whole inventory.
    system = forms.CharField(label=_("System"), max_length=120)
    result = forms.ChoiceField(label=_("Result"), choices=Compatibility.choices)
    note = forms.CharField(label=_("Note"), required=False, max_length=50_000)

    def clean_system(self) -> dict:
        kind, _sep, ref = self.cleaned_data["system"].partition(":")
        if kind not in SystemKind.values or not ref:
            raise forms.ValidationError(_("Choose a system of the inventory."))
        if kind == SystemKind.OS:
            return {"system_kind": kind, "os_name": ref}
        if not ref.isdigit() or len(ref) > 12:
            raise forms.ValidationError(_("Choose a system of the inventory."))
        return {"system_kind": kind, "system_id": int(ref)}


class ScoreForm(forms.Form):
    score = forms.TypedChoiceField(
        label=_("Ease of use (1 hard - 5 easy)"),
        choices=[(n, str(n)) for n in range(1, 6)],
        coerce=int,
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=50_000)


class FindingForm(forms.Form):
    title = forms.CharField(label=_("Issue"), max_length=200)
    description = _area(_("Description"), rows=2)


class ProblemForm(forms.Form):
    report = forms.BooleanField(label=_("Also report to development"), required=False)


class DecideForm(forms.Form):
    recommendation = forms.ChoiceField(label=_("Recommendation"), choices=Recommendation.choices)
    conditions = _area(_("Conditions"), rows=2)


class FeedbackForm(forms.Form):
    method = forms.ChoiceField(label=_("How"), choices=FeedbackMethod.choices)
    contact = forms.CharField(label=_("Vendor contact"), max_length=200, required=False)
    to = forms.EmailField(label=_("To"), required=False)
    subject = forms.CharField(label=_("Subject"), max_length=250, required=False)
    body = _area(_("Text sent"), rows=6, required=True)
    sent_on = forms.DateTimeField(
        label=_("Sent on (by hand)"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    findings = forms.TypedMultipleChoiceField(
        label=_("Issues told"), required=False, coerce=int, choices=[]
    )

    def __init__(self, *args, findings=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["findings"].choices = [(f.pk, f.title) for f in findings]


class ConfirmForm(forms.Form):
    """A button with nothing to fill in (CSRF is checked by the middleware)."""
