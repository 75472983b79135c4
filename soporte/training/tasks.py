"""Training's background jobs (soporte/jobs): each takes ids and is idempotent."""

from __future__ import annotations

from soporte.jobs.registry import job


# smtplib errors are OSErrors: a refused connection, a timeout, a 4xx reply.
@job("training.send_mail", max_attempts=6, retry_on=(OSError,), backoff=60.0)
def send_training_mail(attendee_id: int, kind: str, sequence: int) -> bool:
    """Send one invitation, update, cancellation or waiting-list mail. False when there
    is nothing to send any more: the place is gone, the person has no address, or the
    session changed since (a newer mail with a higher SEQUENCE is on its way)."""
    from .mail import KINDS, build
    from .models import Attendee

    attendee = (
        Attendee.objects.select_related("session__course", "session__trainer", "user")
        .filter(pk=attendee_id)
        .first()
    )
    if attendee is None or kind not in KINDS or not attendee.user.email:
        return False
    if attendee.session.sequence != sequence:
        return False
    build(attendee, kind).send()
    return True
