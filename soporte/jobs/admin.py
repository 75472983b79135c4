from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from . import queue
from .models import Job, JobStatus


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    """Background jobs; failed ones wait here, with their error, for a retry."""

    list_display = [
        "pk", "name", "runs", "status", "attempts", "run_after", "finished_at", "created_at",
    ]  # fmt: skip
    list_filter = ["status", "name", "bundle"]
    readonly_fields = [f.name for f in Job._meta.fields]
    actions = ["retry"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    @admin.display(description=_("runs"))
    def runs(self, job: Job) -> int:
        """A bundle records many runs of its job in one row (each failed run leaves it,
        as a row of its own, to be retried here)."""
        return len(job.runs)

    @admin.action(description=_("Run the selected failed jobs again"))
    def retry(self, request, queryset):
        ids = list(queryset.filter(status=JobStatus.FAILED).values_list("pk", flat=True))
        count = queue.retry_failed(ids)
        self.message_user(
            request, _("%(count)s jobs queued again.") % {"count": count}, messages.SUCCESS
        )
