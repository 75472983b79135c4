"""The knowledge base in the agent workspace: the article list with its filters, the
editor with a live preview, versions (diff, restore), the workflow, the FAQ and the
categories, and the box on the ticket page.

Every view: an agent signed in, input parsed by a form, one service called, a page
rendered; service errors come back as a message on the page (4xx), never a 500.
"""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from soporte.accounts import policy as accounts_policy
from soporte.lib.errors import Conflict, InvalidInput, NotFound, ServiceError
from soporte.tickets.models import Status
from soporte.tickets.views.common import agent_required, first_error, get_ticket, submitted

from .. import markdown, policy, queries, services
from ..forms import (
    ArticleFilterForm,
    ArticleForm,
    CategoryForm,
    FaqForm,
    FromTicketForm,
    ReviewedForm,
    SectionForm,
    SolvedWithForm,
    TransitionForm,
    TranslateForm,
)
from ..models import (
    TRANSITIONS,
    Article,
    ArticleStatus,
    Category,
    FaqEntry,
    Language,
    LinkKind,
    TicketLink,
)
from .common import language_of

LIST_SIZE = 100


def _get_article(request: HttpRequest, article_id: int) -> Article:
    try:
        return policy.get_visible_article(request.user, article_id)
    except NotFound:
        raise Http404 from None


# -- the list --------------------------------------------------------------------------


@agent_required
@require_GET
def article_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    form = ArticleFilterForm(request.GET or None)
    articles = policy.visible_articles(user)
    text = ""
    status = 200
    if form.is_valid():
        data = form.cleaned_data
        text = data["q"].strip()
        if data["status"]:
            articles = articles.filter(status=data["status"])
        if data["language"]:
            articles = articles.filter(language=data["language"])
        if data["review"] == "due":
            today = timezone.localdate()
            articles = articles.filter(Q(review_by__lte=today) | Q(flagged_at__isnull=False))
        elif data["review"] == "poor":
            articles = articles.filter(flagged_at__isnull=False)
        if data["mine"]:
            articles = articles.filter(owner=user)
    elif form.errors:
        messages.error(request, first_error(form))
        status = 422
    rows = queries.with_counts(articles).select_related("section__category", "owner")
    if text:
        try:
            page = queries.search_articles(
                user, text, limit=LIST_SIZE, published_only=False, articles=articles
            )
        except InvalidInput as error:
            messages.error(request, error.message)
            rows, status = rows.none(), 422
        else:
            found = rows.in_bulk([hit.id for hit in page.items])
            rows = [found[hit.id] for hit in page.items if hit.id in found]
    else:
        rows = rows.order_by("-updated_at", "-id")[:LIST_SIZE]
    return render(
        request,
        "kb/desk/list.html",
        {"form": form, "rows": rows, "today": timezone.localdate(), "limit": LIST_SIZE},
        status=status,
    )


# -- writing ---------------------------------------------------------------------------


def _organizations(form: ArticleForm | FaqForm) -> list:
    return list(form.cleaned_data["organizations"])


@agent_required
@require_http_methods(["GET", "POST"])
def article_new(request: HttpRequest) -> HttpResponse:
    form = ArticleForm(
        request.POST or None,
        initial={"language": language_of(request), "visibility": "agents"},
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                article = services.create_article(
                    acting_user=request.user,
                    title=data["title"],
                    body=data["body"],
                    language=data["language"] or language_of(request),
                    section=data["section"],
                    visibility=data["visibility"],
                    organizations=_organizations(form),
                    tags=form.tag_names(),
                    review_by=data["review_by"],
                    note=data["note"],
                )
            except ServiceError as error:
                messages.error(request, error.message)
                status = error.status
            else:
                messages.success(request, _("The draft was saved."))
                return redirect("kbdesk:article", article_id=article.pk)
        else:
            messages.error(request, first_error(form))
            status = 422
    return render(request, "kb/desk/edit.html", {"form": form, "article": None}, status=status)


def _initial(article: Article) -> dict:
    return {
        "title": article.title,
        "body": article.body,
        "language": article.language,
        "section": article.section_id,
        "visibility": article.visibility,
        "organizations": [org.pk for org in article.organizations.all()],
        "tags": ", ".join(tag.name for tag in article.tags.all()),
        "review_by": article.review_by,
        "version": article.version,
    }


def _edit_context(request: HttpRequest, article: Article, form: ArticleForm | None = None) -> dict:
    user = request.user
    visible_tickets = accounts_policy.visible_tickets(user).values("pk")
    links = list(
        TicketLink.objects.filter(article=article, ticket__in=visible_tickets)
        .select_related("ticket")
        .order_by("-created_at")[:50]
    )
    present = {
        article.language,
        *(v.language for v in queries.variants(user, article, published_only=False)),
    }
    return {
        "article": article,
        "form": form or ArticleForm(initial=_initial(article)),
        "may_edit": services.may_edit(user, article),
        "moves": [
            (status, ArticleStatus(status).label)
            for status in ArticleStatus.values
            if status in TRANSITIONS[article.status]
            and services.may_transition(user, article, status)
        ],
        "variants": queries.variants(user, article, published_only=False),
        "missing_languages": [lang for lang in Language if lang not in present],
        "created_from": [link for link in links if link.kind == LinkKind.CREATED_FROM],
        "solved": [link for link in links if link.kind == LinkKind.SOLVED_WITH],
        "solved_count": queries.solved_count(article),
        "deflected_count": queries.deflected_count(article),
        "comments": list(
            article.feedback.exclude(comment="").select_related("user").order_by("-created_at")[:20]
        ),
        "events": list(article.events.select_related("actor").order_by("-created_at", "-id")[:20]),
        "may_review": article.owner_id == user.pk or user.is_supervisor,
        "poor": services.is_poor(article.helpful_yes, article.helpful_no),
        "today": timezone.localdate(),
    }


@agent_required
@require_http_methods(["GET", "POST"])
def article_edit(request: HttpRequest, article_id: int) -> HttpResponse:
    article = _get_article(request, article_id)
    if request.method == "GET":
        return render(request, "kb/desk/edit.html", _edit_context(request, article))
    form = ArticleForm(request.POST)
    if not form.is_valid():
        messages.error(request, first_error(form))
        return render(
            request, "kb/desk/edit.html", _edit_context(request, article, form), status=422
        )
    data = form.cleaned_data
    try:
        services.update_article(
            article,
            acting_user=request.user,
            expected_version=data["version"],
            title=data["title"],
            body=data["body"],
            section=data["section"],
            visibility=data["visibility"],
            organizations=_organizations(form),
            tags=form.tag_names(),
            review_by=data["review_by"],
            note=data["note"],
        )
    except ServiceError as error:
        messages.error(request, error.message)
        # The typed text stays on the page; a conflict shows what changed meanwhile.
        article = _get_article(request, article_id)
        status = 409 if isinstance(error, Conflict) else error.status
        return render(
            request, "kb/desk/edit.html", _edit_context(request, article, form), status=status
        )
    messages.success(request, _("Saved."))
    return redirect("kbdesk:article", article_id=article.pk)


@agent_required
@require_POST
def preview(request: HttpRequest) -> HttpResponse:
    """The Markdown as readers will see it (htmx, as the agent types)."""
    body = request.POST.get("body", "")[:200_000]
    return render(request, "kb/desk/_preview.html", {"html": markdown.render(body)})


@agent_required
@require_POST
def transition(request: HttpRequest, article_id: int) -> HttpResponse:
    article = _get_article(request, article_id)
    form = TransitionForm(request.POST)
    if not form.is_valid():
        messages.error(request, first_error(form))
        return redirect("kbdesk:article", article_id=article.pk)
    try:
        services.transition_article(
            article,
            acting_user=request.user,
            status=form.cleaned_data["status"],
            expected_version=form.cleaned_data["version"],
        )
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request, _("The article is now %(status)s.") % {"status": article.get_status_display()}
        )
    return redirect("kbdesk:article", article_id=article.pk)


@agent_required
@require_POST
def reviewed(request: HttpRequest, article_id: int) -> HttpResponse:
    article = _get_article(request, article_id)
    form = ReviewedForm(request.POST)
    try:
        if not form.is_valid():
            raise InvalidInput(first_error(form))
        services.mark_reviewed(
            article, acting_user=request.user, review_by=form.cleaned_data["review_by"]
        )
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Marked as reviewed."))
    return redirect("kbdesk:article", article_id=article.pk)


@agent_required
@require_POST
def translate(request: HttpRequest, article_id: int) -> HttpResponse:
    article = _get_article(request, article_id)
    form = TranslateForm(request.POST)
    try:
        if not form.is_valid():
            raise InvalidInput(first_error(form))
        variant = services.create_translation(
            article, acting_user=request.user, language=form.cleaned_data["language"]
        )
    except ServiceError as error:
        messages.error(request, error.message)
        return redirect("kbdesk:article", article_id=article.pk)
    messages.success(request, _("Translate the text, then save."))
    return redirect("kbdesk:article", article_id=variant.pk)


# -- versions --------------------------------------------------------------------------


@agent_required
@require_GET
def versions(request: HttpRequest, article_id: int) -> HttpResponse:
    article = _get_article(request, article_id)
    return render(
        request,
        "kb/desk/versions.html",
        {
            "article": article,
            "versions": list(article.versions.select_related("author")),
            "may_edit": services.may_edit(request.user, article),
        },
    )


@agent_required
@require_GET
def version(request: HttpRequest, article_id: int, number: int) -> HttpResponse:
    """Version `number` against the one before it (or ?against=N)."""
    article = _get_article(request, article_id)
    shown = get_object_or_404(article.versions.select_related("author"), number=number)
    against = request.GET.get("against", "")
    base_number = int(against) if against.isdigit() and len(against) < 10 else number - 1
    base = article.versions.filter(number=base_number).first()
    return render(
        request,
        "kb/desk/version.html",
        {
            "article": article,
            "shown": shown,
            "base": base,
            "title_changed": base is not None and base.title != shown.title,
            "lines": markdown.diff(base.body if base else "", shown.body),
            "may_edit": services.may_edit(request.user, article),
        },
    )


@agent_required
@require_POST
def restore(request: HttpRequest, article_id: int, number: int) -> HttpResponse:
    article = _get_article(request, article_id)
    version_value = request.POST.get("version", "")
    try:
        services.restore_version(
            article,
            number,
            acting_user=request.user,
            expected_version=int(version_value)
            if version_value.isdigit() and len(version_value) < 10
            else None,
        )
    except ServiceError as error:
        messages.error(request, error.message)
        return redirect("kbdesk:versions", article_id=article.pk)
    messages.success(
        request, _("Version %(number)s was restored as a new version.") % {"number": number}
    )
    return redirect("kbdesk:article", article_id=article.pk)


# -- tickets ---------------------------------------------------------------------------


@agent_required
@require_GET
def ticket_panel(request: HttpRequest, number: int) -> HttpResponse:
    """The knowledge-base box of the ticket page (loaded by htmx after the page)."""
    user = request.user
    ticket = get_ticket(user, number)
    text = queries.ticket_text(ticket)
    links = list(TicketLink.objects.filter(ticket=ticket).select_related("article"))
    solved_ids = {link.article_id for link in links if link.kind == LinkKind.SOLVED_WITH}
    return render(
        request,
        "kb/desk/_ticket_panel_body.html",
        {
            "ticket": ticket,
            "suggested": queries.suggest_articles(user, text),
            "similar": queries.similar_resolved_tickets(user, ticket, text=text),
            "created_from": [link for link in links if link.kind == LinkKind.CREATED_FROM],
            "solved": [link for link in links if link.kind == LinkKind.SOLVED_WITH],
            "solved_ids": solved_ids,
            "resolved": ticket.status in (Status.RESOLVED, Status.CLOSED),
            "from_ticket_form": FromTicketForm(),
        },
    )


@agent_required
@require_POST
def from_ticket(request: HttpRequest, number: int) -> HttpResponse:
    ticket = get_ticket(request.user, number)
    form = FromTicketForm(request.POST)
    try:
        if not form.is_valid():
            raise InvalidInput(first_error(form))
        article = services.create_article_from_ticket(
            ticket, acting_user=request.user, section=form.cleaned_data["section"]
        )
    except ServiceError as error:
        messages.error(request, error.message)
        return redirect("desk:ticket", number=number)
    messages.success(
        request, _("A draft was written from the ticket: edit it, then submit it for review.")
    )
    return redirect("kbdesk:article", article_id=article.pk)


@agent_required
@require_POST
def solved_with(request: HttpRequest, number: int) -> HttpResponse:
    ticket = get_ticket(request.user, number)
    form = SolvedWithForm(request.POST)
    try:
        if not form.is_valid():
            raise InvalidInput(first_error(form))
        article = policy.get_visible_article(request.user, form.cleaned_data["article"])
        services.mark_solved_with(ticket, article, acting_user=request.user)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request, _("Marked as solved with “%(title)s”.") % {"title": article.title}
        )
    return redirect("desk:ticket", number=number)


@agent_required
@require_POST
def unsolve(request: HttpRequest, number: int, article_id: int) -> HttpResponse:
    ticket = get_ticket(request.user, number)
    article = _get_article(request, article_id)
    try:
        services.unmark_solved_with(ticket, article, acting_user=request.user)
    except ServiceError as error:
        messages.error(request, error.message)
    return redirect("desk:ticket", number=number)


# -- the FAQ and the categories --------------------------------------------------------


@agent_required
@require_http_methods(["GET", "POST"])
def faq_list(request: HttpRequest) -> HttpResponse:
    form = FaqForm(request.POST or None, initial={"language": language_of(request)})
    saved, status = submitted(
        request,
        form,
        lambda data: services.create_faq_entry(acting_user=request.user, **_faq_fields(form)),
        _("The entry was saved."),
    )
    if saved:
        return redirect("kbdesk:faq")
    entries = (
        policy.visible_faq(request.user)
        .select_related("category")
        .order_by("category__position", "category__name", "position", "pk")
    )
    return render(request, "kb/desk/faq.html", {"form": form, "entries": entries}, status=status)


def _faq_fields(form: FaqForm) -> dict:
    data = form.cleaned_data
    names = ("category", "question", "answer", "language", "visibility", "published", "position")
    return {**{name: data[name] for name in names}, "organizations": _organizations(form)}


@agent_required
@require_http_methods(["GET", "POST"])
def faq_edit(request: HttpRequest, entry_id: int) -> HttpResponse:
    entry = get_object_or_404(FaqEntry, pk=entry_id)
    initial = {
        "category": entry.category_id, "language": entry.language, "question": entry.question,
        "answer": entry.answer, "visibility": entry.visibility, "position": entry.position,
        "published": entry.published, "organizations": [o.pk for o in entry.organizations.all()],
    }  # fmt: skip
    form = FaqForm(request.POST or None, initial=initial)
    saved, status = submitted(
        request,
        form,
        lambda data: services.update_faq_entry(
            entry, acting_user=request.user, **_faq_fields(form)
        ),
        _("The entry was saved."),
    )
    if saved:
        return redirect("kbdesk:faq")
    return render(request, "kb/desk/faq_edit.html", {"form": form, "entry": entry}, status=status)


@agent_required
@require_http_methods(["GET", "POST"])
def categories(request: HttpRequest) -> HttpResponse:
    category_form = CategoryForm(prefix="category")
    section_form = SectionForm(prefix="section")
    status = 200
    if request.method == "POST":
        try:
            if "category-name" in request.POST:
                category_form = CategoryForm(request.POST, prefix="category")
                if not category_form.is_valid():
                    raise InvalidInput(first_error(category_form))
                services.create_category(acting_user=request.user, **category_form.cleaned_data)
            else:
                section_form = SectionForm(request.POST, prefix="section")
                if not section_form.is_valid():
                    raise InvalidInput(first_error(section_form))
                data = section_form.cleaned_data
                services.create_section(
                    data["category"], acting_user=request.user, name=data["name"]
                )
        except ServiceError as error:
            messages.error(request, error.message)
            status = error.status
        else:
            messages.success(request, _("Saved."))
            return redirect("kbdesk:categories")
    return render(
        request,
        "kb/desk/categories.html",
        {
            "categories": Category.objects.prefetch_related("sections"),
            "category_form": category_form,
            "section_form": section_form,
            "may_manage": request.user.is_supervisor,
        },
        status=status,
    )
