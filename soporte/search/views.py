"""The agents' search page, /desk/search/?q=...: tickets, knowledge-base articles and
assets that hold every word, grouped by kind, each with a highlighted snippet.

Each group comes from its area's own search, scoped by that area's policy (tickets by
policy.visible_tickets, articles by kb policy, assets by assets policy), so the page
shows an agent only what they may see. Without a `kind`, the first few of each group;
with one, that group alone, paged by offset. Requesters keep the help center's search.
"""

from __future__ import annotations

from dataclasses import dataclass

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from soporte.assets.indexing import search_assets
from soporte.assets.models import AssetStatus
from soporte.kb.models import ArticleStatus
from soporte.kb.queries import search_articles
from soporte.lib.errors import InvalidInput
from soporte.tickets.models import Status
from soporte.tickets.views.common import agent_required

from . import queries

GROUP_SIZE = 5  # each group's hits on the grouped page
PAGE_SIZE = 20  # hits on one kind's page


class DeskSearchForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=queries.MAX_QUERY_LENGTH)
    kind = forms.ChoiceField(
        label=_("Kind"),
        required=False,
        choices=[
            ("", _("Everything")),
            ("tickets", _("Tickets")),
            ("articles", _("Articles")),
            ("assets", _("Assets")),
        ],
    )
    offset = forms.IntegerField(required=False, min_value=0, max_value=queries.MAX_OFFSET)


TITLES = {"tickets": _("Tickets"), "articles": _("Articles"), "assets": _("Assets")}


@dataclass(frozen=True)
class Row:
    url: str
    label: str
    meta: str
    snippet: SafeString  # escaped text, matching words in <mark> (search.text.snippet)


@dataclass(frozen=True)
class Group:
    kind: str
    title: str
    rows: list[Row]
    next_offset: int | None


def _label(choices, value: str) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value


def _group(user, kind: str, q: str, *, limit: int, offset: int) -> Group:
    """One kind's hits as rows to show, from that area's own (policy-scoped) search."""
    if kind == "tickets":
        tickets = queries.search_tickets(user, q, limit=limit, offset=offset)
        rows = [
            Row(reverse("desk:ticket", args=[hit.number]), f"#{hit.number} {hit.subject}",
                _label(Status, hit.status), SafeString(hit.snippet))
            for hit in tickets.items
        ]  # fmt: skip
        return Group(kind, str(TITLES[kind]), rows, tickets.next_offset)
    if kind == "articles":
        articles = search_articles(user, q, limit=limit, offset=offset, published_only=False)
        rows = [
            Row(reverse("kbdesk:article", args=[hit.id]), hit.title,
                _label(ArticleStatus, hit.status), SafeString(hit.snippet))
            for hit in articles.items
        ]  # fmt: skip
        return Group(kind, str(TITLES[kind]), rows, articles.next_offset)
    assets = search_assets(user, q, limit=limit, offset=offset)
    rows = [
        Row(reverse("assets:asset", args=[hit.id]), f"{hit.tag} {hit.name}".strip(),
            _label(AssetStatus, hit.status), SafeString(hit.snippet))
        for hit in assets.items
    ]  # fmt: skip
    return Group(kind, str(TITLES[kind]), rows, assets.next_offset)


@require_GET
@agent_required
def desk_search(request: HttpRequest) -> HttpResponse:
    form = DeskSearchForm(request.GET)
    context: dict = {"form": form, "q": "", "groups": [], "kind": "", "error": "", "offset": 0}
    if not form.is_valid():
        context["error"] = next(iter(form.errors.values()))[0]
        return render(request, "search/desk.html", context, status=422)
    q, kind = form.cleaned_data["q"].strip(), form.cleaned_data["kind"]
    offset = form.cleaned_data["offset"] or 0
    context.update(q=q, kind=kind, offset=offset, previous=max(0, offset - PAGE_SIZE))
    if not q:
        return render(request, "search/desk.html", context)
    kinds = [kind] if kind else ["tickets", "articles", "assets"]
    try:
        context["groups"] = [
            _group(
                request.user, name, q,
                limit=PAGE_SIZE if kind else GROUP_SIZE, offset=offset if kind else 0,
            )
            for name in kinds
        ]  # fmt: skip
    except InvalidInput as error:
        context["error"] = error.message
        return render(request, "search/desk.html", context, status=error.status)
    return render(request, "search/desk.html", context)
