"""The tickets area's background jobs (soporte/jobs): each takes ids and is idempotent."""

from __future__ import annotations

from soporte.jobs.registry import job


# smtplib errors are OSErrors: a refused connection, a timeout, a 4xx reply.
@job("tickets.satisfaction_alert", max_attempts=6, retry_on=(OSError,), backoff=60.0)
def satisfaction_alert(rating_id: int) -> int:
    """Mail the supervisors about a low satisfaction rating, once."""
    from .satisfaction import send_low_rating_alert

    return send_low_rating_alert(rating_id)
