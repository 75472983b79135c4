"""The configuration database: what exists, where, whose it is, and what happened to it.

Assets (machines, peripherals, network gear, patch panels, wall outlets) of a type whose
JSON schema validates their custom fields; their history; installed software and
licences; ports and the cabling chain with its certifications; links to tickets;
enrollment tokens for the inventory agent; preventive maintenance plans.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from soporte.accounts.models import Organization, Team


class Kind(models.TextChoices):
    COMPUTER = "computer", _("Computer")
    MONITOR = "monitor", _("Monitor")
    PRINTER = "printer", _("Printer")
    PERIPHERAL = "peripheral", _("Peripheral")
    NETWORK = "network", _("Network device")
    PATCH_PANEL = "patch_panel", _("Patch panel")
    WALL_OUTLET = "wall_outlet", _("Wall outlet")


class AssetStatus(models.TextChoices):
    IN_STOCK = "in_stock", _("In stock")
    IN_USE = "in_use", _("In use")
    IN_REPAIR = "in_repair", _("In repair")
    RETIRED = "retired", _("Retired")


class AssetType(models.Model):
    """E.g. "Laptop" (a computer) or "Switch" (a network device). `schema` is a JSON
    Schema that every asset's custom fields of this type must satisfy."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    schema = models.JSONField(_("custom fields schema"), default=dict, blank=True)

    class Meta:
        ordering = ["kind", "name"]
        verbose_name = _("asset type")
        verbose_name_plural = _("asset types")

    def __str__(self) -> str:
        return self.name


class Location(models.Model):
    """A site, building, floor or room; `parent` nests them."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children"
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("location")
        verbose_name_plural = _("locations")

    def __str__(self) -> str:
        return self.name


class Asset(models.Model):
    tag = models.CharField(_("asset tag"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200, blank=True)
    type = models.ForeignKey(
        AssetType, on_delete=models.PROTECT, related_name="assets", verbose_name=_("type")
    )
    # A copy of type.kind, so lists filter by kind without a join.
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, editable=False)
    status = models.CharField(
        _("status"), max_length=16, choices=AssetStatus.choices, default=AssetStatus.IN_STOCK
    )
    serial = models.CharField(_("serial number"), max_length=100, blank=True)
    # The machine's SMBIOS UUID (or, where unreadable, its OS machine id): what the agent
    # matches on first.
    hardware_uuid = models.CharField(_("hardware UUID"), max_length=64, blank=True)
    manufacturer = models.CharField(_("manufacturer"), max_length=100, blank=True)
    model = models.CharField(_("model"), max_length=100, blank=True)
    location = models.ForeignKey(
        Location,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assets",
        verbose_name=_("location"),
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assets",
        verbose_name=_("owner"),
    )
    organization = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assets",
        verbose_name=_("organization"),
    )
    purchase_date = models.DateField(_("purchase date"), null=True, blank=True)
    warranty_end = models.DateField(_("warranty end"), null=True, blank=True)
    # Computers.
    hostname = models.CharField(_("hostname"), max_length=253, blank=True)
    os_name = models.CharField(_("operating system"), max_length=100, blank=True)
    os_version = models.CharField(_("OS version"), max_length=100, blank=True)
    cpu = models.CharField(_("CPU"), max_length=200, blank=True)
    ram_mb = models.PositiveIntegerField(_("RAM (MB)"), null=True, blank=True)
    # [{"name": "sda", "size_gb": 512, "model": "..."}]
    disks = models.JSONField(_("disks"), default=list, blank=True)
    # [{"name": "eth0", "mac": "aa:bb:...", "ips": ["10.0.0.5"]}]
    interfaces = models.JSONField(_("network interfaces"), default=list, blank=True)
    custom = models.JSONField(_("custom fields"), default=dict, blank=True)
    attached_to = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="attachments",
        verbose_name=_("attached to"),
    )
    last_inventory_at = models.DateTimeField(_("last inventory"), null=True, blank=True)
    stale = models.BooleanField(_("stale"), default=False)
    # SHA-256 of the last inventory report as sent, and of its package list: an
    # unchanged report costs one UPDATE.
    inventory_hash = models.CharField(max_length=64, blank=True, editable=False)
    software_hash = models.CharField(max_length=64, blank=True, editable=False)
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["tag"]
        verbose_name = _("asset")
        verbose_name_plural = _("assets")
        constraints = [
            models.UniqueConstraint(
                fields=["hardware_uuid"],
                condition=~Q(hardware_uuid=""),
                name="asset_unique_hardware_uuid",
            )
        ]
        indexes = [
            models.Index(fields=["kind", "tag"], name="asset_kind_tag"),
            models.Index(fields=["status", "tag"], name="asset_status_tag"),
            models.Index(fields=["organization", "tag"], name="asset_org_tag"),
            models.Index(fields=["location", "tag"], name="asset_location_tag"),
            models.Index(fields=["owner", "tag"], name="asset_owner_tag"),
            models.Index(fields=["serial"], name="asset_serial"),
            models.Index(fields=["hostname"], name="asset_hostname"),
            models.Index(fields=["updated_at", "id"], name="asset_updated"),
            models.Index(fields=["stale", "last_inventory_at"], name="asset_stale"),
            # Partial: most assets have no hash. A lookup repeats the condition
            # (.exclude(inventory_hash="")), or SQLite would not use the index.
            models.Index(
                fields=["inventory_hash"],
                condition=~Q(inventory_hash=""),
                name="asset_inventory_digest",
            ),
            models.Index(fields=["name"], name="asset_name"),
        ]

    def __str__(self) -> str:
        return f"{self.tag} {self.name or self.hostname or self.model}".strip()


class EventKind(models.TextChoices):
    CREATED = "created", _("Created")
    CHANGED = "changed", _("Changed")
    INVENTORY = "inventory", _("Inventory report")
    SOFTWARE_ADDED = "software_added", _("Software added")
    SOFTWARE_REMOVED = "software_removed", _("Software removed")
    SOFTWARE_CHANGED = "software_changed", _("Software version changed")
    TICKET_LINKED = "ticket_linked", _("Ticket linked")
    TICKET_UNLINKED = "ticket_unlinked", _("Ticket unlinked")
    CONNECTED = "connected", _("Cable connected")
    DISCONNECTED = "disconnected", _("Cable disconnected")
    CERTIFIED = "certified", _("Link certified")
    STALE = "stale", _("Not reported")
    MAINTENANCE = "maintenance", _("Maintenance")
    IMPORTED = "imported", _("Imported")


class AssetEvent(models.Model):
    """One change of an asset: who (None = the agent or the system), when, old -> new."""

    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)
    kind = models.CharField(max_length=20, choices=EventKind.choices)
    field = models.CharField(max_length=50, blank=True)
    old = models.TextField(blank=True)
    new = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["asset", "at"], name="assetevent_asset_at")]

    def __str__(self) -> str:
        return f"{self.asset_id} {self.kind} {self.field}"


# -- software ---------------------------------------------------------------------------


class SoftwareProduct(models.Model):
    """A product installed on machines. A licensed one may be installed on no more
    machines than its valid licences have seats."""

    name = models.CharField(_("name"), max_length=200)
    vendor = models.CharField(_("vendor"), max_length=200, blank=True)
    licensed = models.BooleanField(_("needs a licence"), default=False)

    class Meta:
        ordering = ["name", "vendor"]
        constraints = [
            models.UniqueConstraint(fields=["name", "vendor"], name="software_unique_name")
        ]
        # Each first or changed inventory report reads the (few) licensed products.
        indexes = [
            models.Index(fields=["id"], condition=Q(licensed=True), name="software_licensed")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.vendor})" if self.vendor else self.name


class Licence(models.Model):
    product = models.ForeignKey(SoftwareProduct, on_delete=models.CASCADE, related_name="licences")
    name = models.CharField(_("name or key reference"), max_length=200, blank=True)
    seats = models.PositiveIntegerField(_("seats"), default=1)
    purchase_date = models.DateField(_("purchase date"), null=True, blank=True)
    expires_on = models.DateField(_("expires on"), null=True, blank=True)
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["product", "expires_on"]

    def __str__(self) -> str:
        return f"{self.product}: {self.seats}"


class Source(models.TextChoices):
    MANUAL = "manual", _("Entered by an agent")
    AGENT = "agent", _("Reported by the inventory agent")


class Installation(models.Model):
    """Software entered by hand, and the agent's reported packages of licensed products
    (those licences count); the agent's full package list of a machine is one
    MachineSoftware row."""

    # No index of its own: the unique (asset, product) index starts with it, and one
    # index less is one write less for each of the hundreds of packages a report adds.
    asset = models.ForeignKey(
        Asset, on_delete=models.CASCADE, related_name="installations", db_index=False
    )
    product = models.ForeignKey(
        SoftwareProduct, on_delete=models.PROTECT, related_name="installations"
    )
    version = models.CharField(_("version"), max_length=100, blank=True)
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.MANUAL)
    installed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["product__name"]
        constraints = [
            models.UniqueConstraint(fields=["asset", "product"], name="installation_unique")
        ]

    def __str__(self) -> str:
        return f"{self.product_id} {self.version} on {self.asset_id}"


class MachineSoftware(models.Model):
    """The packages the inventory agent last reported for a machine, in one row: a report
    writes one row, not hundreds (which on PostgreSQL also locked every product row they
    referred to). `packages` maps a product's id (as a string: JSON keys) to [version,
    first seen (Unix seconds)]. Installation rows are kept only for licensed products."""

    asset = models.OneToOneField(
        Asset, on_delete=models.CASCADE, primary_key=True, related_name="machine_software"
    )
    packages = models.JSONField(default=dict)

    def __str__(self) -> str:
        return f"{len(self.packages)} packages on {self.asset_id}"


class SearchBacklog(models.Model):
    """Assets whose search document is still to be written: the inventory agent's new
    and renamed machines. A report adds its row in the statements it sends anyway; the
    batched job assets.index_backlog writes the documents of many at once."""

    # No foreign key: nothing to check at each report's commit, and the job drops the
    # document of an asset deleted meanwhile.
    asset_id = models.BigIntegerField(primary_key=True)

    def __str__(self) -> str:
        return f"asset {self.asset_id} to index"


# -- tickets --------------------------------------------------------------------------


class TicketAsset(models.Model):
    """A ticket about an asset (tickets do not know about assets; this is the link)."""

    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.CASCADE, related_name="asset_links"
    )
    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="ticket_links")
    linked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    linked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["linked_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["ticket", "asset"], name="ticketasset_unique")
        ]
        indexes = [models.Index(fields=["asset", "linked_at"], name="ticketasset_asset")]

    def __str__(self) -> str:
        return f"ticket {self.ticket_id} - asset {self.asset_id}"


# -- cabling --------------------------------------------------------------------------


class Port(models.Model):
    """A jack: a computer's network port, a wall outlet's socket, a patch panel or switch
    port. `patched_to` is the patch cord at its front (kept on both ends); the permanent
    link between an outlet and a panel port is a CableLink."""

    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="ports")
    name = models.CharField(_("port"), max_length=50)
    patched_to = models.OneToOneField(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["asset", "name"]
        constraints = [models.UniqueConstraint(fields=["asset", "name"], name="port_unique")]

    def __str__(self) -> str:
        return f"{self.asset.tag}:{self.name}"


class CableCategory(models.TextChoices):
    CAT5E = "cat5e", "Cat5e"
    CAT6 = "cat6", "Cat6"
    CAT6A = "cat6a", "Cat6A"
    FIBRE = "fibre", _("Fibre")


class CableStandard(models.TextChoices):
    TIA_568 = "tia-568", "TIA-568"
    ISO_D = "iso-d", "ISO/IEC 11801 Class D"
    ISO_E = "iso-e", "ISO/IEC 11801 Class E"
    ISO_EA = "iso-ea", "ISO/IEC 11801 Class EA"
    ISO_F = "iso-f", "ISO/IEC 11801 Class F"
    ISO_FA = "iso-fa", "ISO/IEC 11801 Class FA"
    ISO_OF = "iso-of", "ISO/IEC 11801 OF (optical)"


class CableLink(models.Model):
    """The permanent link from a wall outlet's port to a patch panel port."""

    link_id = models.CharField(_("link ID"), max_length=64, unique=True)
    outlet_port = models.OneToOneField(
        Port, on_delete=models.PROTECT, related_name="outlet_link", verbose_name=_("outlet")
    )
    panel_port = models.OneToOneField(
        Port, on_delete=models.PROTECT, related_name="panel_link", verbose_name=_("panel port")
    )
    category = models.CharField(_("category"), max_length=8, choices=CableCategory.choices)
    standard = models.CharField(_("standard"), max_length=8, choices=CableStandard.choices)
    length_m = models.DecimalField(
        _("length (m)"), max_digits=7, decimal_places=2, null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["link_id"]

    def __str__(self) -> str:
        return self.link_id


class Certification(models.Model):
    """One test of a link by a cable certifier, with its margins (dB, positive = headroom)
    and the tester's own report."""

    link = models.ForeignKey(CableLink, on_delete=models.CASCADE, related_name="certifications")
    tested_on = models.DateField(_("test date"))
    technician = models.CharField(_("technician"), max_length=100)
    tester_model = models.CharField(_("tester model"), max_length=100)
    passed = models.BooleanField(_("passed"))
    next_margin_db = models.DecimalField(
        "NEXT margin (dB)", max_digits=6, decimal_places=2, null=True, blank=True
    )
    insertion_loss_margin_db = models.DecimalField(
        _("insertion loss margin (dB)"), max_digits=6, decimal_places=2, null=True, blank=True
    )
    return_loss_margin_db = models.DecimalField(
        _("return loss margin (dB)"), max_digits=6, decimal_places=2, null=True, blank=True
    )
    report = models.FileField(_("tester's report"), upload_to="cable-reports/%Y/%m/", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-tested_on", "-id"]
        indexes = [models.Index(fields=["link", "tested_on"], name="certification_link")]

    def __str__(self) -> str:
        return f"{self.link_id} {self.tested_on} {'pass' if self.passed else 'fail'}"


# -- imports --------------------------------------------------------------------------


class ImportKind(models.TextChoices):
    ASSETS = "assets", _("Assets")
    CERTIFICATIONS = "certifications", _("Cable certifications")


class ImportStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    CHECKING = "checking", _("Checking rows")
    SAVING = "saving", _("Saving")
    DONE = "done", _("Imported")
    REFUSED = "refused", _("Refused: errors found")
    FAILED = "failed", _("Failed")


class ImportRun(models.Model):
    """A CSV file being imported by a background job: all rows or none."""

    kind = models.CharField(max_length=16, choices=ImportKind.choices)
    filename = models.CharField(max_length=200, blank=True)
    content = models.TextField()
    status = models.CharField(
        max_length=10, choices=ImportStatus.choices, default=ImportStatus.QUEUED
    )
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    # [{"row": 3, "column": "status", "message": "..."}], row 1 being the header.
    errors = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} import {self.pk} ({self.status})"

    @property
    def percent(self) -> int:
        if self.status in (ImportStatus.DONE, ImportStatus.REFUSED):
            return 100
        return int(100 * self.processed / self.total) if self.total else 0

    @property
    def finished(self) -> bool:
        return self.status in (ImportStatus.DONE, ImportStatus.REFUSED, ImportStatus.FAILED)


# -- the inventory agent ----------------------------------------------------------------


class EnrollmentToken(models.Model):
    """Lets the inventory agent report machines. Only a SHA-256 of the secret is kept."""

    PREFIX = "enr_"

    name = models.CharField(_("name"), max_length=100)
    key_id = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64)
    # Machines first reported with this token belong to this organization.
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.PREFIX}{self.key_id}_…)"


# -- preventive maintenance --------------------------------------------------------------


class MaintenancePlan(models.Model):
    """A recurring schedule (RFC 5545 RRULE from `starts_at`) on chosen assets and/or a
    group (every asset of a type, at a location). Each occurrence opens a ticket per
    asset `lead_days` ahead of the due date, with the checklist."""

    name = models.CharField(_("name"), max_length=200)
    rrule = models.CharField(_("recurrence (RRULE)"), max_length=500)
    starts_at = models.DateTimeField(_("first occurrence"))
    lead_days = models.PositiveSmallIntegerField(_("days ahead"), default=7)
    checklist = models.JSONField(_("checklist"), default=list)
    assets = models.ManyToManyField(Asset, blank=True, related_name="maintenance_plans")
    asset_type = models.ForeignKey(
        AssetType, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    location = models.ForeignKey(
        Location, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    team = models.ForeignKey(Team, on_delete=models.SET_NULL, null=True, blank=True)
    active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TaskStatus(models.TextChoices):
    OPEN = "open", _("Open")
    DONE = "done", _("Done")


class MaintenanceTask(models.Model):
    plan = models.ForeignKey(MaintenancePlan, on_delete=models.CASCADE, related_name="tasks")
    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="maintenance_tasks")
    due_at = models.DateTimeField(_("due"))
    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=8, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    results = models.JSONField(default=dict, blank=True)  # checklist item -> done
    notes = models.TextField(blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    class Meta:
        ordering = ["due_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "asset", "due_at"], name="task_unique")
        ]
        indexes = [models.Index(fields=["status", "due_at"], name="task_status_due")]

    def __str__(self) -> str:
        return f"{self.plan} / {self.asset_id} @ {self.due_at:%Y-%m-%d}"
