"""The reports' background jobs (soporte/jobs): ids in, idempotent."""

from __future__ import annotations

from soporte.jobs.registry import job


@job("reports.weekly")
def weekly() -> bool:
    """Periodic: claim last ISO week's report (once) and queue its sending."""
    from .weekly import claim_week

    return claim_week() is not None


# smtplib errors are OSErrors: a refused connection, a timeout, a 4xx reply.
@job("reports.send_weekly", max_attempts=6, retry_on=(OSError,), backoff=300.0)
def send_weekly(report_id: int) -> int:
    from .weekly import send

    return send(report_id)


@job("reports.refresh_projections")
def refresh_projections() -> int:
    """Periodic: derive again the days changed since (the dashboard does it too before
    each read; run every minute or so, it keeps that read's share small)."""
    from .rollups import refresh_stale

    return refresh_stale()
