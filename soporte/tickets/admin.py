"""Reference data is edited here; tickets are read-only (changes go through the
services, which check permissions and keep the audit trail)."""

from django.contrib import admin

from .models import CannedResponse, Category, Tag, Ticket, TicketEvent


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "parent"]
    search_fields = ["name"]


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    search_fields = ["name"]


@admin.register(CannedResponse)
class CannedResponseAdmin(admin.ModelAdmin):
    list_display = ["title", "owner"]
    search_fields = ["title", "body"]


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Ticket)
class TicketAdmin(ReadOnly):
    list_display = [
        "number",
        "subject",
        "status",
        "priority",
        "tier",
        "team",
        "assignee",
        "updated_at",
    ]
    list_filter = ["status", "priority", "tier", "team"]
    search_fields = ["number", "subject"]
    list_select_related = ["team", "assignee"]
    show_full_result_count = False


@admin.register(TicketEvent)
class TicketEventAdmin(ReadOnly):
    list_display = ["ticket", "kind", "field", "old", "new", "actor", "created_at"]
    list_filter = ["kind"]
    list_select_related = ["ticket", "actor"]
    show_full_result_count = False
