"""Background jobs for admins: GET /api/v1/jobs?status=failed, POST .../{id}/retry."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Router, Schema

from soporte.lib.schema import Id

from . import services
from .models import JobStatus

router = Router(tags=["jobs"])


class JobOut(Schema):
    id: int
    name: str
    # A bundle records many runs of a batched job: args holds each run's argument list.
    args: list
    bundle: bool
    status: JobStatus
    attempts: int
    run_after: datetime
    last_error: str
    created_at: datetime
    finished_at: datetime | None


@router.get("", response=list[JobOut], summary="Background jobs, newest first (admins)")
def jobs(request: HttpRequest, status: JobStatus | None = None, limit: int = 100):
    limit = max(1, min(limit, 500))
    return services.jobs_for_admin(acting_user=request.auth, status=status)[:limit]


@router.post("/{job_id}/retry", response=JobOut, summary="Run a failed job again (admins)")
def retry(request: HttpRequest, job_id: Id):
    return services.retry_job(job_id, acting_user=request.auth)
