from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from soporte.lib.errors import ServiceError

from .automation import check_actions, check_conditions
from .models import (
    TIMED_TRIGGERS,
    BusinessCalendar,
    Holiday,
    Rule,
    SlaClock,
    SlaPolicy,
    WorkingHours,
)


class WorkingHoursInline(admin.TabularInline):
    model = WorkingHours
    extra = 0


class HolidayInline(admin.TabularInline):
    model = Holiday
    extra = 0


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(admin.ModelAdmin):
    list_display = ["name", "time_zone"]
    inlines = [WorkingHoursInline, HolidayInline]


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
    list_display = [
        "position", "name", "active", "priority", "organization", "team", "calendar",
        "first_response_minutes", "resolution_minutes", "on_breach",
    ]  # fmt: skip
    list_display_links = ["name"]
    list_editable = ["position", "active"]


@admin.register(SlaClock)
class SlaClockAdmin(admin.ModelAdmin):
    list_display = ["ticket", "policy", "first_response_due", "resolution_due", "next_check_at"]
    readonly_fields = [f.name for f in SlaClock._meta.fields]
    list_select_related = ["ticket", "policy"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False


class RuleForm(forms.ModelForm):
    class Meta:
        model = Rule
        fields = ["name", "position", "active", "trigger", "hours", "conditions", "actions"]

    def clean(self):
        data = super().clean()
        try:
            data["conditions"] = check_conditions(data.get("conditions") or [])
            data["actions"] = check_actions(data.get("actions"))
        except ServiceError as error:
            raise forms.ValidationError(error.message) from error
        if data.get("trigger") in TIMED_TRIGGERS and not data.get("hours"):
            raise forms.ValidationError(_("A timed rule needs a number of hours."))
        return data


@admin.register(Rule)
class RuleAdmin(admin.ModelAdmin):
    """Conditions and actions are JSON (see the Rule docstring); the form checks them."""

    form = RuleForm
    list_display = ["position", "name", "active", "trigger", "hours", "updated_at"]
    list_display_links = ["name"]
    list_editable = ["position", "active"]
    readonly_fields = ["created_by", "updated_at"]
