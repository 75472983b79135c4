from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from .models import ApiToken, Organization, OrganizationDomain, Team, User


class DomainInline(admin.TabularInline):
    model = OrganizationDomain
    extra = 1


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "created_at"]
    search_fields = ["name", "domains__domain"]
    inlines = [DomainInline]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = [
        "username",
        "email",
        "first_name",
        "last_name",
        "role",
        "tier",
        "organization",
        "is_active",
    ]
    list_filter = ["role", "tier", "is_active", "organization"]
    list_select_related = ["organization"]
    fieldsets = BaseUserAdmin.fieldsets + (
        (
            _("Help desk"),
            {
                "fields": [
                    "role",
                    "tier",
                    "organization",
                    "sees_organization_tickets",
                    "language",
                    "time_zone",
                    "phone",
                ]
            },
        ),
    )


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "tier", "email", "escalation_team"]
    list_filter = ["tier"]
    filter_horizontal = ["members"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "key_id", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["user", "name", "key_id", "key_hash", "created_at", "last_used_at"]

    def has_add_permission(self, request):
        return False  # tokens are made by their owner, who sees the key once
