"""The evaluations area's background jobs (soporte/jobs): each takes ids and is idempotent."""

from __future__ import annotations

from soporte.jobs.registry import job

from .services import MAX_FEEDBACK_ATTEMPTS


@job(
    "evaluations.mail_feedback",
    max_attempts=MAX_FEEDBACK_ATTEMPTS,
    retry_on=(OSError,),
    backoff=60.0,
)
def mail_feedback(feedback_id: int) -> str:
    """Mail one feedback to the vendor."""
    from .services import deliver_feedback

    return deliver_feedback(feedback_id)
