"""Trackers are configured here (the token and secret stay in the environment: only the
names of their variables are stored); problems may be read and corrected."""

from django.contrib import admin
from django.db import models

from .models import BugReport, Problem, Tracker


@admin.register(Tracker)
class TrackerAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "base_url", "project", "active"]
    list_filter = ["kind", "active"]
    search_fields = ["name", "project"]
    readonly_fields = ["webhook_path"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    @admin.display(description="Status webhook URL")
    def webhook_path(self, obj):
        from django.urls import reverse

        if obj is None or obj.pk is None:
            return "-"
        return reverse("api:problems_webhook", kwargs={"tracker_id": obj.pk})


class BugReportInline(admin.TabularInline):
    model = BugReport
    extra = 0
    can_delete = False
    fields = ["tracker", "status", "attempts", "last_error", "created_at", "sent_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Problem)
class ProblemAdmin(admin.ModelAdmin):
    list_display = ["title", "status", "bug_key", "bug_state", "updated_at"]
    list_filter = ["status", "bug_state"]
    search_fields = ["title", "bug_key"]
    raw_id_fields = ["assets"]
    readonly_fields = ["created_by", "tracker", "bug_key", "bug_url", "bug_state", "bug_fixed_at",
                       "version"]  # fmt: skip
    inlines = [BugReportInline]

    def has_add_permission(self, request):
        return False  # through the desk, which links tickets and writes their events
