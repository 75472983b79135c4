"""The agent workspace: home, ticket list, ticket page and its actions.

Every view: an agent signed in, input parsed by a form, one service called, a page
rendered. Service errors come back as a message on the page (4xx), never a 500.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from soporte.accounts import policy
from soporte.accounts.models import User
from soporte.lib.errors import Conflict, InvalidInput, NotFound, ServiceError

from .. import macros, panels, services, timelog, workspace
from ..forms import (
    AgentNewTicketForm,
    AssignForm,
    BulkForm,
    ComposerForm,
    MacroApplyForm,
    MacroForm,
    MergeForm,
    ReasonForm,
    ResolveForm,
    TicketFilterForm,
)
from ..models import ACTIVE_STATUSES, Category, MessageKind, SavedView, Status, TicketEvent
from ..queries import SUMMARY_VALUES, paginate, summaries
from .common import agent_required, first_error, get_ticket, timeline

PAGE_SIZE = 50


@agent_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    active = policy.visible_tickets(user).filter(status__in=ACTIVE_STATUSES)
    soon = timezone.now() + timedelta(hours=4)
    counts = active.aggregate(
        mine=Count("pk", filter=Q(assignee=user)),
        team=Count("pk", filter=Q(team_id__in=policy.team_ids(user))),
        unassigned=Count("pk", filter=Q(assignee__isnull=True)),
        breaching=Count("pk", filter=Q(due_at__lte=soon)),
    )
    cards = [
        (_("My tickets"), counts["mine"], "?assignee=me"),
        (_("My team's queue"), counts["team"], "?" + "&".join(
            f"team={pk}" for pk in sorted(policy.team_ids(user))[:1]
        )),
        (_("Unassigned"), counts["unassigned"], "?assignee=none"),
        (_("Breaching soon"), counts["breaching"], "?sort=due_at"),
    ]  # fmt: skip
    return render(request, "tickets/desk/home.html", {"cards": cards})


@agent_required
@require_GET
def ticket_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    agents = list(User.objects.filter(role__in=("agent", "supervisor", "admin"), is_active=True))
    data = request.GET.copy()
    if not any(k in data for k in ("status", "q", "assignee", "team", "sort", "view")):
        data.setlist("status", sorted(ACTIVE_STATUSES))
    form = TicketFilterForm(data, agents=agents)
    if not form.is_valid():
        messages.error(request, first_error(form))
        return render(
            request, "tickets/desk/list.html", _list_context(request, form, [], None), status=400
        )
    tickets = form.to_filter(user).apply(policy.visible_tickets(user))
    try:
        page = paginate(
            tickets,
            sort=form.cleaned_data.get("sort") or "-updated_at",
            cursor=request.GET.get("cursor"),
            limit=PAGE_SIZE,
            values=SUMMARY_VALUES,
        )
    except ServiceError as error:
        messages.error(request, error.message)
        return render(
            request, "tickets/desk/list.html", _list_context(request, form, [], None), status=400
        )
    context = _list_context(request, form, summaries(page.items), page.next_cursor)
    template = "tickets/desk/_results.html" if request.htmx else "tickets/desk/list.html"
    return render(request, template, context)


def _list_context(request, form, rows, next_cursor) -> dict:
    query = request.GET.copy()
    query.pop("cursor", None)
    next_url = None
    if next_cursor:
        query["cursor"] = next_cursor
        next_url = "?" + query.urlencode()
        query.pop("cursor")
    return {
        "form": form,
        "rows": rows,
        "next_url": next_url,
        "query": query.urlencode(),
        "saved_views": SavedView.objects.filter(owner=request.user),
        "status_choices": Status.choices,
    }


@agent_required
@require_POST
def save_view(request: HttpRequest) -> HttpResponse:
    query = QueryDict(request.POST.get("query", ""))
    try:
        view = workspace.save_view(
            acting_user=request.user, name=request.POST.get("name", ""), query=dict(query.lists())
        )
    except ServiceError as error:
        messages.error(request, error.message)
        return redirect(reverse("desk:tickets") + "?" + query.urlencode())
    messages.success(request, _("View saved."))
    return redirect(reverse("desk:tickets") + "?" + view.query)


@agent_required
@require_POST
def delete_view(request: HttpRequest, view_id: int) -> HttpResponse:
    try:
        workspace.delete_view(acting_user=request.user, view_id=view_id)
    except ServiceError as error:
        messages.error(request, error.message)
    return redirect("desk:tickets")


@agent_required
@require_POST
def bulk(request: HttpRequest) -> HttpResponse:
    numbers = [n for n in request.POST.getlist("numbers") if n.isdigit() and len(n) < 10]
    form = BulkForm(request.POST, numbers=[int(n) for n in numbers])
    back = reverse("desk:tickets") + "?" + request.POST.get("query", "")
    if not form.is_valid() or not form.cleaned_data["numbers"]:
        messages.error(request, first_error(form) if form.errors else _("Select tickets first."))
        return redirect(back)
    data, done = form.cleaned_data, 0
    tickets = policy.visible_tickets(request.user).filter(number__in=data["numbers"])
    try:
        if data["action"] == "merge":
            into = get_ticket(request.user, data["into"] or 0)
            for ticket in tickets.exclude(pk=into.pk):
                services.merge(ticket, into=into, acting_user=request.user)
                done += 1
        else:
            assignee = (
                _assignee(request.user, data["assignee"]) if data["action"] == "assign" else None
            )
            for ticket in tickets:
                if data["action"] == "assign":
                    services.assign(ticket, acting_user=request.user, assignee=assignee)
                else:
                    services.change_status(ticket, acting_user=request.user, status=data["status"])
                done += 1
    except ServiceError as error:
        messages.error(request, error.message)
    if done:
        messages.success(
            request,
            ngettext("%(count)s ticket updated.", "%(count)s tickets updated.", done)
            % {"count": done},
        )
    return redirect(back)


def _assignee(user: User, value: str) -> User | None:
    if value == "me":
        return user
    if value.isdigit() and len(value) < 16:
        found = User.objects.filter(pk=int(value)).first()
        if found is None:
            raise InvalidInput(_("That agent does not exist."))
        return found
    return None


# -- the ticket page -----------------------------------------------------------------


def _ticket_context(request: HttpRequest, ticket, **extra) -> dict:
    user = request.user
    usable = list(workspace.canned_responses(user))
    context = {
        "ticket": ticket,
        "entries": timeline(user, ticket),
        "watchers": list(ticket.watchers.all()),
        "tags": [tag.name for tag in ticket.tags.all()],
        "composer": extra.pop("composer", None)
        or ComposerForm(initial={"version": ticket.version}),
        # Inserted in the composer as text, placeholders already filled in.
        "canned": [
            (macro.title, services.render_macro(ticket, macro, acting_user=user).text)
            for macro in usable
            if macro.body
        ],
        "macros": usable,
        "agents": User.objects.filter(role__in=("agent", "supervisor", "admin"), is_active=True),
        "others": workspace.others_composing(ticket, user),
        "next_number": policy.visible_tickets(user)
        .filter(status__in=ACTIVE_STATUSES, updated_at__lt=ticket.updated_at)
        .order_by("-updated_at", "-id")
        .values_list("number", flat=True)
        .first(),
        "message_kinds": MessageKind,
        "panels": panels.for_ticket(ticket, user),
    }
    context.update(extra)
    return context


@agent_required
@require_GET
def ticket_page(request: HttpRequest, number: int) -> HttpResponse:
    ticket = get_ticket(request.user, number)
    return render(request, "tickets/desk/ticket.html", _ticket_context(request, ticket))


@agent_required
@require_POST
def compose(request: HttpRequest, number: int) -> HttpResponse:
    """Reply, note or call, with files, in one transaction; a stale version keeps the
    typed text on the page with the conflict explained (409)."""
    ticket = get_ticket(request.user, number)
    form = ComposerForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, first_error(form))
        context = _ticket_context(request, ticket, composer=form)
        return render(request, "tickets/desk/ticket.html", context, status=422)
    data = form.cleaned_data
    common = {
        "acting_user": request.user,
        "expected_version": data["version"],
        "files": data["files"],
    }
    # Optional time spent ("25m", "1h 30m", "1:30"), logged with the message or not at all.
    spent = request.POST.get("time_spent", "").strip()
    try:
        seconds = timelog.parse_duration(spent) if spent else None
        with transaction.atomic():
            if data["kind"] == MessageKind.REPLY:
                message = services.reply(
                    ticket, body=data["body"], status=data["status"] or None, **common
                )
            elif data["kind"] == MessageKind.NOTE:
                message = services.add_note(ticket, body=data["body"], **common)
            else:
                minutes = data.get("duration_minutes")
                message = services.log_call(
                    ticket,
                    body=data["body"],
                    direction=data.get("direction") or "inbound",
                    duration_seconds=minutes * 60 if minutes is not None else None,
                    **common,
                )
            if seconds:
                timelog.log_time(
                    ticket, acting_user=request.user, seconds=seconds, message=message,
                    billable=bool(request.POST.get("time_billable")),
                )  # fmt: skip
    except ServiceError as error:
        messages.error(request, error.message)
        status = 409 if isinstance(error, Conflict) else error.status
        fresh = get_ticket(request.user, number)
        context = _ticket_context(
            request, fresh, composer=form, conflict=isinstance(error, Conflict)
        )
        return render(request, "tickets/desk/ticket.html", context, status=status)
    workspace.clear_composing(ticket, request.user)
    return redirect("desk:ticket", number=number)


def _action(request: HttpRequest, number: int, form_class, call) -> HttpResponse:
    """Shared shape of the one-click actions: parse, call, back to the ticket."""
    ticket = get_ticket(request.user, number)
    form = form_class(request.POST)
    if not form.is_valid():
        messages.error(request, first_error(form))
        context = _ticket_context(request, ticket)
        return render(request, "tickets/desk/ticket.html", context, status=422)
    try:
        call(ticket, form.cleaned_data)
    except ServiceError as error:
        messages.error(request, error.message)
        context = _ticket_context(request, get_ticket(request.user, number))
        # What the agent typed (a resolution summary, a reason) stays in its box.
        context["kept"] = {**request.POST.dict(), "action": request.resolver_match.url_name}
        return render(request, "tickets/desk/ticket.html", context, status=error.status)
    if not policy.can_view(request.user, ticket):
        # E.g. escalated to a team this agent is not in: say where it went.
        messages.success(
            request,
            _("Ticket #%(number)s moved to %(team)s.")
            % {"number": number, "team": ticket.team or _("the unassigned queue")},
        )
        return redirect("desk:tickets")
    return redirect("desk:ticket", number=number)


@agent_required
@require_POST
def assign(request: HttpRequest, number: int) -> HttpResponse:
    return _action(request, number, AssignForm, lambda t, d: services.assign(
        t, acting_user=request.user, assignee=_assignee(request.user, d["assignee"]),
        expected_version=d["version"],
    ))  # fmt: skip


@agent_required
@require_POST
def escalate(request: HttpRequest, number: int) -> HttpResponse:
    return _action(request, number, ReasonForm, lambda t, d: services.escalate(
        t, acting_user=request.user, reason=d["reason"], expected_version=d["version"],
    ))  # fmt: skip


@agent_required
@require_POST
def deescalate(request: HttpRequest, number: int) -> HttpResponse:
    return _action(request, number, ReasonForm, lambda t, d: services.deescalate(
        t, acting_user=request.user, reason=d["reason"], expected_version=d["version"],
    ))  # fmt: skip


@agent_required
@require_POST
def resolve(request: HttpRequest, number: int) -> HttpResponse:
    return _action(request, number, ResolveForm, lambda t, d: services.resolve(
        t, acting_user=request.user, resolution=d["resolution"], expected_version=d["version"],
    ))  # fmt: skip


class _ReopenForm(ReasonForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].required = False


@agent_required
@require_POST
def reopen(request: HttpRequest, number: int) -> HttpResponse:
    return _action(request, number, _ReopenForm, lambda t, d: services.reopen(
        t, acting_user=request.user, reason=d.get("reason", ""), expected_version=d["version"],
    ))  # fmt: skip


@agent_required
@require_POST
def merge(request: HttpRequest, number: int) -> HttpResponse:
    def call(ticket, data):
        into = get_ticket(request.user, data["into"])
        services.merge(
            ticket, into=into, acting_user=request.user, expected_version=data["version"]
        )

    response = _action(request, number, MergeForm, call)
    if response.status_code == 302 and request.POST.get("into", "").isdigit():
        return redirect("desk:ticket", number=int(request.POST["into"]))
    return response


@agent_required
@require_POST
def apply_macro(request: HttpRequest, number: int) -> HttpResponse:
    """One click: the macro's reply or note and its changes; back to the ticket."""

    def call(ticket, data):
        macro = workspace.get_macro(request.user, data["macro"])
        result = services.apply_macro(
            ticket, macro, acting_user=request.user, expected_version=data["version"]
        )
        messages.success(request, _("Macro %(title)s applied.") % {"title": macro.title})
        if result.unknown_placeholders:
            messages.warning(
                request,
                _("Left as typed, not known: %(names)s.")
                % {"names": ", ".join(result.unknown_placeholders)},
            )

    return _action(request, number, MacroApplyForm, call)


@agent_required
@require_GET
def macro_preview(request: HttpRequest, number: int) -> HttpResponse:
    """What applying the chosen macro would post and change (a fragment for htmx)."""
    ticket = get_ticket(request.user, number)
    value = request.GET.get("macro", "")
    if not value:
        return HttpResponse("")
    try:
        macro = workspace.get_macro(request.user, int(value) if value.isdigit() else 0)
    except NotFound as error:
        return HttpResponse(error.message, status=404, content_type="text/plain")
    rendered = services.render_macro(ticket, macro, acting_user=request.user)
    return render(
        request,
        "tickets/desk/_macro_preview.html",
        {"macro": macro, "rendered": rendered, "changes": macros.changes(macro),
         "posts": macros.posts(macro)},
    )  # fmt: skip


# -- macros -------------------------------------------------------------------------


def _macro_page(request: HttpRequest, form: MacroForm, status: int = 200) -> HttpResponse:
    user = request.user
    rows = [
        (macro, workspace.can_manage_macro(user, macro), macros.posts(macro), macros.changes(macro))
        for macro in workspace.canned_responses(user).select_related("owner")
    ]
    context = {"form": form, "rows": rows, "placeholders": macros.PLACEHOLDERS}
    return render(request, "tickets/desk/macros.html", context, status=status)


@agent_required
@require_http_methods(["GET", "POST"])
def macro_list(request: HttpRequest) -> HttpResponse:
    """The macros the agent may use (shared and theirs), and a form for a new one."""
    form = MacroForm(request.POST or None, can_share=request.user.is_supervisor)
    if request.method != "POST":
        return _macro_page(request, form)
    if not form.is_valid():
        return _macro_page(request, form, status=422)
    try:
        macro = workspace.create_macro(acting_user=request.user, **form.to_service())
    except ServiceError as error:
        messages.error(request, error.message)
        return _macro_page(request, form, status=error.status)
    messages.success(request, _("Macro %(title)s saved.") % {"title": macro.title})
    return redirect("desk:macros")


@agent_required
@require_http_methods(["GET", "POST"])
def macro_edit(request: HttpRequest, macro_id: int) -> HttpResponse:
    user = request.user
    try:
        macro = workspace.get_macro(user, macro_id)
    except NotFound:
        raise Http404 from None
    if not workspace.can_manage_macro(user, macro):
        raise PermissionDenied
    form = MacroForm(
        request.POST or None, initial=MacroForm.initial_for(macro), can_share=user.is_supervisor
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                workspace.update_macro(macro, acting_user=user, **form.to_service())
            except ServiceError as error:
                messages.error(request, error.message)
                status = error.status
            else:
                messages.success(request, _("Macro %(title)s saved.") % {"title": macro.title})
                return redirect("desk:macros")
        else:
            status = 422
    context = {"form": form, "macro": macro, "placeholders": macros.PLACEHOLDERS}
    return render(request, "tickets/desk/macro_edit.html", context, status=status)


@agent_required
@require_POST
def macro_delete(request: HttpRequest, macro_id: int) -> HttpResponse:
    try:
        macro = workspace.get_macro(request.user, macro_id)
        workspace.delete_macro(macro, acting_user=request.user)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Macro %(title)s deleted.") % {"title": macro.title})
    return redirect("desk:macros")


@agent_required
@require_GET
def history(request: HttpRequest, number: int) -> HttpResponse:
    """The audit trail: a fragment for the ticket page (htmx), else a page of its own."""
    ticket = get_ticket(request.user, number)
    events = TicketEvent.objects.filter(ticket=ticket).select_related("actor")
    template = "tickets/desk/_history.html" if request.htmx else "tickets/desk/history.html"
    return render(request, template, {"ticket": ticket, "events": events})


@agent_required
@require_GET
def activity(request: HttpRequest, number: int) -> HttpResponse:
    """Polled by the ticket page: has the ticket changed, is anyone else replying?"""
    ticket = get_ticket(request.user, number)
    seen = request.GET.get("version", "")
    changed = seen.isdigit() and int(seen) != ticket.version
    last = (
        TicketEvent.objects.filter(ticket=ticket).select_related("actor").order_by("-id").first()
        if changed
        else None
    )
    return render(
        request,
        "tickets/desk/_activity.html",
        {"ticket": ticket, "changed": changed, "last": last,
         "others": workspace.others_composing(ticket, request.user)},
    )  # fmt: skip


@agent_required
@require_POST
def composing(request: HttpRequest, number: int) -> HttpResponse:
    ticket = get_ticket(request.user, number)
    workspace.mark_composing(ticket, acting_user=request.user)
    return HttpResponse(status=204)


@agent_required
def new_ticket(request: HttpRequest) -> HttpResponse:
    """An agent opens a ticket for someone, e.g. while on the phone with them."""
    form = AgentNewTicketForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            ticket = services.open_ticket(
                acting_user=request.user,
                requester=data["requester"],
                subject=data["subject"],
                body=data["body"],
                channel=data["channel"],
                impact=data["impact"],
                urgency=data["urgency"],
                category=data["category"],
                team=data["team"],
                files=data["files"],
            )
        except ServiceError as error:
            messages.error(request, error.message)
            status = error.status
        else:
            return redirect("desk:ticket", number=ticket.number)
    elif form.errors:
        status = 422
    categories = Category.objects.all()
    return render(
        request, "tickets/desk/new.html", {"form": form, "categories": categories}, status=status
    )
