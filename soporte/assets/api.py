"""/api/v1/assets: the configuration database, the inventory agent's intake, cabling,
licences and preventive maintenance. Agents (and up) see and change everything; a
requester reads only the assets they own."""

from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest, StreamingHttpResponse
from ninja import File, Form, Query, Router
from ninja import Status as HttpStatus
from ninja.files import UploadedFile
from pydantic import ValidationError

from soporte.accounts import policy as accounts_policy
from soporte.accounts.models import Organization, Team, User
from soporte.lib.errors import InvalidInput, NotFound, PermissionDenied
from soporte.lib.schema import Id, Number

from . import cabling, imports, inventory, maintenance, policy, queries, services
from .models import (
    Asset,
    AssetType,
    CableLink,
    EnrollmentToken,
    ImportKind,
    ImportRun,
    Location,
    MaintenancePlan,
    Port,
    SoftwareProduct,
)
from .schemas import (
    AssetEventOut,
    AssetIn,
    AssetOut,
    AssetPage,
    AssetPatch,
    AssetQuery,
    CablingReportOut,
    CertificationOut,
    CompleteIn,
    EnrollmentCreated,
    EnrollmentIn,
    EnrollmentOut,
    ImportOut,
    InstallationOut,
    InstallIn,
    InventoryIn,
    InventoryOut,
    LicenceIn,
    LicenceUseOut,
    LinkIn,
    PatchIn,
    PlanIn,
    PlanOut,
    TaskOut,
    TicketRef,
    TraceOut,
    TypeIn,
    TypeOut,
)

router = Router(tags=["assets"])

CSV_RESPONSE = {
    "responses": {
        "200": {
            "description": "CSV, the columns the import reads",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        }
    }
}


def _row(model, pk: int | None, what: str):
    if pk is None:
        return None
    row = model.objects.filter(pk=pk).first()
    if row is None:
        raise InvalidInput(f"{what} {pk} does not exist.")
    return row


NULLABLE = frozenset({"ram_mb", "purchase_date", "warranty_end"})


def _fields(data: dict) -> dict:
    """API fields -> service fields: ids become rows (a missing one is a 422)."""
    fields = {}
    for key, value in data.items():
        if key == "type_id":
            if value is None:
                raise InvalidInput("An asset has a type.")
            fields["type"] = _row(AssetType, value, "Type")
        elif key == "owner_id":
            fields["owner"] = _row(User, value, "User")
        elif key == "organization_id":
            fields["organization"] = _row(Organization, value, "Organization")
        elif key == "attached_to_id":
            fields["attached_to"] = _row(Asset, value, "Asset")
        elif key == "location":
            fields["location"] = services.location_named(value) if value else None
        elif key in ("disks", "interfaces"):
            fields[key] = value or []
        elif key == "custom":
            fields[key] = value or {}
        elif key in NULLABLE:
            fields[key] = value
        elif key != "version":
            fields[key] = value if value is not None else ""
    return fields


def _filter(query: AssetQuery) -> queries.AssetFilter:
    return queries.AssetFilter(
        q=query.q, kind=query.kind or "", status=query.status or "", type=query.type,
        location=query.location, organization=query.organization, owner=query.owner,
        stale=query.stale,
    )  # fmt: skip


def _asset(request: HttpRequest, asset_id: int) -> Asset:
    return policy.get_visible_asset(request.auth, asset_id)


def _agent_asset(request: HttpRequest, asset_id: int) -> Asset:
    """Agent-only reads: a requester is refused (403) on their own asset, and told
    another's is absent (404)."""
    asset = _asset(request, asset_id)
    accounts_policy.require_agent(request.auth)
    return asset


# -- assets -------------------------------------------------------------------------------


@router.get("", response=AssetPage, summary="Assets, in tag order (requesters: their own)")
def list_assets(request: HttpRequest, query: Query[AssetQuery]):
    page = queries.paginate(
        _filter(query).apply(policy.visible_assets(request.auth)),
        cursor=query.cursor,
        limit=query.limit,
    )
    return {"items": queries.summaries(page.items), "next_cursor": page.next_cursor}


@router.post("", response={201: AssetOut}, summary="Record an asset (agents)")
def create_asset(request: HttpRequest, body: AssetIn):
    accounts_policy.require_agent(request.auth)
    fields = _fields(body.model_dump(exclude_unset=True))
    tag, asset_type = fields.pop("tag"), fields.pop("type")
    asset = services.create_asset(acting_user=request.auth, tag=tag, type=asset_type, **fields)
    return HttpStatus(201, _asset(request, asset.pk))


# -- types, export, imports -------------------------------------------------------------


@router.get("/types", response=list[TypeOut], summary="Asset types and their schemas")
def list_types(request: HttpRequest):
    return AssetType.objects.all()[:1000]


@router.post("/types", response={201: TypeOut}, summary="Create a type (admins)")
def create_type(request: HttpRequest, body: TypeIn):
    asset_type = services.save_type(
        acting_user=request.auth, name=body.name, kind=body.kind, schema=body.custom_schema
    )
    return HttpStatus(201, asset_type)


@router.put("/types/{type_id}", response=TypeOut, summary="Replace a type (admins)")
def replace_type(request: HttpRequest, type_id: Id, body: TypeIn):
    accounts_policy.require_admin(request.auth)
    asset_type = AssetType.objects.filter(pk=type_id).first()
    if asset_type is None:
        raise NotFound(f"Type {type_id} not found.")
    return services.save_type(
        acting_user=request.auth, name=body.name, kind=body.kind, schema=body.custom_schema,
        asset_type=asset_type,
    )  # fmt: skip


@router.get("/export", summary="Export assets as CSV (agents)", openapi_extra=CSV_RESPONSE)
def export(request: HttpRequest, query: Query[AssetQuery]):
    accounts_policy.require_agent(request.auth)
    response = StreamingHttpResponse(
        imports.export_lines(_filter(query).apply(policy.visible_assets(request.auth))),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = 'attachment; filename="assets.csv"'
    return response


@router.post("/imports", response={202: ImportOut}, summary="Import a CSV file (agents)")
def start_import(request: HttpRequest, file: File[UploadedFile], kind: Form[ImportKind]):
    accounts_policy.require_agent(request.auth)
    if file.size and file.size > imports.MAX_BYTES:
        raise InvalidInput("The file is larger than 20 MB; split it.")
    run = imports.start_import(
        acting_user=request.auth, kind=kind, content=file.read(), filename=file.name or ""
    )
    run.refresh_from_db()
    return HttpStatus(202, run)


@router.get("/imports/{run_id}", response=ImportOut, summary="An import's progress and errors")
def read_import(request: HttpRequest, run_id: Id):
    accounts_policy.require_agent(request.auth)
    run = ImportRun.objects.filter(pk=run_id).first()
    if run is None:
        raise NotFound(f"Import {run_id} not found.")
    return run


# -- the inventory agent -----------------------------------------------------------------


def _inline(schema: dict) -> dict:
    """A JSON Schema with its $defs written in place (OpenAPI has no $defs of its own)."""
    defs = schema.pop("$defs", {})

    def walk(node):
        if isinstance(node, dict):
            if "$ref" in node:
                return walk(dict(defs[node["$ref"].rsplit("/", 1)[-1]]))
            return {key: walk(value) for key, value in node.items()}
        if isinstance(node, list):
            return [walk(item) for item in node]
        return node

    return walk(schema)


INVENTORY_BODY = {
    "requestBody": {
        "content": {"application/json": {"schema": _inline(InventoryIn.model_json_schema())}},
        "required": True,
    }
}


def _validation_message(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first.get("loc", ()))
    return f"{where}: {first.get('msg', 'invalid')}" if where else first.get("msg", "invalid")


@router.post(
    "/inventory",
    auth=None,
    response=InventoryOut,
    summary="A machine's inventory (soporte-agent; Authorization: Bearer enr_...)",
    openapi_extra=INVENTORY_BODY,
)
def report_inventory(request: HttpRequest):
    """The body is read here rather than by ninja: a report identical to the machine's
    last one is recognised by its hash and costs one UPDATE, without being parsed."""
    header = request.headers.get("Authorization", "")
    scheme, _sep, key = header.partition(" ")
    raw = request.body
    digest = inventory.report_digest(raw)
    token, unchanged = (
        inventory.start_report(key.strip(), digest) if scheme.lower() == "bearer" else (None, None)
    )
    if token is None:
        raise PermissionDenied("A valid enrollment token is required (Authorization: Bearer).")
    if unchanged is not None:
        return {"id": unchanged[0], "tag": unchanged[1], "created": False, "changes": []}
    try:
        body = InventoryIn.model_validate_json(raw)
    except ValidationError as error:
        raise InvalidInput(_validation_message(error)) from None
    if not body.hardware_uuid.strip() and not body.serial.strip():
        raise InvalidInput("The report needs a hardware UUID or a serial number.")
    packages = body.software
    report = inventory.Report(
        hardware_uuid=body.hardware_uuid, serial=body.serial, hostname=body.hostname,
        manufacturer=body.manufacturer, model=body.model, chassis=body.chassis,
        os_name=body.os_name, os_version=body.os_version, cpu=body.cpu, ram_mb=body.ram_mb,
        disks=[disk.model_dump() for disk in body.disks],
        interfaces=[nic.model_dump() for nic in body.interfaces],
        # (name, vendor) -> version straight from the validated dicts: an object per
        # package cost more than the rest of the parsing.
        software=None if packages is None else {
            (p["name"], p.get("vendor", "")): p.get("version", "") for p in packages
        },
    )  # fmt: skip
    outcome = inventory.record_inventory(report, token=token, digest=digest)
    return {
        "id": outcome.asset.pk, "tag": outcome.asset.tag, "created": outcome.created,
        "changes": outcome.changes,
    }  # fmt: skip


@router.get(
    "/enrollment-tokens", response=list[EnrollmentOut], summary="Enrollment tokens (admins)"
)
def enrollment_tokens(request: HttpRequest):
    accounts_policy.require_admin(request.auth)
    return EnrollmentToken.objects.all()[:1000]


@router.post("/enrollment-tokens", response={201: EnrollmentCreated}, summary="Make one (admins)")
def create_enrollment_token(request: HttpRequest, body: EnrollmentIn):
    accounts_policy.require_admin(request.auth)
    org = _row(Organization, body.organization_id, "Organization")
    token, key = services.create_enrollment_token(
        acting_user=request.auth, name=body.name, organization=org
    )
    return HttpStatus(
        201,
        {
            "id": token.pk, "name": token.name, "organization_id": token.organization_id,
            "created_at": token.created_at, "last_used_at": None, "revoked_at": None,
            "key": key,
        },
    )  # fmt: skip


@router.delete(
    "/enrollment-tokens/{token_id}", response=EnrollmentOut, summary="Revoke one (admins)"
)
def revoke_enrollment_token(request: HttpRequest, token_id: Id):
    return services.revoke_enrollment_token(acting_user=request.auth, token_id=token_id)


# -- licences ---------------------------------------------------------------------------------


def _use(use: services.LicenceUse) -> dict:
    return {
        "product_id": use.product.pk, "name": use.product.name, "vendor": use.product.vendor,
        "seats": use.seats, "used": use.used, "free": use.free,
    }  # fmt: skip


@router.get("/licences", response=list[LicenceUseOut], summary="Licensed software: seats, use")
def licences(request: HttpRequest):
    accounts_policy.require_agent(request.auth)
    products = SoftwareProduct.objects.filter(licensed=True).order_by("name")[:1000]
    return [_use(services.licence_use(product)) for product in products]


@router.post("/licences", response={201: LicenceUseOut}, summary="Add licence seats (agents)")
def add_licence(request: HttpRequest, body: LicenceIn):
    accounts_policy.require_agent(request.auth)
    if body.expires_on and body.purchase_date and body.expires_on < body.purchase_date:
        raise InvalidInput("The licence expires before it was bought.")
    with transaction.atomic():
        product = services.product_named(body.name, body.vendor)
        services.add_licence(
            acting_user=request.auth, product=product, seats=body.seats, name=body.reference,
            purchase_date=body.purchase_date, expires_on=body.expires_on,
            organization=_row(Organization, body.organization_id, "Organization"),
        )  # fmt: skip
    return HttpStatus(201, _use(services.licence_use(product)))


# -- cabling -------------------------------------------------------------------------------


def _port(ref) -> Port:
    asset = Asset.objects.filter(pk=ref.asset_id).first()
    if asset is None:
        raise InvalidInput(f"Asset {ref.asset_id} does not exist.")
    return cabling.get_port(asset, ref.port)


@router.post("/cabling/patch", response={201: TraceOut}, summary="Patch two ports (agents)")
def patch(request: HttpRequest, body: PatchIn):
    accounts_policy.require_agent(request.auth)
    with transaction.atomic():
        a, b = _port(body.a), _port(body.b)
        cabling.patch(a, b, acting_user=request.auth)
    return HttpStatus(201, {"hops": _hops(cabling.trace(a))})


@router.post("/cabling/unpatch", response=TraceOut, summary="Unplug a patch cord (agents)")
def unpatch(request: HttpRequest, body: PatchIn):
    accounts_policy.require_agent(request.auth)
    port = Port.objects.filter(asset_id=body.a.asset_id, name=body.a.port).first()
    if port is None:
        raise NotFound("No such port.")
    cabling.unpatch(port, acting_user=request.auth)
    return {"hops": _hops(cabling.trace(port))}


def _hops(chain) -> list[dict]:
    return [
        {
            "asset_id": hop.port.asset_id,
            "tag": hop.port.asset.tag,
            "kind": hop.port.asset.kind,
            "port": hop.port.name,
            "via": hop.via,
            "link_id": hop.link.link_id if hop.link else None,
        }  # fmt: skip
        for hop in chain
    ]


@router.get("/cabling/report", response=CablingReportOut, summary="Links failing, never "
            "certified, or due for re-certification (agents)")  # fmt: skip
def cabling_report(request: HttpRequest):
    accounts_policy.require_agent(request.auth)
    found = cabling.report()
    return {"failing": found.failing, "never_certified": found.never, "due": found.due}


@router.get(
    "/cabling/links/{link_id}/certifications",
    response=list[CertificationOut],
    summary="A link's certifications, newest first (agents)",
)
def certifications(request: HttpRequest, link_id: Id):
    accounts_policy.require_agent(request.auth)
    link = CableLink.objects.filter(pk=link_id).first()
    if link is None:
        raise NotFound(f"Link {link_id} not found.")
    return link.certifications.all()[:1000]


@router.post(
    "/cabling/certifications/{certification_id}/report",
    response=CertificationOut,
    summary="Attach the tester's report (agents)",
)
def attach_report(request: HttpRequest, certification_id: Id, file: File[UploadedFile]):
    accounts_policy.require_agent(request.auth)
    certification = cabling.get_certification(certification_id)
    cabling.attach_report(certification, acting_user=request.auth, upload=file)
    return certification


# -- preventive maintenance ---------------------------------------------------------------


def _plan_fields(body: PlanIn) -> dict:
    assets = list(Asset.objects.filter(pk__in=body.asset_ids))
    if len(assets) != len(set(body.asset_ids)):
        raise InvalidInput("Some of the assets do not exist.")
    return {
        "name": body.name, "rrule_text": body.rrule, "starts_at": body.starts_at,
        "checklist": body.checklist, "lead_days": body.lead_days, "assets": assets,
        "asset_type": _row(AssetType, body.type_id, "Type"),
        "location": _row(Location, body.location_id, "Location"),
        "team": _row(Team, body.team_id, "Team"), "active": body.active,
    }  # fmt: skip


@router.get("/maintenance/plans", response=list[PlanOut], summary="Maintenance plans (agents)")
def plans(request: HttpRequest):
    accounts_policy.require_agent(request.auth)
    return MaintenancePlan.objects.prefetch_related("assets")[:1000]


@router.post("/maintenance/plans", response={201: PlanOut}, summary="Create a plan (agents)")
def create_plan(request: HttpRequest, body: PlanIn):
    accounts_policy.require_agent(request.auth)
    plan = maintenance.save_plan(acting_user=request.auth, **_plan_fields(body))
    return HttpStatus(201, plan)


@router.put("/maintenance/plans/{plan_id}", response=PlanOut, summary="Replace a plan (agents)")
def replace_plan(request: HttpRequest, plan_id: Id, body: PlanIn):
    accounts_policy.require_agent(request.auth)
    plan = MaintenancePlan.objects.filter(pk=plan_id).first()
    if plan is None:
        raise NotFound(f"Plan {plan_id} not found.")
    return maintenance.save_plan(acting_user=request.auth, plan=plan, **_plan_fields(body))


@router.get("/maintenance/overdue", response=list[TaskOut], summary="Overdue maintenance (agents)")
def overdue(request: HttpRequest):
    accounts_policy.require_agent(request.auth)
    return maintenance.overdue()[:1000]


@router.post(
    "/maintenance/tasks/{task_id}/complete",
    response=TaskOut,
    summary="Record a maintenance as done (agents)",
)
def complete(request: HttpRequest, task_id: Id, body: CompleteIn):
    accounts_policy.require_agent(request.auth)
    task = maintenance.get_task(task_id)
    return maintenance.complete_task(
        task, acting_user=request.auth, results=body.results, notes=body.notes
    )


# -- one asset (last: "/{asset_id}" would otherwise take "/types" and the rest) ------


@router.get("/{asset_id}", response=AssetOut, summary="One asset")
def read_asset(request: HttpRequest, asset_id: Id):
    return _asset(request, asset_id)


@router.patch("/{asset_id}", response=AssetOut, summary="Change an asset (agents)")
def change_asset(request: HttpRequest, asset_id: Id, body: AssetPatch):
    asset = _asset(request, asset_id)
    policy.require_edit(request.auth, asset)
    fields = _fields(body.model_dump(exclude_unset=True))
    services.update_asset(asset, acting_user=request.auth, expected_version=body.version, **fields)
    return _asset(request, asset_id)


@router.get("/{asset_id}/history", response=list[AssetEventOut], summary="Every change (agents)")
def history(request: HttpRequest, asset_id: Id):
    asset = _agent_asset(request, asset_id)
    return asset.events.select_related("actor").order_by("-at", "-id")[:1000]


@router.get("/{asset_id}/tickets", response=list[TicketRef], summary="Tickets about the asset")
def asset_tickets(request: HttpRequest, asset_id: Id):
    asset = _asset(request, asset_id)
    return services.asset_tickets(request.auth, asset)[:500]


@router.post("/{asset_id}/tickets", response={201: TicketRef}, summary="Link a ticket")
def link_ticket(request: HttpRequest, asset_id: Id, body: LinkIn):
    asset = _asset(request, asset_id)
    ticket = accounts_policy.get_visible_ticket(request.auth, body.number)
    services.link_ticket(asset, ticket, acting_user=request.auth)
    return HttpStatus(201, ticket)


@router.delete("/{asset_id}/tickets/{number}", response={204: None}, summary="Unlink a ticket")
def unlink_ticket(request: HttpRequest, asset_id: Id, number: Number):
    asset = _asset(request, asset_id)
    policy.require_edit(request.auth, asset)
    ticket = accounts_policy.get_visible_ticket(request.auth, number)
    services.unlink_ticket(asset, ticket, acting_user=request.auth)
    return HttpStatus(204, None)


@router.get("/{asset_id}/software", response=list[InstallationOut], summary="Installed software")
def software(request: HttpRequest, asset_id: Id):
    asset = _asset(request, asset_id)
    return services.installed_software(asset)[:20_000]


@router.post("/{asset_id}/software", response={201: InstallationOut}, summary="Install software")
def install(request: HttpRequest, asset_id: Id, body: InstallIn):
    asset = _asset(request, asset_id)
    policy.require_edit(request.auth, asset)
    product = services.product_named(body.name, body.vendor)
    installation = services.install_software(
        asset, acting_user=request.auth, product=product, version=body.version
    )
    return HttpStatus(201, services.InstalledSoftware(
        product.pk, product.name, product.vendor, installation.version, installation.source,
        installation.installed_at,
    ))  # fmt: skip


@router.delete(
    "/{asset_id}/software/{product_id}", response={204: None}, summary="Uninstall software"
)
def uninstall(request: HttpRequest, asset_id: Id, product_id: Id):
    asset = _asset(request, asset_id)
    policy.require_edit(request.auth, asset)
    product = SoftwareProduct.objects.filter(pk=product_id).first()
    if product is None:
        raise NotFound(f"Software {product_id} not found.")
    services.uninstall_software(asset, acting_user=request.auth, product=product)
    return HttpStatus(204, None)


@router.get("/{asset_id}/cabling", response=list[TraceOut], summary="Where its ports lead")
def asset_cabling(request: HttpRequest, asset_id: Id):
    asset = _agent_asset(request, asset_id)
    return [
        {
            "hops": [
                {
                    "asset_id": hop.port.asset_id,
                    "tag": hop.port.asset.tag,
                    "kind": hop.port.asset.kind,
                    "port": hop.port.name,
                    "via": hop.via,
                    "link_id": hop.link.link_id if hop.link else None,
                }  # fmt: skip
                for hop in chain
            ]
        }
        for chain in cabling.traces(asset)
    ]
