from django.contrib import admin

from .models import (
    Asset,
    AssetEvent,
    AssetType,
    CableLink,
    Certification,
    EnrollmentToken,
    ImportRun,
    Licence,
    Location,
    MaintenancePlan,
    MaintenanceTask,
    SoftwareProduct,
)


@admin.register(AssetType)
class AssetTypeAdmin(admin.ModelAdmin):
    list_display = ["name", "kind"]
    list_filter = ["kind"]


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin):
    list_display = ["name", "parent"]
    search_fields = ["name"]


@admin.register(Asset)
class AssetAdmin(admin.ModelAdmin):
    """Read-only: changes go through the desk's pages or the API, which keep history."""

    list_display = ["tag", "name", "type", "status", "owner", "organization", "stale"]
    list_filter = ["kind", "status", "stale"]
    search_fields = ["tag", "serial", "hostname", "name"]
    show_full_result_count = False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(AssetEvent)
class AssetEventAdmin(admin.ModelAdmin):
    list_display = ["asset", "at", "actor", "kind", "field", "old", "new"]
    list_filter = ["kind"]
    raw_id_fields = ["asset", "actor"]
    show_full_result_count = False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(SoftwareProduct)
class SoftwareProductAdmin(admin.ModelAdmin):
    list_display = ["name", "vendor", "licensed"]
    search_fields = ["name", "vendor"]
    # Installations, machines' package lists and history refer to them; a licence
    # (added on the desk or through the API) makes a product licensed and counts it.
    readonly_fields = ["name", "vendor", "licensed"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Licence)
class LicenceAdmin(admin.ModelAdmin):
    list_display = ["product", "name", "seats", "expires_on"]
    raw_id_fields = ["product"]


@admin.register(EnrollmentToken)
class EnrollmentTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "organization", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["key_id", "key_hash"]

    def has_add_permission(self, request) -> bool:
        return False  # made on the desk's page, where the key is shown once


@admin.register(CableLink)
class CableLinkAdmin(admin.ModelAdmin):
    list_display = ["link_id", "outlet_port", "panel_port", "category", "standard"]
    raw_id_fields = ["outlet_port", "panel_port"]


@admin.register(Certification)
class CertificationAdmin(admin.ModelAdmin):
    list_display = ["link", "tested_on", "passed", "technician", "tester_model"]
    raw_id_fields = ["link"]


@admin.register(ImportRun)
class ImportRunAdmin(admin.ModelAdmin):
    list_display = ["pk", "kind", "filename", "status", "created_at"]
    exclude = ["content"]


@admin.register(MaintenancePlan)
class MaintenancePlanAdmin(admin.ModelAdmin):
    list_display = ["name", "rrule", "active"]
    filter_horizontal = ["assets"]


@admin.register(MaintenanceTask)
class MaintenanceTaskAdmin(admin.ModelAdmin):
    list_display = ["plan", "asset", "due_at", "status"]
    raw_id_fields = ["asset", "ticket"]
