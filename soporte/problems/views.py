"""The agents' problem pages: list, new (also from a ticket), the problem page (edit,
status, tickets, assets, report to development, bug status, delivery failures), and the
ticket page's box. Every view: an agent signed in, a form parses, one service runs, a
page renders; service errors come back as a message with their 4xx status."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from soporte.accounts import policy as accounts_policy
from soporte.assets.models import Asset
from soporte.lib.errors import InvalidInput, NotFound, ServiceError
from soporte.tickets.views.common import agent_required, first_error, get_ticket

from . import services
from .forms import FilterForm, LinkAssetForm, LinkTicketForm, ProblemForm, ReportForm
from .models import BugReport, Problem, Tracker

PAGE_SIZE = 50


def _problem(request: HttpRequest, problem_id: int) -> Problem:
    try:
        return services.get_problem(request.user, problem_id)
    except NotFound:
        raise Http404 from None


def _back(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}):
        return target
    return default


def _fail(request: HttpRequest, error: ServiceError, back: str) -> HttpResponse:
    """The service's message with its 4xx status, and the way back."""
    messages.error(request, error.message)
    if request.htmx:
        return redirect(back)
    return render(request, "problems/desk/error.html", {"back": back}, status=error.status)


@agent_required
@require_GET
def problem_list(request: HttpRequest) -> HttpResponse:
    form = FilterForm(request.GET)
    problems = services.visible_problems(request.user)
    status = 200
    if form.is_valid():
        problems = services.filter_problems(
            problems, q=form.cleaned_data["q"], status=form.cleaned_data["status"]
        )
    else:
        messages.error(request, first_error(form))
        problems, status = problems.none(), 400
    try:
        offset = max(0, min(int(request.GET.get("offset", 0)), 1_000_000))
    except ValueError:
        offset = 0
    rows = list(problems.select_related("tracker")[offset : offset + PAGE_SIZE + 1])
    next_url = None
    if len(rows) > PAGE_SIZE:
        query = request.GET.copy()
        query["offset"] = offset + PAGE_SIZE
        next_url = "?" + query.urlencode()
    context = {"form": form, "rows": rows[:PAGE_SIZE], "next_url": next_url}
    return render(request, "problems/desk/list.html", context, status=status)


@agent_required
@require_http_methods(["GET", "POST"])
def problem_new(request: HttpRequest) -> HttpResponse:
    """A new problem; with ?ticket=N (the ticket box's "new problem from this ticket")
    it starts from the ticket and is linked to it."""
    ticket = None
    number = request.POST.get("ticket") or request.GET.get("ticket")
    if number:
        try:
            ticket = get_ticket(request.user, int(number))
        except (ValueError, OverflowError):
            raise Http404 from None
    initial = {}
    if ticket is not None:
        initial = {
            "title": ticket.subject[:200],
            "description": services.ticket_text(ticket),
            "ticket": ticket.number,
        }
    form = ProblemForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = {k: v for k, v in form.cleaned_data.items() if k not in ("version", "ticket")}
            try:
                problem = services.create_problem(
                    acting_user=request.user, tickets=[ticket] if ticket else [], **data
                )
            except ServiceError as error:
                messages.error(request, error.message)
                status = error.status
            else:
                messages.success(request, _("Problem recorded."))
                return redirect("problems:problem", problem.pk)
        else:
            messages.error(request, first_error(form))
            status = 422
    return render(
        request, "problems/desk/new.html", {"form": form, "ticket": ticket}, status=status
    )


def _page_context(request: HttpRequest, problem: Problem, form: ProblemForm) -> dict:
    visible = accounts_policy.visible_tickets(request.user)
    links = problem.ticket_links.select_related("ticket")
    tickets = list(visible.filter(problem_links__problem=problem).order_by("number")[:200])
    return {
        "problem": problem,
        "form": form,
        "tickets": tickets,
        "hidden_tickets": links.count() - len(tickets),
        "assets": list(problem.assets.select_related("type").order_by("tag")[:200]),
        "reports": list(problem.reports.select_related("tracker")[:10]),
        "trackers": list(Tracker.objects.filter(active=True)),
        "link_form": LinkTicketForm(),
        "asset_form": LinkAssetForm(),
        "report_form": ReportForm(),
    }


@agent_required
@require_http_methods(["GET", "POST"])
def problem_page(request: HttpRequest, problem_id: int) -> HttpResponse:
    problem = _problem(request, problem_id)
    fields = ("title", "description", "root_cause", "workaround", "workaround_public",
              "status", "notify_when_fixed", "version")  # fmt: skip
    initial = {name: getattr(problem, name) for name in fields}
    form = ProblemForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = dict(form.cleaned_data)
            data.pop("ticket", None)
            version = data.pop("version", None)
            try:
                services.update_problem(
                    problem, acting_user=request.user, expected_version=version, **data
                )
            except ServiceError as error:
                messages.error(request, error.message)
                status = error.status
            else:
                messages.success(request, _("Saved."))
                return redirect("problems:problem", problem.pk)
        else:
            messages.error(request, first_error(form))
            status = 422
    context = _page_context(request, problem, form)
    return render(request, "problems/desk/problem.html", context, status=status)


@agent_required
@require_POST
def link_ticket(request: HttpRequest, problem_id: int) -> HttpResponse:
    problem = _problem(request, problem_id)
    back = _back(request, problem.get_absolute_url())
    form = LinkTicketForm(request.POST)
    try:
        if not form.is_valid():
            raise InvalidInput(first_error(form))
        ticket = accounts_policy.get_visible_ticket(request.user, form.cleaned_data["number"])
        if services.link_ticket(problem, ticket, acting_user=request.user):
            messages.success(request, _("Ticket #%(number)s linked.") % {"number": ticket.number})
    except ServiceError as error:
        return _fail(request, error, back)
    return redirect(back)


@agent_required
@require_POST
def unlink_ticket(request: HttpRequest, problem_id: int, number: int) -> HttpResponse:
    problem = _problem(request, problem_id)
    ticket = get_ticket(request.user, number)
    back = _back(request, problem.get_absolute_url())
    try:
        services.unlink_ticket(problem, ticket, acting_user=request.user)
    except ServiceError as error:
        return _fail(request, error, back)
    return redirect(back)


@agent_required
@require_POST
def link_asset(request: HttpRequest, problem_id: int) -> HttpResponse:
    problem = _problem(request, problem_id)
    back = problem.get_absolute_url()
    form = LinkAssetForm(request.POST)
    try:
        if not form.is_valid():
            raise InvalidInput(first_error(form))
        asset = Asset.objects.filter(tag=form.cleaned_data["tag"]).first()
        if asset is None:
            raise InvalidInput(_("No asset tagged %(tag)s.") % {"tag": form.cleaned_data["tag"]})
        services.link_asset(problem, asset, acting_user=request.user)
    except ServiceError as error:
        return _fail(request, error, back)
    return redirect(back)


@agent_required
@require_POST
def unlink_asset(request: HttpRequest, problem_id: int, asset_id: int) -> HttpResponse:
    problem = _problem(request, problem_id)
    asset = Asset.objects.filter(pk=asset_id).first()
    if asset is None:
        raise Http404
    services.unlink_asset(problem, asset, acting_user=request.user)
    return redirect(problem.get_absolute_url())


@agent_required
@require_POST
def report(request: HttpRequest, problem_id: int) -> HttpResponse:
    problem = _problem(request, problem_id)
    back = _back(request, problem.get_absolute_url())
    form = ReportForm(request.POST)
    try:
        if not form.is_valid():
            raise InvalidInput(first_error(form))
        services.report_to_development(
            problem, acting_user=request.user, tracker=form.cleaned_data["tracker"]
        )
    except ServiceError as error:
        return _fail(request, error, back)
    messages.success(request, _("The report to development is on its way."))
    return redirect(back)


@agent_required
@require_POST
def retry(request: HttpRequest, report_id: int) -> HttpResponse:
    found = BugReport.objects.filter(pk=report_id).first()
    if found is None:
        raise Http404
    back = _back(request, found.problem.get_absolute_url())
    try:
        services.retry_report(found, acting_user=request.user)
    except ServiceError as error:
        return _fail(request, error, back)
    messages.success(request, _("Trying again."))
    return redirect(back)


# -- the ticket page's box ------------------------------------------------------------------


@agent_required
@require_GET
def ticket_similar(request: HttpRequest, number: int) -> HttpResponse:
    """Known errors like the ticket (loaded by htmx after the page), each one click away
    from being linked."""
    ticket = get_ticket(request.user, number)
    context = {"ticket": ticket, "similar": services.similar_known_errors(request.user, ticket)}
    return render(request, "problems/desk/_similar.html", context)


@agent_required
@require_POST
def ticket_link(request: HttpRequest, number: int) -> HttpResponse:
    """From the ticket's box: link it to a problem (a similar known error)."""
    ticket = get_ticket(request.user, number)
    back = _back(request, f"/desk/tickets/{ticket.number}/")
    try:
        problem = services.get_problem(request.user, int(request.POST.get("problem", "")))
        services.link_ticket(problem, ticket, acting_user=request.user)
    except (ValueError, OverflowError):
        return _fail(request, InvalidInput(_("Choose a problem.")), back)
    except ServiceError as error:
        return _fail(request, error, back)
    return redirect(back)


@agent_required
@require_POST
def ticket_report(request: HttpRequest, number: int) -> HttpResponse:
    """From the ticket's box: report to development through the ticket's problem (or a
    new one made from the ticket)."""
    ticket = get_ticket(request.user, number)
    back = _back(request, f"/desk/tickets/{ticket.number}/")
    try:
        problem = None
        if request.POST.get("problem"):
            try:
                problem = services.get_problem(request.user, int(request.POST["problem"]))
            except (ValueError, OverflowError):
                raise InvalidInput(_("Choose a problem.")) from None
        services.report_ticket(ticket, acting_user=request.user, problem=problem)
    except ServiceError as error:
        return _fail(request, error, back)
    messages.success(request, _("The report to development is on its way."))
    return redirect(back)
