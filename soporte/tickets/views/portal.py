"""The requester portal: my tickets (and my organization's when allowed), a new ticket,
the conversation without internal notes, reply, mark resolved, reopen."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from soporte.accounts import policy
from soporte.lib.errors import Conflict, ServiceError

from .. import panels, services
from ..forms import MultipleFileField, NewTicketForm
from ..models import Category
from ..queries import SUMMARY_VALUES, paginate, summaries
from .common import first_error, get_ticket, signed_in, timeline


class PortalReplyForm(forms.Form):
    body = forms.CharField(label=_("Your reply"), widget=forms.Textarea, max_length=200_000)
    files = MultipleFileField(label=_("Attachments"))


@signed_in
@require_GET
def my_tickets(request: HttpRequest) -> HttpResponse:
    tickets = policy.visible_tickets(request.user)
    try:
        page = paginate(tickets, cursor=request.GET.get("cursor"), limit=25, values=SUMMARY_VALUES)
    except ServiceError as error:
        messages.error(request, error.message)
        return redirect("portal:tickets")
    return render(
        request,
        "tickets/portal/list.html",
        {"rows": summaries(page.items), "next_cursor": page.next_cursor},
    )


@signed_in
@require_http_methods(["GET", "POST"])
def new_ticket(request: HttpRequest) -> HttpResponse:
    form = NewTicketForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            ticket = services.open_ticket(
                acting_user=request.user,
                subject=data["subject"],
                body=data["body"],
                channel="web",
                impact=data["impact"],
                urgency=data["urgency"],
                category=data["category"],
                files=data["files"],
            )
        except ServiceError as error:
            messages.error(request, error.message)
            status = error.status
        else:
            messages.success(
                request, _("Ticket #%(number)s was opened. We will answer soon.")
                % {"number": ticket.number},
            )  # fmt: skip
            return redirect("portal:ticket", number=ticket.number)
    elif form.errors:
        messages.error(request, first_error(form))
        status = 422
    return render(
        request,
        "tickets/portal/new.html",
        {
            "form": form,
            "categories": Category.objects.all(),
            "form_parts": panels.portal_form_parts(),
        },
        status=status,
    )


@signed_in
@require_GET
def category_hint(request: HttpRequest) -> HttpResponse:
    """The chosen category's guidance, swapped into the new-ticket form by htmx."""
    pk = request.GET.get("category", "")
    category = (
        Category.objects.filter(pk=int(pk)).first() if pk.isdigit() and len(pk) < 12 else None
    )
    return render(request, "tickets/portal/_category_hint.html", {"category": category})


@signed_in
@require_GET
def ticket_page(request: HttpRequest, number: int) -> HttpResponse:
    ticket = get_ticket(request.user, number)
    return render(request, "tickets/portal/ticket.html", _context(request, ticket))


def _context(request, ticket, form=None) -> dict:
    return {
        "ticket": ticket,
        "entries": timeline(request.user, ticket),
        "form": form or PortalReplyForm(),
        "panels": panels.for_portal_ticket(ticket, request.user),
    }


@signed_in
@require_POST
def reply(request: HttpRequest, number: int) -> HttpResponse:
    ticket = get_ticket(request.user, number)
    form = PortalReplyForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.reply(
                ticket, acting_user=request.user, body=form.cleaned_data["body"],
                files=form.cleaned_data["files"],
            )  # fmt: skip
        except ServiceError as error:
            messages.error(request, error.message)
            status = 409 if isinstance(error, Conflict) else error.status
            context = _context(request, get_ticket(request.user, number), form)
            return render(request, "tickets/portal/ticket.html", context, status=status)
        return redirect("portal:ticket", number=number)
    messages.error(request, first_error(form))
    return render(
        request, "tickets/portal/ticket.html", _context(request, ticket, form), status=422
    )


@signed_in
@require_POST
def mark_resolved(request: HttpRequest, number: int) -> HttpResponse:
    ticket = get_ticket(request.user, number)
    try:
        services.resolve(
            ticket, acting_user=request.user, resolution=_("Marked as resolved by the requester.")
        )
    except ServiceError as error:
        messages.error(request, error.message)
    return redirect("portal:ticket", number=number)


@signed_in
@require_POST
def reopen(request: HttpRequest, number: int) -> HttpResponse:
    ticket = get_ticket(request.user, number)
    try:
        services.reopen(
            ticket, acting_user=request.user, reason=request.POST.get("reason", "")[:2000]
        )
    except ServiceError as error:
        messages.error(request, error.message)
    return redirect("portal:ticket", number=number)
