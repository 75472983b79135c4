"""Forms for the knowledge-base pages. They parse and validate; the services decide."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from soporte.accounts.models import Organization

from .models import ArticleStatus, Category, Language, Section, Visibility


class SectionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Section) -> str:
        return f"{obj.category.name} › {obj.name}"


def _sections():
    return Section.objects.select_related("category").order_by(
        "category__position", "category__name", "position", "name"
    )


class ArticleForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    body = forms.CharField(
        label=_("Text (Markdown)"),
        required=False,
        max_length=200_000,
        widget=forms.Textarea(attrs={"rows": 20, "class": "markdown"}),
    )
    # Only when writing a new article: a translation is another article.
    language = forms.ChoiceField(label=_("Language"), choices=Language.choices, required=False)
    section = SectionChoiceField(
        label=_("Section"), queryset=Section.objects.none(), required=False
    )
    visibility = forms.ChoiceField(label=_("Visible to"), choices=Visibility.choices)
    organizations = forms.ModelMultipleChoiceField(
        label=_("Organizations"), queryset=Organization.objects.all(), required=False
    )
    tags = forms.CharField(
        label=_("Tags"), required=False, max_length=500, help_text=_("Separated by commas.")
    )
    review_by = forms.DateField(
        label=_("Review by"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    note = forms.CharField(label=_("What changed"), required=False, max_length=200)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["section"].queryset = _sections()

    def tag_names(self) -> list[str]:
        return [name for name in self.cleaned_data["tags"].split(",") if name.strip()]


class FeedbackForm(forms.Form):
    helpful = forms.TypedChoiceField(
        choices=[("yes", _("Yes")), ("no", _("No"))], coerce=lambda value: value == "yes"
    )
    comment = forms.CharField(
        label=_("Anything we should add or fix? (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class ArticleFilterForm(forms.Form):
    q = forms.CharField(label=_("Words"), required=False, max_length=256)
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("Any"))] + ArticleStatus.choices
    )
    language = forms.ChoiceField(
        label=_("Language"), required=False, choices=[("", _("Any"))] + Language.choices
    )
    review = forms.ChoiceField(
        label=_("Review"),
        required=False,
        choices=[
            ("", _("Any")),
            ("due", _("Needs review")),
            ("poor", _("Poor feedback")),
        ],
    )
    mine = forms.BooleanField(label=_("Mine only"), required=False)


class TransitionForm(forms.Form):
    status = forms.ChoiceField(choices=ArticleStatus.choices)
    version = forms.IntegerField(min_value=1, required=False)


class ReviewedForm(forms.Form):
    review_by = forms.DateField(label=_("Next review"), required=False)


class TranslateForm(forms.Form):
    language = forms.ChoiceField(label=_("Language"), choices=Language.choices)


class FromTicketForm(forms.Form):
    section = SectionChoiceField(
        label=_("Section"), queryset=Section.objects.none(), required=False
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["section"].queryset = _sections()


class SolvedWithForm(forms.Form):
    article = forms.IntegerField(label=_("Article number"), min_value=1, max_value=2**53)


class FaqForm(forms.Form):
    category = forms.ModelChoiceField(label=_("Category"), queryset=Category.objects.all())
    language = forms.ChoiceField(label=_("Language"), choices=Language.choices)
    question = forms.CharField(label=_("Question"), max_length=300)
    answer = forms.CharField(
        label=_("Answer (Markdown)"), max_length=200_000, widget=forms.Textarea(attrs={"rows": 6})
    )
    visibility = forms.ChoiceField(label=_("Visible to"), choices=Visibility.choices)
    organizations = forms.ModelMultipleChoiceField(
        label=_("Organizations"), queryset=Organization.objects.all(), required=False
    )
    position = forms.IntegerField(label=_("Position"), min_value=0, max_value=1_000_000, initial=0)
    published = forms.BooleanField(label=_("Published"), required=False)


class CategoryForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    description = forms.CharField(
        label=_("Description"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class SectionForm(forms.Form):
    category = forms.ModelChoiceField(label=_("Category"), queryset=Category.objects.all())
    name = forms.CharField(label=_("Name"), max_length=120)
