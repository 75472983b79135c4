"""Playbooks in the agent workspace: the box on the ticket page (checklists, sub-tasks,
remote sessions), the checklist templates and "My sub-tasks".

Every view: an agent signed in, input parsed by a form, one service called, a page
rendered. The box's actions answer htmx with the box itself (the refusal shown in it);
without JavaScript they go back to the ticket page, or show the box alone with a 4xx.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Prefetch, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from soporte.lib.errors import NotFound, ServiceError
from soporte.tickets.views.common import agent_required, first_error, get_ticket

from . import services
from .forms import (
    AttachForm,
    DoneForm,
    SessionEndForm,
    SessionForm,
    StepForm,
    SubTaskForm,
    TemplateForm,
)
from .models import Checklist, ChecklistStep, ChecklistTemplate, RemoteSession, SubTask

# -- the box on the ticket page --------------------------------------------------------------


def panel_context(ticket, user) -> dict:
    """What the box shows: seven queries, none per row."""
    checklists = list(
        Checklist.objects.filter(ticket=ticket).prefetch_related(
            Prefetch("steps", queryset=ChecklistStep.objects.select_related("done_by"))
        )
    )
    attached = {c.template_id for c in checklists}
    for checklist in checklists:
        steps = list(checklist.steps.all())
        checklist.missing = sum(1 for s in steps if s.required and not s.done)
        checklist.done_count = sum(1 for s in steps if s.done)
    tasks = list(SubTask.objects.filter(ticket=ticket).select_related("assignee", "done_by"))
    return {
        "ticket": ticket,
        "checklists": checklists,
        "templates": [
            t for t in ChecklistTemplate.objects.filter(active=True) if t.pk not in attached
        ],
        "tasks": tasks,
        "open_tasks": sum(1 for t in tasks if not t.done),
        "sessions": list(RemoteSession.objects.filter(ticket=ticket).select_related("agent")),
        "task_form": SubTaskForm(),
        "session_form": SessionForm(),
        "end_form": SessionEndForm(),
    }


def _panel(request: HttpRequest, ticket, *, error: str = "", status: int = 200) -> HttpResponse:
    context = {**panel_context(ticket, request.user), "error": error}
    if request.htmx:
        # htmx swaps only 2xx answers: the refusal is shown inside the box instead.
        return render(request, "playbooks/desk/_panel.html", context)
    if error:
        messages.error(request, error)
    return render(request, "playbooks/desk/ticket.html", context, status=status)


def _done(request: HttpRequest, ticket, success: str) -> HttpResponse:
    if request.htmx:
        return _panel(request, ticket)
    messages.success(request, success)
    return redirect(reverse("desk:ticket", args=[ticket.number]) + "#playbooks")


def _work(request: HttpRequest, number: int):
    """The ticket, when the agent may see it (else 404)."""
    return get_ticket(request.user, number)


@agent_required
@require_GET
def ticket_panel(request: HttpRequest, number: int) -> HttpResponse:
    return _panel(request, _work(request, number))


def _run(request, ticket, form, call, success: str) -> HttpResponse:
    if not form.is_valid():
        return _panel(request, ticket, error=first_error(form), status=422)
    try:
        call(form.cleaned_data)
    except ServiceError as error:
        return _panel(request, get_ticket(request.user, ticket.number), error=error.message,
                      status=error.status)  # fmt: skip
    return _done(request, ticket, success)


@agent_required
@require_POST
def attach(request: HttpRequest, number: int) -> HttpResponse:
    ticket = _work(request, number)
    return _run(request, ticket, AttachForm(request.POST), lambda d: services.attach_checklist(
        ticket, d["template"], acting_user=request.user,
    ), _("Checklist added."))  # fmt: skip


@agent_required
@require_POST
def step(request: HttpRequest, number: int, step_id: int) -> HttpResponse:
    ticket = _work(request, number)
    # A form without the note field leaves the note as it is.
    note_sent = "note" in request.POST
    return _run(request, ticket, StepForm(request.POST), lambda d: services.set_step(
        ticket, step_id, acting_user=request.user, done=d["done"],
        note=d["note"] if note_sent else None,
    ), _("Checklist updated."))  # fmt: skip


@agent_required
@require_POST
def task_new(request: HttpRequest, number: int) -> HttpResponse:
    ticket = _work(request, number)
    return _run(request, ticket, SubTaskForm(request.POST), lambda d: services.create_subtask(
        ticket, acting_user=request.user, title=d["title"], assignee=d["assignee"],
        due_at=d["due_at"], required=d["required"],
    ), _("Sub-task added."))  # fmt: skip


@agent_required
@require_POST
def task_done(request: HttpRequest, task_id: int) -> HttpResponse:
    try:
        task = services.get_subtask(request.user, task_id)
    except NotFound:
        raise Http404 from None
    form = DoneForm(request.POST)
    if request.POST.get("back") == "tasks":
        if form.is_valid():
            try:
                services.set_subtask_done(
                    task, acting_user=request.user, done=form.cleaned_data["done"]
                )
            except ServiceError as error:
                messages.error(request, error.message)
        return redirect("playbooks:tasks")
    return _run(request, task.ticket, form, lambda d: services.set_subtask_done(
        task, acting_user=request.user, done=d["done"],
    ), _("Sub-task updated."))  # fmt: skip


@agent_required
@require_POST
def session_new(request: HttpRequest, number: int) -> HttpResponse:
    ticket = _work(request, number)
    return _run(request, ticket, SessionForm(request.POST), lambda d: services.start_remote_session(
        ticket, acting_user=request.user, tool=d["tool"], session_id=d["session_id"],
        consent_by=d["consent_by"], consent_method=d["consent_method"],
        consent_at=d["consent_at"],
    ), _("Remote session recorded."))  # fmt: skip


@agent_required
@require_POST
def session_end(request: HttpRequest, session_id: int) -> HttpResponse:
    try:
        session = services.get_session(request.user, session_id)
    except NotFound:
        raise Http404 from None
    return _run(request, session.ticket, SessionEndForm(request.POST),
                lambda d: services.end_remote_session(
        session, acting_user=request.user, summary=d["summary"],
    ), _("Remote session ended."))  # fmt: skip


# -- templates ----------------------------------------------------------------------------


@agent_required
@require_GET
def template_list(request: HttpRequest) -> HttpResponse:
    templates = ChecklistTemplate.objects.annotate(
        step_count=Count("steps", distinct=True),
        required_count=Count("steps", filter=Q(steps__required=True), distinct=True),
    ).prefetch_related("categories")
    return render(
        request,
        "playbooks/desk/templates.html",
        {"templates": templates, "can_edit": request.user.is_supervisor},
    )


def _template(template_id: int) -> ChecklistTemplate:
    template = ChecklistTemplate.objects.filter(pk=template_id).first()
    if template is None:
        raise Http404
    return template


@agent_required
@require_http_methods(["GET", "POST"])
def template_edit(request: HttpRequest, template_id: int | None = None) -> HttpResponse:
    """The editor (supervisors and admins); agents read the template here."""
    template = _template(template_id) if template_id else None
    if request.method == "POST" and not request.user.is_supervisor:
        raise PermissionDenied
    if template is None and not request.user.is_supervisor:
        raise PermissionDenied
    initial = {}
    if template is not None:
        initial = {
            "name": template.name,
            "description": template.description,
            "categories": list(template.categories.all()),
            "steps": TemplateForm.steps_text(template),
            "active": template.active,
        }
    form = TemplateForm(request.POST or None, initial=initial or {"active": True})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            fields = {
                "acting_user": request.user, "name": data["name"], "steps": data["steps"],
                "description": data["description"], "categories": data["categories"],
                "active": data["active"],
            }  # fmt: skip
            try:
                if template is None:
                    template = services.create_template(**fields)
                else:
                    services.update_template(template, **fields)
            except ServiceError as error:
                messages.error(request, error.message)
                status = error.status
            else:
                messages.success(request, _("Checklist saved."))
                return redirect("playbooks:template", template_id=template.pk)
        else:
            messages.error(request, first_error(form))
            status = 422
    if not request.user.is_supervisor:
        for field in form.fields.values():
            field.disabled = True
    return render(
        request,
        "playbooks/desk/template.html",
        {"form": form, "template": template, "can_edit": request.user.is_supervisor},
        status=status,
    )


@agent_required
@require_POST
def template_delete(request: HttpRequest, template_id: int) -> HttpResponse:
    template = _template(template_id)
    try:
        services.delete_template(template, acting_user=request.user)
    except ServiceError as error:
        if error.status == 403:
            raise PermissionDenied from None
        messages.error(request, error.message)
        return redirect("playbooks:template", template_id=template_id)
    messages.success(request, _("Checklist deleted."))
    return redirect("playbooks:templates")


# -- my sub-tasks -----------------------------------------------------------------------------


@agent_required
@require_GET
def my_tasks(request: HttpRequest) -> HttpResponse:
    return render(
        request, "playbooks/desk/tasks.html", {"tasks": list(services.my_subtasks(request.user))}
    )
