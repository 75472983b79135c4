from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True)
def process_raw(raw_id: int) -> None:
    """Turn a stored message into a ticket or a reply. Idempotent: a message already
    processed (or being processed by another worker) is left alone."""
    from .services import process_raw_message

    process_raw_message(raw_id)


@shared_task(acks_late=True)
def notify_change(ticket_id: int, event_kinds: list[str], acting_user_id: int | None) -> int:
    """Record and send the mail a committed ticket change calls for; idempotent (each
    mail has a unique key, so running twice records nothing more)."""
    from .outbound import notify

    return len(notify(ticket_id, event_kinds, acting_user_id))


@shared_task
def process_pending() -> int:
    """Process every stored message still waiting, e.g. after a crash or restart."""
    from .services import process_pending_messages

    return process_pending_messages()


@shared_task(
    bind=True,
    # smtplib.SMTPException is an OSError: refused connections, timeouts and 4xx replies.
    autoretry_for=(OSError,),
    retry_backoff=True,
    retry_backoff_max=3600,
    retry_jitter=True,
    max_retries=5,
)
def send_outbound(self, outbound_id: int, after_attempts: int = 0) -> str:
    """Send one recorded OutboundMail; never twice. Attempt N claims the row only while
    it is pending with N - 1 attempts (``after_attempts`` counts earlier runs, for a
    mail sent again by hand), and marks it sent right after the server took it. After
    the last retry it is marked failed, with the error."""
    from .outbound import deliver

    retries = self.request.retries or 0
    return deliver(
        outbound_id,
        attempt=after_attempts + retries + 1,
        last=retries >= self.max_retries,
    )


@shared_task
def poll_mailboxes() -> int:
    """Poll every active IMAP mailbox once; returns how many new messages were stored.
    Errors are recorded on each mailbox, never raised."""
    from .imap import poll_all

    return poll_all()
