"""Reference data is edited here; tickets are read-only (changes go through the
services, which check permissions and keep the audit trail)."""

from django import forms
from django.contrib import admin

from soporte.lib.errors import InvalidInput

from . import workspace
from .models import (
    CannedResponse,
    Category,
    SatisfactionRating,
    Tag,
    Ticket,
    TicketEvent,
    TimeEntry,
)


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "parent"]
    search_fields = ["name"]


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    search_fields = ["name"]


class CannedResponseForm(forms.ModelForm):
    """The same rules as the macro services: known placeholders only, and so on."""

    class Meta:
        model = CannedResponse
        fields = [
            "title", "body", "owner", "kind", "status", "impact", "urgency", "team",
            "assign", "assignee", "add_tags",
        ]  # fmt: skip

    def _post_clean(self):
        super()._post_clean()  # the instance now holds the submitted values
        if not self.errors:
            try:
                workspace.check_macro(self.instance)
            except InvalidInput as error:
                self.add_error(None, error.message)


@admin.register(CannedResponse)
class CannedResponseAdmin(admin.ModelAdmin):
    form = CannedResponseForm
    list_display = ["title", "owner", "kind", "status", "team"]
    list_filter = ["kind"]
    search_fields = ["title", "body"]
    list_select_related = ["owner", "team"]
    raw_id_fields = ["owner", "assignee"]


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


class _ReadOnly(admin.ModelAdmin):
    """Written by the time and survey services only; listed here for reading."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(TimeEntry)
class TimeEntryAdmin(_ReadOnly):
    list_display = ["ticket", "agent", "seconds", "billable", "created_at"]
    list_filter = ["billable"]
    list_select_related = ["ticket", "agent"]


@admin.register(SatisfactionRating)
class SatisfactionRatingAdmin(_ReadOnly):
    list_display = ["ticket", "rating", "agent", "team", "created_at"]
    list_filter = ["rating"]
    list_select_related = ["ticket", "agent", "team"]
