"""The help center on the portal: open to everyone for public articles, and to signed-in
requesters for what their organization may read. Articles in the reader's language
first, the FAQ, search, feedback, suggestions while writing a ticket, and exports."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from soporte.accounts.forms import client_ip
from soporte.lib.errors import InvalidInput, NotFound, ServiceError

from .. import export, policy, queries, services
from ..forms import FeedbackForm
from ..models import Article, Category, Feedback
from .common import language_of, session_key

# A session counts each article's view once; it remembers this many.
_VIEWED_KEEP = 200


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    language = language_of(request)
    return render(
        request,
        "kb/portal/home.html",
        {"tree": queries.tree(request.user, language), "q": ""},
    )


@require_GET
def category(request: HttpRequest, category_id: int) -> HttpResponse:
    found = get_object_or_404(Category, pk=category_id)
    tree = queries.tree(request.user, language_of(request), category=found)
    if not tree:
        raise Http404
    return render(request, "kb/portal/category.html", {"category": found, "entry": tree[0]})


@require_GET
def search(request: HttpRequest) -> HttpResponse:
    text = request.GET.get("q", "")[:1000]
    page, error = None, ""
    offset = request.GET.get("offset", "0")
    try:
        page = queries.search_articles(
            request.user, text, offset=int(offset) if offset.isdigit() and len(offset) < 7 else 0
        )
    except InvalidInput as problem:
        error = problem.message
    template = "kb/portal/_results.html" if request.htmx else "kb/portal/search.html"
    return render(
        request, template, {"page": page, "q": text, "error": error}, status=422 if error else 200
    )


def _count_view(request: HttpRequest, article: Article) -> None:
    viewed = request.session.get("kb_viewed", [])
    if article.pk in viewed or not article.is_published:
        return
    services.count_view(article)
    request.session["kb_viewed"] = [*viewed, article.pk][-_VIEWED_KEEP:]


def _get_article(request: HttpRequest, article_id: int) -> Article:
    try:
        return policy.get_visible_article(request.user, article_id)
    except NotFound:
        raise Http404 from None


@require_GET
def article(request: HttpRequest, article_id: int) -> HttpResponse:
    found = _get_article(request, article_id)
    _count_view(request, found)
    deflection = None
    if request.GET.get("from") == "suggestion":
        deflection = services.open_suggestion(
            found,
            acting_user=request.user,
            session_key=session_key(request, create=True),
            query=request.GET.get("q", ""),
        )
    return render(request, "kb/portal/article.html", _article_context(request, found, deflection))


def _article_context(request, found: Article, deflection=None, form=None) -> dict:
    mine = None
    if request.user.is_authenticated:
        mine = Feedback.objects.filter(article=found, user=request.user).first()
    elif request.session.session_key:
        mine = Feedback.objects.filter(
            article=found, user__isnull=True, session_key=request.session.session_key
        ).first()
    return {
        "article": found,
        "variants": queries.variants(request.user, found, published_only=found.is_published),
        "tags": [tag.name for tag in found.tags.all()],
        "deflection": deflection,
        "feedback": mine,
        "form": form or FeedbackForm(),
        "may_give_feedback": found.is_published,
    }


@require_POST
def feedback(request: HttpRequest, article_id: int) -> HttpResponse:
    found = _get_article(request, article_id)
    form = FeedbackForm(request.POST)
    status = 200
    if form.is_valid():
        try:
            services.give_feedback(
                found,
                acting_user=request.user,
                helpful=form.cleaned_data["helpful"],
                comment=form.cleaned_data["comment"],
                session_key=session_key(request, create=True),
                ip=client_ip(request),
            )
        except ServiceError as error:
            messages.error(request, error.message)
            status = error.status
        else:
            if not request.htmx:
                messages.success(request, _("Thank you for your feedback."))
                return redirect("kb:article", article_id=found.pk)
    else:
        status = 422
    if request.htmx:
        context = _article_context(request, found, form=form)
        context["just_sent"] = status == 200
        return render(request, "kb/portal/_feedback.html", context, status=status)
    return render(
        request,
        "kb/portal/article.html",
        _article_context(request, found, form=form),
        status=status,
    )


# -- the FAQ ---------------------------------------------------------------------------


@require_GET
def faq(request: HttpRequest) -> HttpResponse:
    language = language_of(request)
    return render(
        request, "kb/portal/faq.html", {"groups": queries.faq_by_category(request.user, language)}
    )


def _get_faq(request: HttpRequest, entry_id: int):
    entry = policy.visible_faq(request.user).filter(pk=entry_id, published=True).first()
    if entry is None:
        raise Http404
    return entry


@require_POST
def faq_viewed(request: HttpRequest, entry_id: int) -> HttpResponse:
    """An entry opened (htmx, when its <details> opens): counted once per session."""
    entry = _get_faq(request, entry_id)
    viewed = request.session.get("kb_faq_viewed", [])
    if entry.pk not in viewed:
        services.count_faq_view(entry)
        request.session["kb_faq_viewed"] = [*viewed, entry.pk][-_VIEWED_KEEP:]
    return HttpResponse(status=204)


@require_POST
def faq_feedback(request: HttpRequest, entry_id: int) -> HttpResponse:
    entry = _get_faq(request, entry_id)
    helpful = request.POST.get("helpful")
    if helpful not in ("yes", "no"):
        return HttpResponse(_("Answer yes or no."), status=422)
    try:
        services.give_faq_feedback(
            entry,
            acting_user=request.user,
            helpful=helpful == "yes",
            session_key=session_key(request, create=True),
            ip=client_ip(request),
        )
    except ServiceError as error:
        if request.htmx:
            return HttpResponse(error.message, status=error.status)
        messages.error(request, error.message)
    else:
        if request.htmx:
            return render(request, "kb/portal/_faq_thanks.html")
        messages.success(request, _("Thank you for your feedback."))
    return redirect(reverse("kb:faq") + f"#faq-{entry.pk}")


# -- suggestions while writing a ticket --------------------------------------------------


@require_GET
def suggest(request: HttpRequest) -> HttpResponse:
    """Articles matching what the requester is typing (htmx, debounced by the page)."""
    subject = request.GET.get("subject", "")[:250]
    body = request.GET.get("body", "")[:2000]
    items = queries.suggest_articles(request.user, f"{subject}\n{body}") if subject or body else []
    return render(request, "kb/portal/_suggestions.html", {"items": items, "query": subject})


@require_POST
def solved(request: HttpRequest, deflection_id: int) -> HttpResponse:
    """ "This solved my problem": the ticket the requester was writing is not needed."""
    try:
        services.confirm_deflection(
            deflection_id, acting_user=request.user, session_key=session_key(request)
        )
    except NotFound:
        raise Http404 from None
    messages.success(request, _("Glad it helped! No need to open a ticket."))
    return redirect("kb:home")


@require_POST
def left(request: HttpRequest) -> HttpResponse:
    """navigator.sendBeacon from the new-ticket page, left unsent after opening a
    suggested article."""
    services.leave_ticket_form(acting_user=request.user, session_key=session_key(request))
    return HttpResponse(status=204)


# -- exports ---------------------------------------------------------------------------


def _send(manual: export.Manual, fmt: str, language: str) -> HttpResponse:
    if fmt not in ("html", "pdf"):
        raise Http404
    if fmt == "pdf":
        response = HttpResponse(export.to_pdf(manual), content_type="application/pdf")
        name = export.filename(manual.title, "pdf")
    else:
        response = HttpResponse(export.to_html(manual, language=language))
        response["Content-Type"] = "text/html; charset=utf-8"
        name = export.filename(manual.title, "html")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@require_GET
def export_article(request: HttpRequest, article_id: int, fmt: str) -> HttpResponse:
    found = _get_article(request, article_id)
    manual = export.Manual(found.title, "", [found])
    return _send(manual, fmt, found.language)


@require_GET
def export_category(request: HttpRequest, category_id: int, fmt: str) -> HttpResponse:
    """The category's published articles the reader may read, as one manual."""
    found = get_object_or_404(Category, pk=category_id)
    language = language_of(request)
    tree = queries.tree(request.user, language, category=found)
    if not tree:
        raise Http404
    articles = [article for entry in tree[0].sections for article in entry.articles]
    # The tree loads titles only; the manual needs the text, in one more query.
    full = Article.objects.in_bulk([article.pk for article in articles])
    manual = export.Manual(
        found.name, found.description, [full[a.pk] for a in articles], cover=True
    )
    return _send(manual, fmt, language)
