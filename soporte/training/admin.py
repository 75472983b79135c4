"""Training, read-only in the admin: changes go through the services (which send the
updated invitations and keep the waiting list in order)."""

from django.contrib import admin

from .models import Attendee, Course, Session


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Course)
class CourseAdmin(ReadOnly):
    list_display = ["title", "audience", "language", "created_at"]
    search_fields = ["title"]


@admin.register(Session)
class SessionAdmin(ReadOnly):
    list_display = ["course", "starts_at", "capacity", "trainer", "status", "sequence"]
    list_filter = ["status"]


@admin.register(Attendee)
class AttendeeAdmin(ReadOnly):
    list_display = ["session", "user", "status", "attended", "rating"]
    list_filter = ["status"]
