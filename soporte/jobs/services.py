"""What admins do with background jobs: see the failed ones and run them again."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from soporte.accounts import policy
from soporte.accounts.models import User
from soporte.lib.errors import Conflict, NotFound

from . import queue
from .models import Job, JobStatus


def jobs_for_admin(*, acting_user: User, status: str | None = None) -> QuerySet[Job]:
    policy.require_admin(acting_user)
    jobs = Job.objects.order_by("-pk")
    return jobs.filter(status=status) if status else jobs


def retry_job(job_id: int, *, acting_user: User) -> Job:
    """Queue a failed job again with a fresh set of attempts."""
    policy.require_admin(acting_user)
    job = Job.objects.filter(pk=job_id).first()
    if job is None:
        raise NotFound(_("No background job %(id)s.") % {"id": job_id})
    if job.status != JobStatus.FAILED:
        raise Conflict(
            _("Only a failed job can be run again; this one is %(status)s.")
            % {"status": job.get_status_display()}
        )
    queue.retry_failed([job.pk])
    job.refresh_from_db()
    return job
