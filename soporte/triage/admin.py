"""The settings may be changed here too; models, suggestions and incidents are read-only
(training and decisions go through the services)."""

from django.contrib import admin

from .models import Incident, TriageModel, TriageSettings


@admin.register(TriageSettings)
class TriageSettingsAdmin(admin.ModelAdmin):
    list_display = ["__str__", "enabled", "auto_apply_threshold", "storm_size", "storm_minutes"]

    def has_add_permission(self, request):
        return not TriageSettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(TriageModel)
class TriageModelAdmin(admin.ModelAdmin):
    list_display = ["version", "trained_at", "samples", "trained_by"]
    exclude = ["blob"]
    readonly_fields = ["version", "trained_at", "metrics", "samples", "trained_by"]

    def has_add_permission(self, request):
        return False


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    list_display = ["title", "status", "reason", "ticket_count", "detected_at"]
    list_filter = ["status", "reason"]
    readonly_fields = ["reason", "reason_key", "first_ticket_at", "last_ticket_at", "ticket_count"]
