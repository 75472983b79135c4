"""The forms of the flow pages: the editor (the flow's fields, then one form per node),
the YAML import, and the steps of a run."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from soporte.accounts.models import Tier

from . import graph
from .models import Language, Outcome

ARROW = "->"


class FlowForm(forms.Form):
    slug = forms.SlugField(
        label=_("Slug (in URLs and YAML files)"), max_length=80,
        help_text=_("Lowercase letters, digits and dashes; it cannot change later."),
    )  # fmt: skip
    title = forms.CharField(label=_("Title"), max_length=graph.MAX_TITLE)
    description = forms.CharField(
        label=_("Description"), max_length=graph.MAX_DESCRIPTION, required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )  # fmt: skip
    language = forms.ChoiceField(label=_("Language"), choices=Language.choices)
    public = forms.BooleanField(label=_("Offer it to requesters on the portal"), required=False)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)

    def __init__(self, *args, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if editing:
            self.fields["slug"].disabled = True


KINDS = [
    ("question", _("Question")),
    ("solution", _("Solution")),
    ("escalate", _("Escalation")),
]


class NodeForm(forms.Form):
    """One node. Answers are lines of `answer -> id of the next node`."""

    id = forms.CharField(label=_("Node id"), max_length=80, required=False)
    kind = forms.ChoiceField(label=_("Kind"), choices=KINDS, initial="question")
    start = forms.BooleanField(label=_("Start here"), required=False)
    text = forms.CharField(
        label=_("Question, solution or escalation note"), max_length=graph.MAX_TEXT,
        required=False, widget=forms.Textarea(attrs={"rows": 2}),
    )  # fmt: skip
    answers = forms.CharField(
        label=_("Answers, one a line: answer -> next node id"), required=False,
        max_length=20_000, widget=forms.Textarea(attrs={"rows": 3}),
    )  # fmt: skip
    article = forms.IntegerField(
        label=_("Knowledge-base article id (solutions)"), required=False, min_value=1,
        max_value=2**31 - 1,
    )  # fmt: skip
    tier = forms.ChoiceField(
        label=_("Escalate to (escalations)"), required=False,
        choices=[("", "—"), *Tier.choices],
    )  # fmt: skip

    @staticmethod
    def initial_for(node: dict[str, Any]) -> dict[str, Any]:
        """The form's values for one node of a stored definition."""
        if "question" in node:
            kind, text = "question", node["question"]
        elif "escalate" in node:
            kind, text = "escalate", node.get("text", "")
        else:
            kind, text = "solution", node.get("solution", "")
        answers = "\n".join(f"{a['answer']} {ARROW} {a['next']}" for a in node.get("answers", []))
        return {
            "id": node["id"], "kind": kind, "start": node.get("start", False), "text": text,
            "answers": answers, "article": node.get("article"), "tier": node.get("escalate", ""),
        }  # fmt: skip

    def node(self) -> dict[str, Any] | None:
        """The node as the definition stores it (graph.parse judges it); None when the
        form was left blank."""
        data = self.cleaned_data
        if not data.get("id") and not data.get("text") and not data.get("answers"):
            return None
        node: dict[str, Any] = {"id": data["id"].strip()}
        if data.get("start"):
            node["start"] = True
        kind = data["kind"]
        if kind == "question":
            node["question"] = data["text"]
            node["answers"] = [
                _answer(line) for line in data["answers"].splitlines() if line.strip()
            ]
        elif kind == "solution":
            node["solution"] = data["text"]
            if data.get("article"):
                node["article"] = data["article"]
        else:
            node["escalate"] = data.get("tier") or ""
            if data["text"]:
                node["text"] = data["text"]
        return node


def _answer(line: str) -> dict[str, str]:
    label, arrow, target = line.rpartition(ARROW)
    if not arrow:
        return {"answer": line.strip(), "next": ""}
    return {"answer": label.strip(), "next": target.strip()}


NodeFormSet = forms.formset_factory(
    NodeForm, extra=2, can_delete=True, max_num=graph.MAX_NODES, validate_max=True,
    absolute_max=graph.MAX_NODES + 10,
)  # fmt: skip


class ImportForm(forms.Form):
    yaml = forms.CharField(
        label=_("The flow as YAML"), required=False, max_length=256 * 1024,
        widget=forms.Textarea(attrs={"rows": 16, "spellcheck": "false"}),
    )  # fmt: skip
    file = forms.FileField(label=_("…or a YAML file"), required=False)

    def clean(self):
        data = super().clean()
        upload = data.get("file")
        if upload is not None:
            if upload.size > 256 * 1024:
                raise forms.ValidationError(_("The file is larger than 256 KB."))
            data["yaml"] = upload.read()
        if not data.get("yaml"):
            raise forms.ValidationError(_("Paste the YAML or choose a file."))
        return data


class AnswerForm(forms.Form):
    choice = forms.IntegerField(min_value=0, max_value=graph.MAX_ANSWERS)


class FinishForm(forms.Form):
    outcome = forms.ChoiceField(choices=Outcome.choices)


class StartForm(forms.Form):
    flow = forms.SlugField(max_length=80)
