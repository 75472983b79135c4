from django.contrib import admin

from .models import BusinessCalendar, Holiday, SlaClock, SlaPolicy, WorkingHours


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
