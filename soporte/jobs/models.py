"""Background jobs, recorded in the same transaction as the change that calls for them
(a transactional outbox): a job exists exactly when its change was committed."""

from __future__ import annotations

from django.db import connections, models
from django.db.models import IntegerField, Sum
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


def runs_sql(vendor: str) -> str:
    """SQL for the number of runs a jobs_job row holds: a bundle's argument lists, else
    one (what Job.runs counts), for the claim of a batch and for counting queued work."""
    length = "jsonb_array_length" if vendor == "postgresql" else "json_array_length"
    return f"CASE WHEN bundle THEN {length}(args) ELSE 1 END"


class JobQuerySet(models.QuerySet):
    def run_counts(self) -> dict[str, int]:
        """Runs (not rows) by status, in one query: a bundle counts as the runs it holds."""
        # Fixed SQL from runs_sql(), no input in it.
        sql = runs_sql(connections[self.db].vendor)
        runs = RawSQL(sql, [], output_field=IntegerField())  # noqa: S611
        rows = self.values_list("status").annotate(n=Sum(runs))
        return {status: n or 0 for status, n in rows.order_by()}

    def runs(self) -> list[list]:
        """The argument lists of the runs these rows record, a bundle's each (one query):
        what to count or read instead of rows, as a bundle records many runs."""
        rows = self.order_by("pk").values_list("args", "bundle")
        return [run for args, bundle in rows for run in (args if bundle else [args])]


class Job(models.Model):
    name = models.CharField(_("job"), max_length=100)
    args = models.JSONField(_("arguments"), default=list)
    # Runs of a batched job recorded together (queue.flush_jobs): args holds one argument
    # list per run, all run in one call of the job's function.
    bundle = models.BooleanField(_("bundle of runs"), default=False)
    status = models.CharField(
        _("status"), max_length=8, choices=JobStatus.choices, default=JobStatus.QUEUED
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    run_after = models.DateTimeField(_("run after"), default=timezone.now)
    # A running job whose claim expired belonged to a worker that died: it runs again.
    locked_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    objects = JobQuerySet.as_manager()

    class Meta:
        verbose_name = _("background job")
        verbose_name_plural = _("background jobs")
        indexes = [models.Index(fields=["status", "run_after"], name="job_due")]

    def __str__(self) -> str:
        if self.bundle:
            return f"{self.name} ({len(self.args)} runs) #{self.pk}"
        return f"{self.name}{tuple(self.args)!r} #{self.pk}"

    @property
    def runs(self) -> list[list]:
        """The argument lists of the runs this row records: one, or a bundle's."""
        return self.args if self.bundle else [self.args]
