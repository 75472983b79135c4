"""Flows are listed here; they are edited in the desk (/desk/flows/), where every save is
validated and kept as a version."""

from django.contrib import admin

from .models import Flow, FlowRun


@admin.register(Flow)
class FlowAdmin(admin.ModelAdmin):
    list_display = ["title", "slug", "language", "public", "archived", "version", "updated_at"]
    list_filter = ["language", "public", "archived"]
    search_fields = ["title", "slug"]
    readonly_fields = ["slug", "title", "description", "language", "public", "version",
                       "created_by"]  # fmt: skip

    def has_add_permission(self, request):
        return False


@admin.register(FlowRun)
class FlowRunAdmin(admin.ModelAdmin):
    list_display = ["pk", "flow", "user", "ticket", "channel", "outcome", "started_at"]
    list_filter = ["outcome", "channel"]
    raw_id_fields = ["ticket", "user", "flow", "flow_version"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
