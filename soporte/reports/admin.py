from django.contrib import admin

from .models import DailyRollup, DayFacet, DaySeries, TicketContribution, WeeklyReport


@admin.register(WeeklyReport)
class WeeklyReportAdmin(admin.ModelAdmin):
    list_display = ("__str__", "created_at", "sent_at", "recipients")
    readonly_fields = ("year", "week", "created_at", "sent_at", "recipients")


class ReadOnly(admin.ModelAdmin):
    """Derived data: rebuilt with `soporte rebuild_rollups`, never edited by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(DailyRollup)
class DailyRollupAdmin(ReadOnly):
    list_display = (
        "day", "team_id", "organization_id", "category_id", "channel", "tier", "agent_id",
        "created", "resolved",
    )  # fmt: skip
    list_filter = ("channel", "tier")
    date_hierarchy = "day"


@admin.register(TicketContribution)
class TicketContributionAdmin(ReadOnly):
    list_display = ("ticket_id", "updated_at")


@admin.register(DaySeries)
class DaySeriesAdmin(ReadOnly):
    list_display = ("day", "fdim", "fval", "created", "resolved")
    list_filter = ("fdim",)
    date_hierarchy = "day"


@admin.register(DayFacet)
class DayFacetAdmin(ReadOnly):
    list_display = ("day", "fdim", "fval", "gdim", "gval", "created", "resolved")
    list_filter = ("fdim", "gdim")
    date_hierarchy = "day"
