"""Flow pages. In the desk: the list with each flow's outcomes, a flow's tree, the editor
and the YAML import (supervisors), the flows to run on a ticket, and the run, step by
step. On the portal (/help/troubleshoot/): the public flows, the same run page, and the
new-ticket form filled in with the path when the flow did not solve the problem.

Every view: signed in, input parsed by a form, one service called, a page rendered;
service errors come back as a message on the page (4xx), never a 500.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from soporte.lib.errors import NotFound, ServiceError
from soporte.tickets import panels as ticket_panels
from soporte.tickets import services as ticket_services
from soporte.tickets.forms import NewTicketForm
from soporte.tickets.models import Category
from soporte.tickets.views.common import agent_required, first_error, get_ticket, signed_in

from . import services
from .forms import AnswerForm, FinishForm, FlowForm, ImportForm, NodeForm, NodeFormSet, StartForm
from .models import Flow, FlowRun, Outcome, RunChannel


def _language(request: HttpRequest) -> str:
    code = (getattr(request, "LANGUAGE_CODE", "") or "en").split("-")[0]
    return code if code in ("en", "es") else "en"


def _flow(request: HttpRequest, slug: str) -> Flow:
    try:
        return services.get_visible_flow(request.user, slug)
    except NotFound:
        raise Http404 from None


def _require_editor(request: HttpRequest) -> None:
    if not services.can_edit(request.user):
        raise DjangoPermissionDenied


def _run(request: HttpRequest, run_id: int) -> FlowRun:
    try:
        return services.get_visible_run(request.user, run_id)
    except NotFound:
        raise Http404 from None


# -- the desk: list, tree, editor, import ------------------------------------------------


@agent_required
@require_GET
def flow_list(request: HttpRequest) -> HttpResponse:
    flows = services.with_stats(services.visible_flows(request.user))
    rows = [
        (flow, services.stats_of(flow))
        for flow in services.in_language_first(flows[:500], _language(request))
    ]
    return render(
        request, "flows/desk/list.html", {"rows": rows, "can_edit": services.can_edit(request.user)}
    )


@agent_required
@require_GET
def flow_page(request: HttpRequest, slug: str) -> HttpResponse:
    flow = _flow(request, slug)
    version = flow.current()
    return render(
        request,
        "flows/desk/flow.html",
        {
            "flow": flow,
            "tree": version.tree(),
            "stats": services.stats_of(flow),
            "versions": flow.versions.select_related("author").only(
                "number",
                "created_at",
                "author__username",
                "author__first_name",
                "author__last_name",
                "flow_id",
            )[:50],  # fmt: skip
            "can_edit": services.can_edit(request.user),
        },
    )


def _definition(form: FlowForm, nodes: NodeFormSet) -> dict:
    data = form.cleaned_data
    return {
        "slug": data["slug"],
        "title": data["title"],
        "language": data["language"],
        "public": data["public"],
        "description": data["description"],
        "nodes": [
            node
            for node_form in nodes.forms
            if node_form.cleaned_data and not node_form.cleaned_data.get("DELETE")
            for node in [node_form.node()]
            if node is not None
        ],
    }


@agent_required
@require_http_methods(["GET", "POST"])
def flow_edit(request: HttpRequest, slug: str | None = None) -> HttpResponse:
    """The form-based editor: the flow's fields and one form per node. The whole tree is
    validated on save (graph.parse); an error names its node and nothing is stored."""
    _require_editor(request)
    flow = _flow(request, slug) if slug else None
    if flow is not None:
        stored = flow.current().definition
        initial = {**stored, "version": flow.version}
        node_initial = [NodeForm.initial_for(node) for node in stored["nodes"]]
    else:
        initial = {"language": _language(request)}
        node_initial = [{"start": True}]
    form = FlowForm(request.POST or None, initial=initial, editing=flow is not None)
    # Bound forms get no initial values: a node equal to them would count as unchanged,
    # and the formset would skip it.
    nodes = NodeFormSet(
        request.POST or None,
        initial=None if request.method == "POST" else node_initial,
        prefix="nodes",
    )
    status = 200
    if request.method == "POST":
        if form.is_valid() and nodes.is_valid():
            try:
                saved, changed = services.save_flow(
                    _definition(form, nodes), acting_user=request.user, flow=flow,
                    expected_version=form.cleaned_data.get("version"), create=flow is None,
                )  # fmt: skip
            except ServiceError as error:
                messages.error(request, error.message)
                status = error.status
            else:
                if changed:
                    messages.success(
                        request, _("Saved as version %(number)s.") % {"number": saved.version}
                    )
                else:
                    messages.info(request, _("Nothing changed."))
                return redirect("flowsdesk:flow", slug=saved.slug)
        else:
            errors = first_error(form) or next(
                (first_error(f) for f in nodes.forms if f.errors), ""
            )
            messages.error(request, errors or "; ".join(nodes.non_form_errors()))
            status = 422
    return render(
        request,
        "flows/desk/edit.html",
        {"form": form, "nodes": nodes, "flow": flow, "can_edit": True},
        status=status,
    )


@agent_required
@require_http_methods(["GET", "POST"])
def flow_import(request: HttpRequest) -> HttpResponse:
    _require_editor(request)
    form = ImportForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                flow, changed = services.import_flow(
                    form.cleaned_data["yaml"], acting_user=request.user
                )
            except ServiceError as error:
                messages.error(request, error.message)
                status = error.status
            else:
                messages.success(
                    request,
                    _("Imported as version %(number)s.") % {"number": flow.version}
                    if changed
                    else _("The flow is the same as its current version; nothing changed."),
                )
                return redirect("flowsdesk:flow", slug=flow.slug)
        else:
            messages.error(request, first_error(form))
            status = 422
    return render(
        request, "flows/desk/import.html", {"form": form, "can_edit": True}, status=status
    )


@agent_required
@require_GET
def flow_export(request: HttpRequest, slug: str) -> HttpResponse:
    flow = _flow(request, slug)
    response = HttpResponse(services.export_flow(flow), content_type="application/yaml")
    response["Content-Disposition"] = f'attachment; filename="{flow.slug}.yaml"'
    return response


@agent_required
@require_POST
def flow_archive(request: HttpRequest, slug: str) -> HttpResponse:
    _require_editor(request)
    flow = _flow(request, slug)
    archived = request.POST.get("archived") == "1"
    services.set_archived(flow, acting_user=request.user, archived=archived)
    messages.success(request, _("Archived.") if archived else _("Offered again."))
    return redirect("flowsdesk:flow", slug=flow.slug)


# -- running on a ticket (desk) --------------------------------------------------------


@agent_required
@require_GET
def ticket_flows(request: HttpRequest, number: int) -> HttpResponse:
    ticket = get_ticket(request.user, number)
    flows = services.in_language_first(
        services.visible_flows(request.user).filter(archived=False)[:200], _language(request)
    )
    runs = FlowRun.objects.filter(ticket=ticket).select_related("flow", "user")[:20]
    return render(
        request, "flows/desk/ticket.html", {"ticket": ticket, "flows": flows, "runs": runs}
    )


@signed_in
@require_POST
def start(request: HttpRequest, number: int | None = None) -> HttpResponse:
    """Start a flow: on a ticket (agents), alone (an agent trying it), or on the portal."""
    form = StartForm(request.POST)
    if not form.is_valid():
        messages.error(request, first_error(form))
        return redirect(_home(request))
    flow = _flow(request, form.cleaned_data["flow"])
    ticket = None
    if number is not None:
        if not request.user.is_agent:
            raise DjangoPermissionDenied
        ticket = get_ticket(request.user, number)
    try:
        run = services.start_run(flow, acting_user=request.user, ticket=ticket)
    except ServiceError as error:
        messages.error(request, error.message)
        return redirect(_home(request))
    return redirect(_run_url(run))


def _home(request: HttpRequest) -> str:
    return reverse("flowsdesk:list" if request.user.is_agent else "flows:list")


def _run_url(run: FlowRun) -> str:
    space = "flowsdesk" if run.channel == RunChannel.DESK else "flows"
    return reverse(f"{space}:run", args=[run.pk])


# -- a run, step by step (desk and portal) -----------------------------------------------


@signed_in
@require_GET
def run_page(request: HttpRequest, run_id: int) -> HttpResponse:
    run = _run(request, run_id)
    node = None if run.finished else services.current_node(run)
    article = None
    if node is not None and node.article:
        from soporte.kb import policy as kb_policy
        from soporte.kb.models import Article

        found = Article.objects.filter(pk=node.article).first()
        article = found if found is not None and kb_policy.can_read(request.user, found) else None
    portal = run.channel == RunChannel.PORTAL
    return render(
        request,
        "flows/run.html",
        {
            "run": run,
            "node": node,
            "article": article,
            "steps": run.path,
            "outcomes": services.allowed_outcomes(run, node) if node else [],
            "mine": run.user_id == request.user.pk,
            "portal": portal,
            "space": "flows" if portal else "flowsdesk",
            "Outcome": Outcome,
        },
    )


def _step(request: HttpRequest, run_id: int, action) -> HttpResponse:
    run = _run(request, run_id)
    try:
        run = action(run)
    except ServiceError as error:
        messages.error(request, error.message)
        return redirect(_run_url(run))
    return redirect(_run_url(run))


@signed_in
@require_POST
def run_answer(request: HttpRequest, run_id: int) -> HttpResponse:
    form = AnswerForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose one of the answers."))
        return redirect(_run_url(_run(request, run_id)))
    return _step(
        request,
        run_id,
        lambda run: services.answer(
            run, acting_user=request.user, choice=form.cleaned_data["choice"]
        ),
    )


@signed_in
@require_POST
def run_back(request: HttpRequest, run_id: int) -> HttpResponse:
    return _step(request, run_id, lambda run: services.back(run, acting_user=request.user))


@signed_in
@require_POST
def run_finish(request: HttpRequest, run_id: int) -> HttpResponse:
    run = _run(request, run_id)
    form = FinishForm(request.POST)
    if not form.is_valid():
        messages.error(request, first_error(form))
        return redirect(_run_url(run))
    try:
        run = services.finish(run, acting_user=request.user, outcome=form.cleaned_data["outcome"])
    except ServiceError as error:
        messages.error(request, error.message)
        return redirect(_run_url(run))
    if run.channel == RunChannel.PORTAL:
        if run.outcome == Outcome.ESCALATED:
            return redirect("flows:open_ticket", run_id=run.pk)
        if run.outcome == Outcome.SOLVED:
            messages.success(request, _("Glad it is solved. Thanks for letting us know."))
        return redirect("flows:list")
    if run.ticket is not None:
        messages.success(request, _("The path was recorded on the ticket as an internal note."))
        return redirect("desk:ticket", number=run.ticket.number)
    return redirect("flowsdesk:flow", slug=run.flow.slug)


# -- the portal ------------------------------------------------------------------------


@signed_in
@require_GET
def portal_list(request: HttpRequest) -> HttpResponse:
    flows = services.visible_flows(request.user).filter(public=True, archived=False)
    return render(
        request,
        "flows/portal/list.html",
        {"flows": services.in_language_first(flows[:200], _language(request))},
    )


@signed_in
@require_http_methods(["GET", "POST"])
def open_ticket(request: HttpRequest, run_id: int) -> HttpResponse:
    """The portal's new-ticket form, filled in with the path of the run that did not
    solve the problem; the ticket opened is linked to the run."""
    run = _run(request, run_id)
    if run.user_id != request.user.pk or run.channel != RunChannel.PORTAL:
        raise Http404
    form = NewTicketForm(request.POST or None, request.FILES or None,
                         initial=services.ticket_draft(run))  # fmt: skip
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                with transaction.atomic():
                    ticket = ticket_services.open_ticket(
                        acting_user=request.user, subject=data["subject"], body=data["body"],
                        channel="web", impact=data["impact"], urgency=data["urgency"],
                        category=data["category"], files=data["files"],
                    )  # fmt: skip
                    services.link_ticket(run, ticket, acting_user=request.user)
            except ServiceError as error:
                messages.error(request, error.message)
                status = error.status
            else:
                messages.success(
                    request, _("Ticket #%(number)s was opened. We will answer soon.")
                    % {"number": ticket.number},
                )  # fmt: skip
                return redirect("portal:ticket", number=ticket.number)
        else:
            messages.error(request, first_error(form))
            status = 422
    return render(
        request,
        "tickets/portal/new.html",
        {
            "form": form,
            "categories": Category.objects.all(),
            "form_parts": ticket_panels.portal_form_parts(),
        },
        status=status,
    )
