"""Templates may be edited here too. Checklists, sub-tasks and remote sessions are read
here; their changes go through the services, which write the ticket's history."""

from django.contrib import admin

from .models import ChecklistStep, ChecklistTemplate, RemoteSession, SubTask, TemplateStep


class TemplateStepInline(admin.TabularInline):
    model = TemplateStep
    extra = 0


@admin.register(ChecklistTemplate)
class ChecklistTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "key", "active", "updated_at"]
    list_filter = ["active"]
    search_fields = ["name"]
    filter_horizontal = ["categories"]
    inlines = [TemplateStepInline]


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ChecklistStep)
class ChecklistStepAdmin(_ReadOnly):
    list_display = ["title", "checklist", "required", "done", "done_by", "done_at"]
    list_filter = ["done", "required"]
    list_select_related = ["checklist", "done_by"]


@admin.register(SubTask)
class SubTaskAdmin(_ReadOnly):
    list_display = ["title", "ticket", "assignee", "due_at", "required", "done_at"]
    list_filter = ["required"]
    list_select_related = ["ticket", "assignee"]
    search_fields = ["title"]


@admin.register(RemoteSession)
class RemoteSessionAdmin(_ReadOnly):
    list_display = ["ticket", "tool", "agent", "consent_by", "consent_method", "started_at",
                    "ended_at"]  # fmt: skip
    list_filter = ["tool", "consent_method"]
    list_select_related = ["ticket", "agent"]
