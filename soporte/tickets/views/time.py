"""Time tracking on the agent's ticket page: the time box (a panel), logging, changing
and deleting entries, and the start/stop timer. Each view: an agent, a form, one
service from timelog.py, back to the ticket; a refusal shows on the page (4xx)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from soporte.accounts import policy
from soporte.accounts.models import User
from soporte.lib.errors import ServiceError

from .. import panels, timelog
from ..models import Ticket
from .common import agent_required, first_error, get_ticket


class TimeEntryForm(forms.Form):
    duration = forms.CharField(label=gettext_lazy("Time spent"), max_length=40)
    note = forms.CharField(label=gettext_lazy("Note"), max_length=timelog.NOTE_MAX, required=False)
    billable = forms.BooleanField(label=gettext_lazy("Billable"), required=False)

    def clean_duration(self) -> int:
        try:
            return timelog.parse_duration(self.cleaned_data["duration"])
        except ServiceError as error:
            raise forms.ValidationError(error.message) from None


class TimerStopForm(forms.Form):
    note = forms.CharField(label=gettext_lazy("Note"), max_length=timelog.NOTE_MAX, required=False)
    billable = forms.BooleanField(label=gettext_lazy("Billable"), required=False)


def time_panel(ticket: Ticket, user: User):
    """The time box on the agent's ticket page: the agent's timer, the entries, the total
    and a form to log time."""
    if not user.is_agent:
        return None
    entries = list(ticket.time_entries.select_related("agent").order_by("created_at", "id"))
    for entry in entries:
        entry.editable = entry.agent_id == user.pk or user.is_supervisor
    return (
        "tickets/desk/_time_panel.html",
        {
            "ticket": ticket,
            "timer": timelog.running_timer(ticket, user),
            "entries": entries,
            "total": sum(entry.seconds for entry in entries),
            "billable": sum(entry.seconds for entry in entries if entry.billable),
        },
    )


panels.register(time_panel)


def _done(request: HttpRequest, number: int, form, call, success: str) -> HttpResponse:
    """Parse, call, back to the ticket; a refusal re-renders the ticket page with it."""
    from .desk import _ticket_context

    ticket = get_ticket(request.user, number)
    if form is not None and not form.is_valid():
        messages.error(request, first_error(form))
        status = 422
    else:
        try:
            call(ticket, form.cleaned_data if form is not None else {})
        except ServiceError as error:
            messages.error(request, error.message)
            status = error.status
        else:
            messages.success(request, success)
            return redirect("desk:ticket", number=number)
    context = _ticket_context(request, get_ticket(request.user, number))
    return render(request, "tickets/desk/ticket.html", context, status=status)


@agent_required
@require_POST
def log_time(request: HttpRequest, number: int) -> HttpResponse:
    return _done(
        request,
        number,
        TimeEntryForm(request.POST),
        lambda ticket, data: timelog.log_time(
            ticket,
            acting_user=request.user,
            seconds=data["duration"],
            note=data["note"],
            billable=data["billable"],
        ),  # fmt: skip
        _("Time logged."),
    )


@agent_required
@require_POST
def edit_entry(request: HttpRequest, number: int, entry_id: int) -> HttpResponse:
    def call(ticket, data):
        entry = timelog.get_entry(request.user, ticket, entry_id)
        timelog.update_entry(
            entry, acting_user=request.user, seconds=data["duration"], note=data["note"],
            billable=data["billable"],
        )  # fmt: skip

    return _done(request, number, TimeEntryForm(request.POST), call, _("Time entry changed."))


@agent_required
@require_POST
def delete_entry(request: HttpRequest, number: int, entry_id: int) -> HttpResponse:
    def call(ticket, data):
        entry = timelog.get_entry(request.user, ticket, entry_id)
        timelog.delete_entry(entry, acting_user=request.user)

    return _done(request, number, None, call, _("Time entry deleted."))


@agent_required
@require_POST
def timer_start(request: HttpRequest, number: int) -> HttpResponse:
    return _done(
        request,
        number,
        TimerStopForm(request.POST),
        lambda ticket, data: timelog.start_timer(
            ticket, acting_user=request.user, note=data["note"]
        ),
        _("Timer started."),
    )


@agent_required
@require_POST
def timer_stop(request: HttpRequest, number: int) -> HttpResponse:
    return _done(
        request,
        number,
        TimerStopForm(request.POST),
        lambda ticket, data: timelog.stop_timer(
            ticket,
            acting_user=request.user,
            note=data["note"] or None,
            billable=data["billable"],
        ),  # fmt: skip
        _("Timer stopped; the time was logged."),
    )


@agent_required
@require_POST
def timer_discard(request: HttpRequest, number: int) -> HttpResponse:
    return _done(
        request,
        number,
        None,
        lambda ticket, data: timelog.discard_timer(ticket, acting_user=request.user),
        _("Timer discarded."),
    )


def running_timers_for(user: User) -> list:
    """The agent's running timers on tickets they still see (for their home page)."""
    if not user.is_authenticated or not user.is_agent:
        return []
    return [t for t in timelog.running_timers(user) if policy.can_view(user, t.ticket)]
