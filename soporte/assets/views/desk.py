"""The agents' asset pages: list, asset page, edit, software, cabling, ticket links,
CSV import (with its progress bar) and export, cabling report, maintenance, licences,
and (admins) enrollment tokens.

Every view: an agent signed in, a form parses, one service runs, a page renders; service
errors come back as a message with their 4xx status, never a 500.
"""

from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from soporte.accounts import policy as accounts_policy
from soporte.accounts.models import User
from soporte.lib.errors import InvalidInput, NotFound, ServiceError
from soporte.tickets.views.common import agent_required, first_error, submitted

from .. import cabling, imports, maintenance, policy, queries, services
from ..forms import (
    AssetFilterForm,
    AssetForm,
    CompleteForm,
    ImportForm,
    InstallForm,
    LinkAssetForm,
    LinkTicketForm,
    PatchForm,
    PlanForm,
    TokenForm,
)
from ..models import (
    Asset,
    EnrollmentToken,
    ImportRun,
    MaintenancePlan,
    MaintenanceTask,
    Port,
    SoftwareProduct,
    TaskStatus,
)

PAGE_SIZE = 50


def _asset(request: HttpRequest, asset_id: int) -> Asset:
    try:
        return policy.get_visible_asset(request.user, asset_id)
    except NotFound:
        raise Http404 from None


def _fail(request: HttpRequest, error: ServiceError, to: str, *args) -> HttpResponse:
    """The service's message on the page the person came from, with its 4xx status."""
    messages.error(request, error.message)
    response = redirect(to, *args)
    if request.htmx:
        return response
    # A redirect cannot carry a 4xx: render the message on a small page instead.
    return render(request, "assets/desk/error.html", {"back": response.url}, status=error.status)


def _filter(form: AssetFilterForm) -> queries.AssetFilter:
    data = form.cleaned_data
    stale = {"1": True, "0": False}.get(data.get("stale") or "")
    return queries.AssetFilter(
        q=data.get("q") or "",
        kind=data.get("kind") or "",
        status=data.get("status") or "",
        location=data["location"].pk if data.get("location") else None,
        stale=stale,
    )


@agent_required
@require_GET
def asset_list(request: HttpRequest) -> HttpResponse:
    form = AssetFilterForm(request.GET)
    rows: list = []
    next_url = None
    status = 200
    if form.is_valid():
        assets = _filter(form).apply(policy.visible_assets(request.user))
        try:
            page = queries.paginate(assets, cursor=request.GET.get("cursor"), limit=PAGE_SIZE)
        except ServiceError as error:
            messages.error(request, error.message)
            status = error.status
        else:
            rows = queries.summaries(page.items)
            if page.next_cursor:
                query = request.GET.copy()
                query["cursor"] = page.next_cursor
                next_url = "?" + query.urlencode()
    else:
        messages.error(request, first_error(form))
        status = 400
    query = request.GET.copy()
    query.pop("cursor", None)
    context = {"form": form, "rows": rows, "next_url": next_url, "query": query.urlencode()}
    template = "assets/desk/_results.html" if request.htmx else "assets/desk/list.html"
    return render(request, template, context, status=status)


def _form_fields(data: dict) -> dict:
    """The form's values as service fields: names and tags become rows."""
    fields = {k: v for k, v in data.items() if k not in ("version", "owner", "attached_to")}
    fields["location"] = services.location_named(data["location"]) if data["location"] else None
    owner = data.get("owner") or ""
    fields["owner"] = None
    if owner:
        found = services.users_by_name([owner])
        fields["owner"] = found.get(owner) or found.get(owner.lower())
        if fields["owner"] is None:
            raise InvalidInput(_("No user %(name)s.") % {"name": owner})
    tag = data.get("attached_to") or ""
    fields["attached_to"] = None
    if tag:
        fields["attached_to"] = Asset.objects.filter(tag=tag).first()
        if fields["attached_to"] is None:
            raise InvalidInput(_("No asset tagged %(tag)s.") % {"tag": tag})
    return fields


@agent_required
@require_http_methods(["GET", "POST"])
def asset_new(request: HttpRequest) -> HttpResponse:
    form = AssetForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = dict(form.cleaned_data)
            try:
                with transaction.atomic():
                    fields = _form_fields(data)
                    tag, asset_type = fields.pop("tag"), fields.pop("type")
                    asset = services.create_asset(
                        acting_user=request.user, tag=tag, type=asset_type, **fields
                    )
            except ServiceError as error:
                messages.error(request, error.message)
                status = error.status
            else:
                messages.success(request, _("Asset %(tag)s recorded.") % {"tag": asset.tag})
                return redirect("assets:asset", asset.pk)
        else:
            messages.error(request, first_error(form))
            status = 422
    return render(request, "assets/desk/edit.html", {"form": form, "asset": None}, status=status)


@agent_required
@require_http_methods(["GET", "POST"])
def asset_edit(request: HttpRequest, asset_id: int) -> HttpResponse:
    asset = _asset(request, asset_id)
    initial = {name: getattr(asset, name) for name in services.EDITABLE}
    initial.update(
        location=asset.location.name if asset.location else "",
        owner=asset.owner.username if asset.owner else "",
        attached_to=asset.attached_to.tag if asset.attached_to else "",
        version=asset.version,
    )
    form = AssetForm(request.POST or None, initial=initial)

    @transaction.atomic
    def save(data: dict) -> None:
        fields = _form_fields(dict(data))
        services.update_asset(
            asset, acting_user=request.user, expected_version=data.get("version"), **fields
        )

    saved, status = submitted(request, form, save, _("Saved."))
    if saved:
        return redirect("assets:asset", asset.pk)
    return render(request, "assets/desk/edit.html", {"form": form, "asset": asset}, status=status)


@agent_required
@require_GET
def asset_page(request: HttpRequest, asset_id: int) -> HttpResponse:
    asset = _asset(request, asset_id)
    software = services.installed_software(asset)
    context = {
        "asset": asset,
        "children": list(asset.attachments.select_related("type")),
        "software": software[:300],
        "software_count": len(software),
        "traces": cabling.traces(asset),
        "tickets": list(services.asset_tickets(request.user, asset)[:50]),
        "events": list(asset.events.select_related("actor").order_by("-at", "-id")[:100]),
        "tasks": list(asset.maintenance_tasks.select_related("plan", "ticket")[:20]),
        "install_form": InstallForm(),
        "patch_form": PatchForm(),
        "link_form": LinkTicketForm(),
    }
    return render(request, "assets/desk/asset.html", context)


@agent_required
@require_POST
def install(request: HttpRequest, asset_id: int) -> HttpResponse:
    asset = _asset(request, asset_id)
    form = InstallForm(request.POST)
    if not form.is_valid():
        return _fail(request, InvalidInput(first_error(form)), "assets:asset", asset.pk)
    data = form.cleaned_data
    try:
        with transaction.atomic():
            product = services.product_named(data["name"], data["vendor"])
            services.install_software(
                asset, acting_user=request.user, product=product, version=data["version"]
            )
    except ServiceError as error:
        return _fail(request, error, "assets:asset", asset.pk)
    return redirect("assets:asset", asset.pk)


@agent_required
@require_POST
def uninstall(request: HttpRequest, asset_id: int, product_id: int) -> HttpResponse:
    asset = _asset(request, asset_id)
    product = SoftwareProduct.objects.filter(pk=product_id).first()
    if product is None:
        raise Http404
    try:
        services.uninstall_software(asset, acting_user=request.user, product=product)
    except ServiceError as error:
        return _fail(request, error, "assets:asset", asset.pk)
    return redirect("assets:asset", asset.pk)


@agent_required
@require_POST
def patch(request: HttpRequest, asset_id: int) -> HttpResponse:
    asset = _asset(request, asset_id)
    form = PatchForm(request.POST)
    if not form.is_valid():
        return _fail(request, InvalidInput(first_error(form)), "assets:asset", asset.pk)
    data = form.cleaned_data
    try:
        with transaction.atomic():
            other = Asset.objects.filter(tag=data["other_tag"]).first()
            if other is None:
                raise InvalidInput(_("No asset tagged %(tag)s.") % {"tag": data["other_tag"]})
            cabling.patch(
                cabling.get_port(asset, data["port"]),
                cabling.get_port(other, data["other_port"]),
                acting_user=request.user,
            )
    except ServiceError as error:
        return _fail(request, error, "assets:asset", asset.pk)
    return redirect("assets:asset", asset.pk)


@agent_required
@require_POST
def unpatch(request: HttpRequest, asset_id: int, port_id: int) -> HttpResponse:
    asset = _asset(request, asset_id)
    port = Port.objects.filter(pk=port_id, asset=asset).first()
    if port is None:
        raise Http404
    try:
        cabling.unpatch(port, acting_user=request.user)
    except ServiceError as error:
        return _fail(request, error, "assets:asset", asset.pk)
    return redirect("assets:asset", asset.pk)


@agent_required
@require_POST
def link_ticket(request: HttpRequest, asset_id: int) -> HttpResponse:
    """From the asset page: link a ticket by its number."""
    asset = _asset(request, asset_id)
    form = LinkTicketForm(request.POST)
    if not form.is_valid():
        return _fail(request, InvalidInput(first_error(form)), "assets:asset", asset.pk)
    try:
        ticket = accounts_policy.get_visible_ticket(request.user, form.cleaned_data["number"])
        services.link_ticket(asset, ticket, acting_user=request.user)
    except ServiceError as error:
        return _fail(request, error, "assets:asset", asset.pk)
    return redirect("assets:asset", asset.pk)


@agent_required
@require_POST
def ticket_link(request: HttpRequest, number: int) -> HttpResponse:
    """From the ticket page's assets box: link an asset by its tag."""
    form = LinkAssetForm(request.POST)
    try:
        if not form.is_valid():
            raise InvalidInput(first_error(form))
        ticket = accounts_policy.get_visible_ticket(request.user, number)
        asset = policy.visible_assets(request.user).filter(tag=form.cleaned_data["tag"]).first()
        if asset is None:
            raise InvalidInput(_("No asset tagged %(tag)s.") % {"tag": form.cleaned_data["tag"]})
        services.link_ticket(asset, ticket, acting_user=request.user)
    except NotFound as error:
        if "Ticket" in error.message:
            raise Http404 from None
        return _fail(request, error, "desk:ticket", number)
    except ServiceError as error:
        return _fail(request, error, "desk:ticket", number)
    return redirect("desk:ticket", number)


@agent_required
@require_POST
def ticket_unlink(request: HttpRequest, number: int, asset_id: int) -> HttpResponse:
    asset = _asset(request, asset_id)
    try:
        ticket = accounts_policy.get_visible_ticket(request.user, number)
    except NotFound:
        raise Http404 from None
    try:
        services.unlink_ticket(asset, ticket, acting_user=request.user)
    except ServiceError as error:
        return _fail(request, error, "desk:ticket", number)
    return redirect("desk:ticket", number)


# -- import and export ------------------------------------------------------------------


@agent_required
@require_http_methods(["GET", "POST"])
def import_page(request: HttpRequest) -> HttpResponse:
    form = ImportForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                if upload.size > imports.MAX_BYTES:
                    raise InvalidInput(_("The file is larger than 20 MB; split it."))
                run = imports.start_import(
                    acting_user=request.user, kind=form.cleaned_data["kind"],
                    content=upload.read(), filename=upload.name or "",
                )  # fmt: skip
            except ServiceError as error:
                messages.error(request, error.message)
                status = error.status
            else:
                return redirect("assets:import_run", run.pk)
        else:
            messages.error(request, first_error(form))
            status = 422
    runs = ImportRun.objects.defer("content").select_related("created_by")[:10]
    return render(request, "assets/desk/import.html", {"form": form, "runs": runs}, status=status)


@agent_required
@require_GET
def import_run(request: HttpRequest, run_id: int) -> HttpResponse:
    run = ImportRun.objects.defer("content").filter(pk=run_id).first()
    if run is None:
        raise Http404
    template = "assets/desk/_progress.html" if request.htmx else "assets/desk/import_run.html"
    return render(request, template, {"run": run})


@agent_required
@require_GET
def export(request: HttpRequest) -> HttpResponse:
    form = AssetFilterForm(request.GET)
    if not form.is_valid():
        return _fail(request, InvalidInput(first_error(form)), "assets:list")
    assets = _filter(form).apply(policy.visible_assets(request.user))
    response = StreamingHttpResponse(
        imports.export_lines(assets), content_type="text/csv; charset=utf-8"
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="assets-{stamp}.csv"'
    return response


# -- cabling, licences, maintenance, tokens ------------------------------------------------


@agent_required
@require_GET
def cabling_report(request: HttpRequest) -> HttpResponse:
    found = cabling.report()
    return render(
        request, "assets/desk/cabling.html", {"report": found, "form": ImportForm(
            initial={"kind": "certifications"})},
    )  # fmt: skip


@agent_required
@require_GET
def licences(request: HttpRequest) -> HttpResponse:
    products = SoftwareProduct.objects.filter(licensed=True).order_by("name")[:500]
    rows = [services.licence_use(product) for product in products]
    return render(request, "assets/desk/licences.html", {"rows": rows})


@agent_required
@require_http_methods(["GET", "POST"])
def maintenance_page(request: HttpRequest) -> HttpResponse:
    form = PlanForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                tags = [t.strip() for t in data["asset_tags"].split(",") if t.strip()]
                assets = list(Asset.objects.filter(tag__in=tags))
                missing = set(tags) - {a.tag for a in assets}
                if missing:
                    raise InvalidInput(_("No asset tagged %(tag)s.") % {"tag": sorted(missing)[0]})
                starts_at = data["starts_at"]
                if timezone.is_naive(starts_at):
                    starts_at = timezone.make_aware(starts_at)
                maintenance.save_plan(
                    acting_user=request.user, name=data["name"], rrule_text=data["rrule"],
                    starts_at=starts_at, lead_days=data["lead_days"],
                    checklist=[line.strip() for line in data["checklist"].splitlines()
                               if line.strip()],
                    assets=assets, asset_type=data["asset_type"], location=data["location"],
                    team=data["team"],
                )  # fmt: skip
            except ServiceError as error:
                messages.error(request, error.message)
                status = error.status
            else:
                messages.success(request, _("Plan saved."))
                return redirect("assets:maintenance")
        else:
            messages.error(request, first_error(form))
            status = 422
    elif not form.is_bound:
        form.initial["checklist"] = "\n".join(maintenance.DEFAULT_CHECKLIST)
    plans = MaintenancePlan.objects.select_related("asset_type", "location", "team")[:200]
    upcoming = MaintenanceTask.objects.filter(status=TaskStatus.OPEN, due_at__gte=timezone.now())
    context = {
        "form": form,
        "plans": plans,
        "overdue": list(maintenance.overdue()[:200]),
        "upcoming": list(
            upcoming.select_related("plan", "asset", "ticket").order_by("due_at")[:50]
        ),
    }
    return render(request, "assets/desk/maintenance.html", context, status=status)


@agent_required
@require_http_methods(["GET", "POST"])
def task_page(request: HttpRequest, task_id: int) -> HttpResponse:
    try:
        task = maintenance.get_task(task_id)
    except NotFound:
        raise Http404 from None
    form = CompleteForm(request.POST or None, checklist=task.plan.checklist)

    def save(data: dict) -> None:
        done = set(data["done"])
        maintenance.complete_task(
            task, acting_user=request.user,
            results={item: item in done for item in task.plan.checklist}, notes=data["notes"],
        )  # fmt: skip

    saved, status = submitted(request, form, save, _("Maintenance recorded as done."))
    if saved:
        return redirect("assets:asset", task.asset_id)
    return render(request, "assets/desk/task.html", {"task": task, "form": form}, status=status)


@agent_required
@require_http_methods(["GET", "POST"])
def tokens(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    if not user.is_admin:
        messages.error(request, _("Only administrators may do this."))
        return render(request, "assets/desk/error.html", {"back": "/desk/assets/"}, status=403)
    form = TokenForm(request.POST or None)
    key = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                _token, key = services.create_enrollment_token(
                    acting_user=user, name=form.cleaned_data["name"],
                    organization=form.cleaned_data["organization"],
                )  # fmt: skip
            except ServiceError as error:
                messages.error(request, error.message)
                status = error.status
        else:
            messages.error(request, first_error(form))
            status = 422
    context = {
        "form": TokenForm() if key else form,
        "key": key,
        "tokens": EnrollmentToken.objects.select_related("organization")[:200],
        "server": request.build_absolute_uri("/").rstrip("/"),
    }
    return render(request, "assets/desk/tokens.html", context, status=status)


@agent_required
@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    try:
        services.revoke_enrollment_token(acting_user=request.user, token_id=token_id)
    except ServiceError as error:
        return _fail(request, error, "assets:tokens")
    return redirect("assets:tokens")
