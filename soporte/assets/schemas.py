"""The shapes the assets API reads and writes. Bounds mirror the database columns."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Required

from ninja import Schema
from pydantic import BaseModel, Field
from typing_extensions import TypedDict  # pydantic needs this one before Python 3.12

from soporte.lib.schema import AwareDatetime, Id, text

from .models import AssetStatus, CableCategory, CableStandard, Kind

JsonList = list[dict[str, Any]]


class Ref(Schema):
    id: int
    name: str


class AssetFields(Schema):
    name: text(200) | None = None
    status: AssetStatus | None = None
    serial: text(100) | None = None
    hardware_uuid: text(64) | None = None
    manufacturer: text(100) | None = None
    model: text(100) | None = None
    location: text(200) | None = Field(None, description="A location name; created when new")
    owner_id: Id | None = None
    organization_id: Id | None = None
    purchase_date: date | None = None
    warranty_end: date | None = None
    hostname: text(253) | None = None
    os_name: text(100) | None = None
    os_version: text(100) | None = None
    cpu: text(200) | None = None
    ram_mb: int | None = Field(None, ge=0, le=2_147_483_647)
    disks: JsonList | None = Field(None, max_length=200)
    interfaces: JsonList | None = Field(None, max_length=200)
    custom: dict[str, Any] | None = None
    attached_to_id: Id | None = None


class AssetIn(AssetFields):
    tag: text(64, 1)
    type_id: Id


class AssetPatch(AssetFields):
    tag: text(64, 1) | None = None
    type_id: Id | None = None
    version: int | None = Field(None, ge=1, le=2_147_483_647)


class AssetSummary(Schema):
    id: int
    tag: str
    name: str
    kind: str
    status: str
    serial: str
    manufacturer: str
    model: str
    hostname: str
    stale: bool
    last_inventory_at: datetime | None
    updated_at: datetime
    version: int
    type: Ref
    location: Ref | None
    owner: Ref | None
    organization: Ref | None


class AssetPage(Schema):
    items: list[AssetSummary]
    next_cursor: str | None


class AssetOut(Schema):
    id: int
    tag: str
    name: str
    kind: str
    type: Ref
    status: str
    serial: str
    hardware_uuid: str
    manufacturer: str
    model: str
    location: Ref | None
    owner: Ref | None
    organization: Ref | None
    purchase_date: date | None
    warranty_end: date | None
    hostname: str
    os_name: str
    os_version: str
    cpu: str
    ram_mb: int | None
    disks: JsonList
    interfaces: JsonList
    custom: dict[str, Any]
    attached_to: Ref | None
    last_inventory_at: datetime | None
    stale: bool
    version: int
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_attached_to(obj) -> dict | None:
        parent = obj.attached_to
        return {"id": parent.pk, "name": parent.tag} if parent else None

    @staticmethod
    def resolve_owner(obj) -> dict | None:
        return {"id": obj.owner.pk, "name": str(obj.owner)} if obj.owner_id else None


class AssetQuery(Schema):
    q: text(100) = ""
    kind: Kind | None = None
    status: AssetStatus | None = None
    type: Id | None = None
    location: Id | None = None
    organization: Id | None = None
    owner: Id | None = None
    stale: bool | None = None
    cursor: text(200) | None = None
    limit: int = Field(50, ge=1, le=200)


class AssetEventOut(Schema):
    id: int
    at: datetime
    actor: Ref | None
    kind: str
    field: str
    old: str
    new: str
    data: dict[str, Any]

    @staticmethod
    def resolve_actor(obj) -> dict | None:
        return {"id": obj.actor.pk, "name": str(obj.actor)} if obj.actor_id else None


class TicketRef(Schema):
    number: int
    subject: str
    status: str
    created_at: datetime


class LinkIn(Schema):
    number: int = Field(ge=1, le=2_147_483_647)


class InstallIn(Schema):
    name: text(200, 1)
    vendor: text(200) = ""
    version: text(100) = ""


class InstallationOut(Schema):
    product_id: int
    name: str
    vendor: str
    version: str
    source: str
    installed_at: datetime


class LicenceIn(Schema):
    name: text(200, 1) = Field(description="The product")
    vendor: text(200) = ""
    seats: int = Field(ge=1, le=1_000_000)
    reference: text(200) = ""
    purchase_date: date | None = None
    expires_on: date | None = None
    organization_id: Id | None = None


class LicenceUseOut(Schema):
    product_id: int
    name: str
    vendor: str
    seats: int
    used: int
    free: int


class TypeIn(Schema):
    name: text(100, 1)
    kind: Kind
    custom_schema: dict[str, Any] = Field(
        default_factory=dict, description="A JSON Schema for the custom fields"
    )


class TypeOut(Schema):
    id: int
    name: str
    kind: str
    custom_schema: dict[str, Any]

    @staticmethod
    def resolve_custom_schema(obj) -> dict:
        return obj.schema


class PortRef(Schema):
    asset_id: Id
    port: text(50, 1)


class PatchIn(Schema):
    a: PortRef
    b: PortRef


class HopOut(Schema):
    asset_id: int
    tag: str
    kind: str
    port: str
    via: str
    link_id: str | None


class TraceOut(Schema):
    hops: list[HopOut]


class CertificationOut(Schema):
    id: int
    tested_on: date
    technician: str
    tester_model: str
    passed: bool
    next_margin_db: float | None
    insertion_loss_margin_db: float | None
    return_loss_margin_db: float | None
    has_report: bool

    @staticmethod
    def resolve_has_report(obj) -> bool:
        return bool(obj.report)


class LinkOut(Schema):
    id: int
    link_id: str
    outlet: str
    panel_port: str
    category: CableCategory
    standard: CableStandard
    length_m: float | None
    last_tested: date | None = None
    last_passed: bool | None = None

    @staticmethod
    def resolve_outlet(obj) -> str:
        return str(obj.outlet_port)

    @staticmethod
    def resolve_panel_port(obj) -> str:
        return str(obj.panel_port)


class CablingReportOut(Schema):
    failing: list[LinkOut]
    never_certified: list[LinkOut]
    due: list[LinkOut]


class ImportError_(Schema):
    row: int
    column: str
    message: str


class ImportOut(Schema):
    id: int
    kind: str
    filename: str
    status: str
    total: int
    processed: int
    percent: int
    created: int
    updated: int
    errors: list[ImportError_]
    created_at: datetime
    finished_at: datetime | None


# -- the inventory agent's report ----------------------------------------------------


def plain(max_length: int, min_length: int = 0):
    """Bounded, NUL-free text checked inside pydantic-core (no Python call per value:
    a report has thousands)."""
    return Annotated[
        str, Field(min_length=min_length, max_length=max_length, pattern=r"^[^\x00]*$")
    ]


class Disk(BaseModel):
    name: plain(100) = ""
    mountpoint: plain(200) = ""
    fstype: plain(50) = ""
    size_gb: float | None = Field(None, ge=0, le=1e9)


class Nic(BaseModel):
    name: plain(100) = ""
    mac: plain(64) = ""
    ips: list[plain(64)] = Field(default_factory=list, max_length=64)


class Package(TypedDict, total=False):
    """A plain dict, not a model: validating a report's hundreds of packages into
    dicts costs a third of building as many model objects."""

    name: Required[plain(200, 1)]
    version: plain(100)  # "" when left out
    vendor: plain(200)  # "" when left out


class InventoryIn(BaseModel):
    """What soporte-agent posts. Plain pydantic models: a report holds thousands of
    packages, and ninja's Schema (made to read ORM objects) costs more per object."""

    agent_version: plain(20) = ""
    hardware_uuid: plain(64) = ""
    serial: plain(100) = ""
    hostname: plain(253) = ""
    manufacturer: plain(100) = ""
    model: plain(100) = ""
    chassis: plain(20) = ""
    os_name: plain(100) = ""
    os_version: plain(100) = ""
    cpu: plain(200) = ""
    ram_mb: int | None = Field(None, ge=0, le=2_147_483_647)
    disks: list[Disk] = Field(default_factory=list, max_length=64)
    interfaces: list[Nic] = Field(default_factory=list, max_length=128)
    software: list[Package] | None = Field(None, max_length=20_000)


class InventoryOut(Schema):
    id: int
    tag: str
    created: bool
    changes: list[str]


class EnrollmentIn(Schema):
    name: text(100, 1)
    organization_id: Id | None = None


class EnrollmentOut(Schema):
    id: int
    name: str
    organization_id: int | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class EnrollmentCreated(EnrollmentOut):
    key: str = Field(description="Shown once: give it to the agent with --token")


class PlanIn(Schema):
    name: text(200, 1)
    rrule: text(500, 1) = Field(description="RFC 5545, e.g. FREQ=MONTHLY;BYDAY=1MO")
    starts_at: AwareDatetime
    lead_days: int = Field(7, ge=0, le=365)
    checklist: list[text(200, 1)] | None = Field(None, max_length=50)
    asset_ids: list[Id] = Field(default_factory=list, max_length=10_000)
    type_id: Id | None = None
    location_id: Id | None = None
    team_id: Id | None = None
    active: bool = True


class PlanOut(Schema):
    id: int
    name: str
    rrule: str
    starts_at: datetime
    lead_days: int
    checklist: list[str]
    asset_ids: list[int]
    type_id: int | None
    location_id: int | None
    team_id: int | None
    active: bool
    next_due: datetime | None = None

    @staticmethod
    def resolve_asset_ids(obj) -> list[int]:
        return [asset.pk for asset in obj.assets.all()]

    @staticmethod
    def resolve_type_id(obj) -> int | None:
        return obj.asset_type_id


class TaskOut(Schema):
    id: int
    plan: Ref
    asset: Ref
    due_at: datetime
    status: str
    ticket_number: int | None
    results: dict[str, bool]
    completed_at: datetime | None

    @staticmethod
    def resolve_plan(obj) -> dict:
        return {"id": obj.plan_id, "name": obj.plan.name}

    @staticmethod
    def resolve_asset(obj) -> dict:
        return {"id": obj.asset_id, "name": obj.asset.tag}

    @staticmethod
    def resolve_ticket_number(obj) -> int | None:
        return obj.ticket.number if obj.ticket_id else None


class CompleteIn(Schema):
    results: dict[text(200), bool] = Field(default_factory=dict)
    notes: text(10_000) = ""
