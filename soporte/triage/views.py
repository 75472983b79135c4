"""Triage in the agent workspace: the box on the ticket page (suggestions with one-click
accept or reject, the probable duplicate with one-click merge, the incident), the banner
of open incidents, and the page where supervisors follow incidents and administrators
see the model's accuracy, train it and set the threshold.

Every view: an agent signed in, one service called, a redirect or a page; service errors
come back as a message (4xx), never a 500."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from soporte.lib.errors import ServiceError
from soporte.tickets.views.common import agent_required, first_error, get_ticket, submitted

from . import services
from .forms import IncidentForm, SettingsForm
from .models import FIELDS, DuplicateFlag, DuplicateStatus, Incident, IncidentTicket


@agent_required
@require_GET
def ticket_panel(request: HttpRequest, number: int) -> HttpResponse:
    """The triage box of the ticket page (loaded by htmx after the page)."""
    ticket = get_ticket(request.user, number)
    flag = DuplicateFlag.objects.select_related("original").filter(ticket=ticket).first()
    link = IncidentTicket.objects.select_related("incident").filter(ticket=ticket).first()
    return render(
        request,
        "triage/_ticket_panel_body.html",
        {
            "ticket": ticket,
            "suggestions": services.suggestions_for(ticket),
            "duplicate": flag if flag and flag.status == DuplicateStatus.OPEN else None,
            "incident": link.incident if link else None,
            "similar": services.similar_tickets(request.user, ticket),
        },
    )


def _act(request: HttpRequest, number: int, action, success: str) -> HttpResponse:
    ticket = get_ticket(request.user, number)
    try:
        action(ticket)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, success)
    return redirect("desk:ticket", number=number)


@agent_required
@require_POST
def accept(request: HttpRequest, number: int, field: str) -> HttpResponse:
    if field not in FIELDS:
        raise Http404
    return _act(
        request,
        number,
        lambda t: services.accept_suggestion(t, field, acting_user=request.user),
        _("Suggestion applied."),
    )


@agent_required
@require_POST
def reject(request: HttpRequest, number: int, field: str) -> HttpResponse:
    if field not in FIELDS:
        raise Http404
    return _act(
        request,
        number,
        lambda t: services.reject_suggestion(t, field, acting_user=request.user),
        _("Suggestion rejected; the next training learns from it."),
    )


@agent_required
@require_POST
def merge_duplicate(request: HttpRequest, number: int) -> HttpResponse:
    ticket = get_ticket(request.user, number)
    try:
        into = services.merge_duplicate(ticket, acting_user=request.user)
    except ServiceError as error:
        messages.error(request, error.message)
        return redirect("desk:ticket", number=number)
    messages.success(
        request,
        _("Ticket #%(source)s was merged into #%(target)s.")
        % {"source": number, "target": into.number},
    )
    return redirect("desk:ticket", number=into.number)


@agent_required
@require_POST
def dismiss_duplicate(request: HttpRequest, number: int) -> HttpResponse:
    return _act(
        request,
        number,
        lambda t: services.dismiss_duplicate(t, acting_user=request.user),
        _("Marked as not a duplicate."),
    )


@agent_required
@require_GET
def banner(request: HttpRequest) -> HttpResponse:
    """Open probable major incidents, on every page of the workspace (htmx)."""
    return render(request, "triage/_banner.html", {"incidents": services.open_incidents()})


def _require_supervisor(request: HttpRequest) -> None:
    if not (request.user.is_supervisor or request.user.is_admin):
        raise PermissionDenied


@agent_required
@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    """The model's accuracy and macro-F1 on held-out history, and the incidents."""
    _require_supervisor(request)
    return _overview(request, SettingsForm(instance=services.get_settings()))


def _overview(request: HttpRequest, settings_form: SettingsForm, status: int = 200):
    current = services.model_metrics()
    overall = (current.metrics.get("overall", {}) if current else {}) or {}
    return render(
        request,
        "triage/overview.html",
        {
            "model": current,
            "overall": sorted(overall.items()),
            "languages": sorted(
                (code, sorted(fields.items()))
                for code, fields in (current.metrics.items() if current else [])
                if code != "overall"
            ),
            "incidents": list(Incident.objects.all()[:50]),
            "incident_form": IncidentForm,
            "settings_form": settings_form,
        },
        status=status,
    )


@agent_required
@require_POST
def train(request: HttpRequest) -> HttpResponse:
    from .tasks import train as train_job

    if not request.user.is_admin:
        raise PermissionDenied
    train_job.enqueue(request.user.pk)
    messages.success(request, _("Training started; the new model appears here when it is done."))
    return redirect("triage:overview")


@agent_required
@require_http_methods(["POST"])
def save_settings(request: HttpRequest) -> HttpResponse:
    if not request.user.is_admin:
        raise PermissionDenied
    form = SettingsForm(request.POST, instance=services.get_settings())
    saved, status = submitted(
        request,
        form,
        lambda data: services.update_settings(acting_user=request.user, **data),
        _("Settings saved."),
    )
    if saved:
        return redirect("triage:overview")
    return _overview(request, form, status)


@agent_required
@require_POST
def incident(request: HttpRequest, incident_id: int) -> HttpResponse:
    _require_supervisor(request)
    found = Incident.objects.filter(pk=incident_id).first()
    if found is None:
        raise Http404
    form = IncidentForm(request.POST)
    if not form.is_valid():
        messages.error(request, first_error(form))
        return redirect("triage:overview")
    try:
        services.update_incident(found, acting_user=request.user, **form.cleaned_data)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Incident updated."))
    return redirect("triage:overview")
