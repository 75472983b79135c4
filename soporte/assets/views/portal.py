"""Requesters' asset pages: the assets they own, each with its tickets, and the asset
picker the portal's new-ticket form loads (htmx) with the form that files the ticket
about the asset picked."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from soporte.lib.errors import NotFound, ServiceError
from soporte.tickets.forms import NewTicketForm
from soporte.tickets.views.common import first_error, signed_in

from .. import policy, queries, services
from ..models import AssetStatus

PAGE_SIZE = 50


@signed_in
@require_GET
def my_assets(request: HttpRequest) -> HttpResponse:
    assets = policy.visible_assets(request.user).filter(owner=request.user)
    try:
        page = queries.paginate(assets, cursor=request.GET.get("cursor"), limit=PAGE_SIZE)
    except ServiceError as error:
        messages.error(request, error.message)
        return redirect("myassets:list")
    return render(
        request,
        "assets/portal/list.html",
        {"rows": queries.summaries(page.items), "next_cursor": page.next_cursor},
    )


@signed_in
@require_GET
def my_asset(request: HttpRequest, asset_id: int) -> HttpResponse:
    try:
        asset = policy.get_visible_asset(request.user, asset_id)
    except NotFound:
        raise Http404 from None
    if asset.owner_id != request.user.pk:
        raise Http404  # agents have the desk's page
    tickets = list(services.asset_tickets(request.user, asset)[:50])
    return render(request, "assets/portal/asset.html", {"asset": asset, "tickets": tickets})


@signed_in
@require_GET
def offer(request: HttpRequest) -> HttpResponse:
    """The requester's assets as a choice on the new-ticket form (loaded by htmx); the
    script beside it sends the form here when one is picked."""
    assets = list(
        policy.visible_assets(request.user)
        .filter(owner=request.user)
        .exclude(status=AssetStatus.RETIRED)
        .select_related("type")
        .order_by("tag")[:200]
    )
    return render(
        request, "assets/portal/_offer.html", {"assets": assets, "chosen": request.GET.get("asset")}
    )


@signed_in
@require_POST
def new_ticket(request: HttpRequest) -> HttpResponse:
    """The portal's new-ticket form, sent here when the requester picked an asset: the
    ticket opens through the tickets service and is linked, together."""
    form = NewTicketForm(request.POST, request.FILES)
    asset_id = request.POST.get("asset", "")
    if not form.is_valid():
        messages.error(request, first_error(form))
        return render(request, "assets/portal/new_failed.html", status=422)
    try:
        asset = (
            policy.get_visible_asset(request.user, int(asset_id)) if asset_id.isdigit() else None
        )
        if asset is None or asset.owner_id != request.user.pk:
            raise NotFound(_("Choose one of your assets, or none."))
        data = form.cleaned_data
        ticket = services.open_ticket_about(
            asset, acting_user=request.user, subject=data["subject"], body=data["body"],
            channel="web", impact=data["impact"], urgency=data["urgency"],
            category=data["category"], files=data["files"],
        )  # fmt: skip
    except ServiceError as error:
        messages.error(request, error.message)
        return render(request, "assets/portal/new_failed.html", status=error.status)
    messages.success(
        request, _("Ticket #%(number)s was opened about %(asset)s. We will answer soon.")
        % {"number": ticket.number, "asset": asset.tag},
    )  # fmt: skip
    return redirect("portal:ticket", number=ticket.number)
