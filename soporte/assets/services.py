"""Every change to an asset. Each service is atomic, checks permission through
``assets.policy``, and writes AssetEvents (who, when, old -> new) for the history.

The inventory agent's intake is in ``inventory.py``, CSV import and export in
``imports.py``, cable links and certifications in ``cabling.py``, preventive maintenance
in ``maintenance.py``; they build on the helpers here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from soporte.accounts import policy as ticket_policy
from soporte.accounts.models import Organization, User
from soporte.lib import keys
from soporte.lib.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from soporte.tickets.models import Ticket

from . import policy
from .indexing import SEARCHED, index_soon
from .models import (
    Asset,
    AssetEvent,
    AssetStatus,
    AssetType,
    EnrollmentToken,
    EventKind,
    Installation,
    Kind,
    Licence,
    Location,
    MachineSoftware,
    SoftwareProduct,
    Source,
    TicketAsset,
)

# Fields an agent edits, in the order the history and the forms show them.
EDITABLE = (
    "tag", "name", "type", "status", "serial", "hardware_uuid", "manufacturer", "model",
    "location", "owner", "organization", "purchase_date", "warranty_end", "hostname",
    "os_name", "os_version", "cpu", "ram_mb", "disks", "interfaces", "custom", "attached_to",
)  # fmt: skip
TEXT_LIMITS = {
    "tag": 64, "name": 200, "serial": 100, "hardware_uuid": 64, "manufacturer": 100,
    "model": 100, "hostname": 253, "os_name": 100, "os_version": 100, "cpu": 200,
}  # fmt: skip
MAX_RAM_MB = 2_147_483_647


def display(value: Any) -> str:
    """How a value reads in the history."""
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | dict):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    if isinstance(value, User):
        return value.get_username()
    return str(value)


@dataclass
class History:
    """Events collected while a service runs, written in one query at the end."""

    actor: User | None
    events: list[AssetEvent] = field(default_factory=list)

    def record(
        self, asset: Asset, kind: str, field: str = "", old: Any = "", new: Any = "", **data: Any
    ) -> None:
        self.events.append(
            AssetEvent(
                asset=asset,
                actor=self.actor,
                kind=kind,
                field=field,
                old=display(old),
                new=display(new),
                data=data,
            )
        )

    def save(self) -> None:
        if self.events:
            AssetEvent.objects.bulk_create(self.events)


# -- validation ---------------------------------------------------------------------------


@lru_cache(maxsize=256)
def _validator(schema_json: str) -> Draft202012Validator:
    return Draft202012Validator(
        json.loads(schema_json), format_checker=Draft202012Validator.FORMAT_CHECKER
    )


def custom_errors(asset_type: AssetType, custom: Any) -> list[str]:
    """What is wrong with these custom fields for the type, one message per problem."""
    if not isinstance(custom, dict):
        return [_("Custom fields must be a JSON object.")]
    validator = _validator(json.dumps(asset_type.schema or {}, sort_keys=True))
    messages = []
    for error in sorted(validator.iter_errors(custom), key=lambda e: list(e.path)):
        where = ".".join(str(part) for part in error.path)
        prefix = f"custom.{where}: " if where else "custom: "
        messages.append(prefix + error.message[:300])
    return messages


def check_schema(schema: Any) -> None:
    if not isinstance(schema, dict):
        raise InvalidInput(_("The custom fields schema must be a JSON object."))
    _check_json("schema", schema)
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as error:
        raise InvalidInput(
            _("The custom fields schema is not a valid JSON Schema: %(error)s")
            % {"error": error.message[:300]}
        ) from None


def has_nul(value: Any) -> bool:
    """A NUL character anywhere in a JSON value, keys included (PostgreSQL's jsonb
    refuses them: a 500 if it got that far)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(has_nul(key) or has_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(has_nul(item) for item in value)
    return False


def _check_json(name: str, value: Any) -> None:
    if has_nul(value):
        raise InvalidInput(_("%(field)s must not contain NUL characters.") % {"field": name})


def _clean_text(name: str, value: Any) -> str:
    value = "" if value is None else str(value).strip()
    if "\x00" in value:
        raise InvalidInput(_("%(field)s must not contain NUL characters.") % {"field": name})
    limit = TEXT_LIMITS.get(name)
    if limit and len(value) > limit:
        raise InvalidInput(
            _("%(field)s is longer than %(max)s characters.") % {"field": name, "max": limit}
        )
    return value


def _clean_list(name: str, value: Any) -> list:
    value = value or []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise InvalidInput(_("%(field)s must be a list of objects.") % {"field": name})
    if len(value) > 200:
        raise InvalidInput(_("%(field)s has more than 200 entries.") % {"field": name})
    return value


def _check_attachment(asset: Asset, parent: Asset | None) -> None:
    """No asset is attached to itself, directly or through a chain."""
    seen = {asset.pk}
    node = parent
    while node is not None:
        if node.pk in seen:
            raise InvalidInput(_("An asset cannot be attached to itself, even through others."))
        seen.add(node.pk)
        node = node.attached_to


def _check_owner(values: dict[str, Any]) -> None:
    """The owner belongs to the asset's organization; an asset given to a member of an
    organization without one becomes that organization's."""
    owner: User | None = values.get("owner")
    if owner is None or owner.organization_id is None:
        return
    org: Organization | None = values.get("organization")
    if org is None:
        values["organization"] = owner.organization
    elif org.pk != owner.organization_id:
        raise InvalidInput(
            _("%(owner)s belongs to %(their)s, not to %(org)s.")
            % {"owner": owner, "their": owner.organization, "org": org}
        )


def clean_fields(values: dict[str, Any]) -> dict[str, Any]:
    """Text trimmed and bounded, lists checked, the status known, dates in order."""
    cleaned: dict[str, Any] = {}
    for name, value in values.items():
        if name not in EDITABLE:
            raise InvalidInput(_("Unknown field %(field)s.") % {"field": name})
        if name in TEXT_LIMITS:
            value = _clean_text(name, value)
        elif name in ("disks", "interfaces"):
            value = _clean_list(name, value)
            _check_json(name, value)
        elif name == "custom":
            value = value if value is not None else {}
            _check_json(name, value)
        elif name == "status":
            if value not in AssetStatus.values:
                raise InvalidInput(
                    _("Unknown status %(status)s; use one of %(statuses)s.")
                    % {"status": value, "statuses": ", ".join(AssetStatus.values)}
                )
        elif name == "ram_mb" and value is not None:
            if isinstance(value, bool) or not isinstance(value, int):
                raise InvalidInput(_("RAM must be a whole number of megabytes."))
            if not 0 <= value <= MAX_RAM_MB:
                raise InvalidInput(_("RAM must be between 0 and %(max)s MB.") % {"max": MAX_RAM_MB})
        cleaned[name] = value
    if "tag" in cleaned and not cleaned["tag"]:
        raise InvalidInput(_("The asset tag is required."))
    return cleaned


# -- assets --------------------------------------------------------------------------------


@transaction.atomic
def create_asset(*, acting_user: User | None, tag: str, type: AssetType, **fields: Any) -> Asset:
    """A new asset; `acting_user` None is the system (the agent, an import).

    1. Agents only; text bounded; the owner belongs to its organization.
    2. Custom fields satisfy the type's schema; the tag is free.
    3. The asset and its "created" event are written together.
    """
    if acting_user is not None:
        policy.require_edit(acting_user)
    values = clean_fields({"tag": tag, **fields})
    values["type"] = type
    _check_owner(values)
    errors = custom_errors(type, values.get("custom") or {})
    if errors:
        raise InvalidInput(errors[0])
    if Asset.objects.filter(tag=values["tag"]).exists():
        raise InvalidInput(_("The asset tag %(tag)s is taken.") % {"tag": values["tag"]})
    _check_unique_uuid(values.get("hardware_uuid", ""), None)
    asset = Asset(kind=type.kind, **values)
    if asset.attached_to is not None:
        _check_attachment(asset, asset.attached_to)
    try:
        with transaction.atomic():
            asset.save(force_insert=True)
    except IntegrityError:
        raise Conflict(_("The asset tag %(tag)s is taken.") % {"tag": asset.tag}) from None
    history = History(acting_user)
    history.record(asset, EventKind.CREATED, new=asset.tag)
    history.save()
    index_soon([asset.pk])
    return asset


def _check_unique_uuid(hardware_uuid: str, asset: Asset | None) -> None:
    if not hardware_uuid:
        return
    others = Asset.objects.filter(hardware_uuid=hardware_uuid)
    if asset is not None:
        others = others.exclude(pk=asset.pk)
    if others.exists():
        raise InvalidInput(
            _("Another asset has the hardware UUID %(uuid)s.") % {"uuid": hardware_uuid}
        )


def apply_changes(
    asset: Asset, values: dict[str, Any], history: History, kind: str = EventKind.CHANGED
) -> list[str]:
    """Set the fields that differ, recording each old -> new; the names changed."""
    changed = []
    order = {name: index for index, name in enumerate(EDITABLE)}
    for name, new in sorted(values.items(), key=lambda item: order.get(item[0], 99)):
        old = getattr(asset, name)
        if old == new or (name in TEXT_LIMITS and (old or "") == (new or "")):
            continue
        history.record(asset, kind, field=name, old=old, new=new)
        setattr(asset, name, new)
        changed.append(name)
    return changed


@transaction.atomic
def update_asset(
    asset: Asset, *, acting_user: User, expected_version: int | None = None, **fields: Any
) -> Asset:
    """Change fields, each change kept in the history. With `expected_version`, a change
    made by someone else since is refused (409), never overwritten."""
    policy.require_edit(acting_user, asset)
    values = clean_fields(fields)
    if "owner" in values or "organization" in values:
        merged = {
            "owner": values.get("owner", asset.owner),
            "organization": values.get("organization", asset.organization),
        }
        _check_owner(merged)
        values["organization"] = merged["organization"]
    asset_type = values.get("type", asset.type)
    if "type" in values or "custom" in values:
        errors = custom_errors(asset_type, values.get("custom", asset.custom))
        if errors:
            raise InvalidInput(errors[0])
    if "tag" in values and Asset.objects.filter(tag=values["tag"]).exclude(pk=asset.pk).exists():
        raise InvalidInput(_("The asset tag %(tag)s is taken.") % {"tag": values["tag"]})
    if "hardware_uuid" in values:
        _check_unique_uuid(values["hardware_uuid"], asset)
    if values.get("attached_to") is not None:
        _check_attachment(asset, values["attached_to"])
    if expected_version is not None and expected_version != asset.version:
        raise _conflict(asset)
    history = History(acting_user)
    changed = apply_changes(asset, values, history)
    if "type" in changed:
        asset.kind = asset_type.kind
        changed.append("kind")
    if changed:
        save_changed(asset, changed)
        history.save()
    return asset


def save_changed(asset: Asset, changed: list[str]) -> None:
    """Write the fields and bump the version, unless someone changed the row meanwhile."""
    loaded = asset.version
    asset.updated_at = timezone.now()
    values = {name: getattr(asset, name) for name in changed}
    try:
        with transaction.atomic():
            updated = Asset.objects.filter(pk=asset.pk, version=loaded).update(
                version=F("version") + 1, updated_at=asset.updated_at, **values
            )
    except IntegrityError:
        raise InvalidInput(_("The asset tag %(tag)s is taken.") % {"tag": asset.tag}) from None
    if not updated:
        raise _conflict(asset)
    asset.version = loaded + 1
    if SEARCHED.intersection(changed):
        index_soon([asset.pk])


def _conflict(asset: Asset) -> Conflict:
    return Conflict(
        _("Asset %(tag)s was changed by someone else since you loaded it. Reload it and try again.")
        % {"tag": asset.tag}
    )


@transaction.atomic
def save_type(
    *,
    acting_user: User,
    name: str,
    kind: str,
    schema: dict | None = None,
    asset_type: AssetType | None = None,
) -> AssetType:
    """Create or change an asset type (admins). A new schema must hold for every asset of
    the type already recorded."""
    ticket_policy.require_admin(acting_user)
    name = _clean_text("name", name)
    if not name:
        raise InvalidInput(_("The type needs a name."))
    if kind not in Kind.values:
        raise InvalidInput(_("Unknown kind %(kind)s.") % {"kind": kind})
    schema = schema if schema is not None else {}
    check_schema(schema)
    clash = AssetType.objects.filter(name=name)
    if asset_type is not None:
        clash = clash.exclude(pk=asset_type.pk)
    if clash.exists():
        raise InvalidInput(_("There is already a type named %(name)s.") % {"name": name})
    if asset_type is None:
        return AssetType.objects.create(name=name, kind=kind, schema=schema)
    if kind != asset_type.kind and asset_type.assets.exists():
        raise InvalidInput(_("The kind of a type in use cannot change."))
    asset_type.name, asset_type.kind, asset_type.schema = name, kind, schema
    for asset in asset_type.assets.only("pk", "tag", "custom").iterator(chunk_size=2000):
        errors = custom_errors(asset_type, asset.custom)
        if errors:
            raise InvalidInput(
                _("Asset %(tag)s would not satisfy the schema: %(error)s")
                % {"tag": asset.tag, "error": errors[0]}
            )
    asset_type.save()
    return asset_type


def location_named(name: str) -> Location:
    """The location of that name, created when new."""
    name = _clean_text("location", name)[:200]
    if not name:
        raise InvalidInput(_("The location needs a name."))
    location, _created = Location.objects.get_or_create(name=name)
    return location


# -- tickets ---------------------------------------------------------------------------


@transaction.atomic
def link_ticket(asset: Asset, ticket: Ticket, *, acting_user: User) -> TicketAsset:
    """Say a ticket is about an asset. Agents link any ticket they may work on; a
    requester links only their own asset to a ticket they may see."""
    if not policy.can_view(acting_user, asset):
        raise NotFound(_("Asset %(id)s not found.") % {"id": asset.pk})
    ticket_policy.require_view(acting_user, ticket)
    if not acting_user.is_agent and ticket.requester_id != acting_user.pk:
        raise PermissionDenied(_("Requesters may link assets only to their own tickets."))
    link, created = TicketAsset.objects.get_or_create(
        ticket=ticket, asset=asset, defaults={"linked_by": acting_user}
    )
    if created:
        history = History(acting_user)
        history.record(asset, EventKind.TICKET_LINKED, new=f"#{ticket.number}")
        history.save()
    return link


@transaction.atomic
def unlink_ticket(asset: Asset, ticket: Ticket, *, acting_user: User) -> None:
    policy.require_edit(acting_user, asset)
    ticket_policy.require_work(acting_user, ticket)
    deleted, _counts = TicketAsset.objects.filter(ticket=ticket, asset=asset).delete()
    if not deleted:
        raise NotFound(
            _("Ticket #%(number)s is not linked to %(tag)s.")
            % {"number": ticket.number, "tag": asset.tag}
        )
    history = History(acting_user)
    history.record(asset, EventKind.TICKET_UNLINKED, old=f"#{ticket.number}")
    history.save()


def asset_tickets(user: User, asset: Asset):
    """The tickets about the asset that this person may see, newest first."""
    linked = TicketAsset.objects.filter(asset=asset).values("ticket_id")
    return ticket_policy.visible_tickets(user).filter(pk__in=linked).order_by("-created_at")


# -- software --------------------------------------------------------------------------------


@dataclass(frozen=True)
class LicenceUse:
    product: SoftwareProduct
    seats: int
    used: int

    @property
    def free(self) -> int:
        return self.seats - self.used


def licence_use(product: SoftwareProduct) -> LicenceUse:
    """Seats of the product's unexpired licences, and the installations counting on them."""
    today = timezone.localdate()
    seats = (
        Licence.objects.filter(product=product)
        .filter(Q(expires_on__isnull=True) | Q(expires_on__gte=today))
        .aggregate(total=Sum("seats"))["total"]
    )
    used = Installation.objects.filter(product=product).count()
    return LicenceUse(product, seats or 0, used)


def over_licensed() -> list[LicenceUse]:
    """Licensed products installed on more machines than their licences allow (the
    agent reports what it finds, so this can happen; an agent cannot do it by hand)."""
    today = timezone.localdate()
    valid = Q(licences__expires_on__isnull=True) | Q(licences__expires_on__gte=today)
    seats = dict(
        SoftwareProduct.objects.filter(licensed=True)
        .annotate(seats=Sum("licences__seats", filter=valid))
        .values_list("pk", "seats")
    )
    used = (
        SoftwareProduct.objects.filter(licensed=True)
        .annotate(used=Count("installations"))
        .filter(used__gt=0)
    )
    return [
        LicenceUse(product, seats.get(product.pk) or 0, product.used)  # type: ignore[attr-defined]
        for product in used
        if product.used > (seats.get(product.pk) or 0)  # type: ignore[attr-defined]
    ]


@dataclass(frozen=True)
class InstalledSoftware:
    """One line of a machine's software list, entered by hand or reported by the agent."""

    product_id: int
    name: str
    vendor: str
    version: str
    source: str
    installed_at: datetime

    def __str__(self) -> str:
        return f"{self.name} ({self.vendor})" if self.vendor else self.name

    def get_source_display(self) -> str:
        return str(Source(self.source).label)


def installed_software(asset: Asset) -> list[InstalledSoftware]:
    """The asset's software by name: its Installation rows (entered by hand, and the
    agent's licensed products) and the agent's last reported list. Three queries."""
    found = {
        row.product_id: InstalledSoftware(
            row.product_id,
            row.product.name,
            row.product.vendor,
            row.version,
            row.source,
            row.installed_at,
        )  # fmt: skip
        for row in Installation.objects.filter(asset=asset).select_related("product")
    }
    packages = (
        MachineSoftware.objects.filter(asset=asset).values_list("packages", flat=True).first()
    ) or {}
    reported = {int(pk): entry for pk, entry in packages.items() if int(pk) not in found}
    names = SoftwareProduct.objects.filter(pk__in=list(reported)).values_list(
        "pk", "name", "vendor"
    )
    for pk, name, vendor in names:
        version, since = reported[pk]
        found[pk] = InstalledSoftware(
            pk, name, vendor, version, Source.AGENT, datetime.fromtimestamp(since, UTC)
        )
    return sorted(found.values(), key=lambda item: (item.name, item.vendor))


def _reported(asset: Asset, product: SoftwareProduct) -> str | None:
    """The version of the product in the agent's last report of the asset, if any."""
    packages = MachineSoftware.objects.filter(asset=asset).values_list("packages", flat=True)
    entry = (packages.first() or {}).get(str(product.pk))
    return None if entry is None else entry[0]


def count_reported_installations(product_id: int) -> int:
    """Installation rows for a product just made licensed, from the agent's package
    lists (set-based, one statement; rows already there stay); how many were added. Also
    a background job, run again a while later for reports that were in flight."""
    key = str(product_id)
    if connection.vendor == "postgresql":
        sql = (
            "INSERT INTO assets_installation (asset_id, product_id, version, source, "
            "installed_at) SELECT m.asset_id, %s, m.packages -> %s ->> 0, %s, "
            "to_timestamp((m.packages -> %s ->> 1)::double precision) "
            "FROM assets_machinesoftware m WHERE m.packages ? %s ON CONFLICT DO NOTHING"
        )
        params: list[Any] = [product_id, key, Source.AGENT.value, key, key]
    else:
        sql = (
            "INSERT INTO assets_installation (asset_id, product_id, version, source, "
            "installed_at) SELECT m.asset_id, %s, json_extract(e.value, '$[0]'), %s, "
            "datetime(json_extract(e.value, '$[1]'), 'unixepoch') "
            "FROM assets_machinesoftware m, json_each(m.packages) e WHERE e.key = %s "
            "ON CONFLICT DO NOTHING"
        )
        params = [product_id, Source.AGENT.value, key]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def product_named(name: str, vendor: str = "") -> SoftwareProduct:
    name = _clean_text("name", name)
    vendor = _clean_text("vendor", vendor)[:200]
    if not name:
        raise InvalidInput(_("The software needs a name."))
    product, _created = SoftwareProduct.objects.get_or_create(name=name, vendor=vendor)
    return product


@transaction.atomic
def install_software(
    asset: Asset, *, acting_user: User, product: SoftwareProduct, version: str = ""
) -> Installation:
    """Record software on an asset (or its new version). A licensed product needs a free
    seat: the count is checked with the product row locked, so two agents cannot both
    take the last seat."""
    policy.require_edit(acting_user, asset)
    version = _clean_text("version", version)[:100]
    SoftwareProduct.objects.select_for_update().filter(pk=product.pk).first()
    existing = Installation.objects.filter(asset=asset, product=product).first()
    history = History(acting_user)
    reported = _reported(asset, product) if existing is None else None
    if reported is not None:
        # The agent reported it: entered by hand now, at this version (no new seat, as
        # a licensed product the agent reports already has its row).
        if reported != version:
            history.record(
                asset, EventKind.SOFTWARE_CHANGED, field=product.name, old=reported, new=version
            )
            history.save()
        return Installation.objects.create(
            asset=asset, product=product, version=version, source=Source.MANUAL
        )
    if existing is not None:
        if existing.version != version:
            history.record(
                asset, EventKind.SOFTWARE_CHANGED, field=product.name,
                old=existing.version, new=version,
            )  # fmt: skip
            existing.version = version
            existing.save(update_fields=["version"])
            history.save()
        return existing
    if product.licensed:
        use = licence_use(product)
        if use.free <= 0:
            raise InvalidInput(
                _("No free licence for %(product)s: %(used)s of %(seats)s seats in use.")
                % {"product": product, "used": use.used, "seats": use.seats}
            )
    installation = Installation.objects.create(
        asset=asset, product=product, version=version, source=Source.MANUAL
    )
    history.record(asset, EventKind.SOFTWARE_ADDED, field=product.name, new=version)
    history.save()
    return installation


@transaction.atomic
def uninstall_software(asset: Asset, *, acting_user: User, product: SoftwareProduct) -> None:
    """Remove the product from the asset: its Installation row and the agent's last
    reported list (a later report that lists it again adds it back)."""
    policy.require_edit(acting_user, asset)
    # The asset row is what an inventory report locks: the two never interleave.
    Asset.objects.select_for_update().filter(pk=asset.pk).first()
    installation = Installation.objects.filter(asset=asset, product=product).first()
    listed = MachineSoftware.objects.filter(asset=asset).first()
    reported = listed.packages.pop(str(product.pk), None) if listed else None
    if installation is None and reported is None:
        raise NotFound(_("%(product)s is not installed on %(tag)s.") % {
            "product": product, "tag": asset.tag})  # fmt: skip
    if installation is not None:
        installation.delete()
    if listed is not None and reported is not None:
        listed.save(update_fields=["packages"])
    old = installation.version if installation is not None else reported[0]  # type: ignore[index]
    history = History(acting_user)
    history.record(asset, EventKind.SOFTWARE_REMOVED, field=product.name, old=old)
    history.save()


@transaction.atomic
def add_licence(
    *,
    acting_user: User,
    product: SoftwareProduct,
    seats: int,
    name: str = "",
    purchase_date: date | None = None,
    expires_on: date | None = None,
    organization: Organization | None = None,
) -> Licence:
    """Licences are bought seats; adding one makes the product count as licensed."""
    policy.require_edit(acting_user)
    if seats < 1:
        raise InvalidInput(_("A licence has at least one seat."))
    if not product.licensed:
        product.licensed = True
        product.save(update_fields=["licensed"])
        # Its machines as the agent reported them now count against the seats.
        count_reported_installations(product.pk)
        from .tasks import count_reported

        count_reported.enqueue(product.pk, delay=300)
    return Licence.objects.create(
        product=product,
        seats=seats,
        name=_clean_text("name", name)[:200],
        purchase_date=purchase_date,
        expires_on=expires_on,
        organization=organization,
    )


# -- enrollment tokens ----------------------------------------------------------------------


@transaction.atomic
def create_enrollment_token(
    *, acting_user: User, name: str, organization: Organization | None = None
) -> tuple[EnrollmentToken, str]:
    """A token for the inventory agent, and its full key, shown once and never stored."""
    ticket_policy.require_admin(acting_user)
    name = _clean_text("name", name)[:100]
    if not name:
        raise InvalidInput(_("Give the token a name, e.g. the site or the rollout."))
    key_id, key_hash, key = keys.new_key(EnrollmentToken.PREFIX)
    token = EnrollmentToken.objects.create(
        name=name,
        key_id=key_id,
        key_hash=key_hash,
        organization=organization,
        created_by=acting_user,
    )
    return token, key


def authenticate_enrollment(key: str) -> EnrollmentToken | None:
    """The unrevoked enrollment token with this key, or None."""
    parts = keys.split_key(key, EnrollmentToken.PREFIX)
    if parts is None:
        return None
    key_id, secret = parts
    # Every agent report starts here: plain SQL, as compiling the ORM's query cost more
    # than running it. Whether last_used_at is a minute old is asked of the database,
    # which compares its own datetimes.
    now = timezone.now()
    table = connection.ops.quote_name(EnrollmentToken._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, key_id, key_hash, organization_id, "  # noqa: S608 - name quoted
            f"(last_used_at IS NULL OR last_used_at < %s) FROM {table} "
            "WHERE key_id = %s AND revoked_at IS NULL",
            [enrollment_idle_since(now), key_id],
        )
        row = cursor.fetchone()
    if row is None or not keys.secret_matches(row[2], secret):
        return None
    return enrollment_used(row[:4], idle=row[4], now=now)


def enrollment_idle_since(now: datetime) -> Any:
    """The last use before which a token's use is recorded again (once a minute), as
    the database compares it."""
    return connection.ops.adapt_datetimefield_value(now - timedelta(seconds=60))


def enrollment_used(
    row: tuple[int, str, str, int | None], *, idle: bool, now: datetime
) -> EnrollmentToken:
    """The token of a checked key (id, key_id, key_hash, organization_id), its use
    recorded when the last one is a minute old; the other fields load if read."""
    if idle:
        EnrollmentToken.objects.filter(pk=row[0]).update(last_used_at=now)
    return EnrollmentToken.from_db(
        connection.alias, ["id", "key_id", "key_hash", "organization_id"], row
    )


@transaction.atomic
def revoke_enrollment_token(*, acting_user: User, token_id: int) -> EnrollmentToken:
    ticket_policy.require_admin(acting_user)
    token = EnrollmentToken.objects.filter(pk=token_id).first()
    if token is None:
        raise NotFound(_("Enrollment token not found."))
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def users_by_name(names: Iterable[str]) -> dict[str, User]:
    """Users by username or email (lower-cased), for imports and forms."""
    given = {name.strip() for name in names if name and name.strip()}
    wanted = given | {name.lower() for name in given}
    if not wanted:
        return {}
    found: dict[str, User] = {}
    users = User.objects.select_related("organization").filter(
        Q(username__in=wanted) | Q(email__in=wanted)
    )
    for user in users:
        found[user.username.lower()] = user
        if user.email:
            found[user.email.lower()] = user
    return found


@transaction.atomic
def open_ticket_about(asset: Asset, *, acting_user: User, **ticket_fields: Any) -> Ticket:
    """Open a ticket (tickets.services.open_ticket) and link it to the asset, together:
    the portal's new-ticket form when the requester picked one of their assets."""
    from soporte.tickets import services as tickets

    if not policy.can_view(acting_user, asset):
        raise NotFound(_("Asset %(id)s not found.") % {"id": asset.pk})
    ticket = tickets.open_ticket(acting_user=acting_user, **ticket_fields)
    link_ticket(asset, ticket, acting_user=acting_user)
    return ticket
