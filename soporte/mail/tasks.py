"""The mail area's background jobs (soporte/jobs): each takes ids and is idempotent."""

from __future__ import annotations

from soporte.jobs.registry import job


@job("mail.process_raw", max_attempts=3, batched=True)
def process_raw(calls: list[list[int]]) -> None:
    """Turn stored messages into tickets or replies (each run names one; the runs a
    worker claims together share one transaction, a savepoint each). Idempotent: a
    message already processed (or being processed by another worker) is left alone; one
    that cannot be processed goes to the quarantine, not to a retry."""
    from .services import process_raw_messages

    process_raw_messages([args[0] for args in calls])


@job("mail.notify_change")
def notify_change(ticket_id: int, event_ids: list[int], acting_user_id: int | None) -> int:
    """Record and send the mail a committed ticket change calls for, given the ids of
    its events; idempotent (each mail has a unique key, so running twice records
    nothing more)."""
    from .outbound import notify

    return len(notify(ticket_id, event_ids, acting_user_id))


@job("mail.process_pending")
def process_pending() -> int:
    """Process every stored message still waiting, e.g. after a crash or restart."""
    from .services import process_pending_messages

    return process_pending_messages()


# smtplib.SMTPException is an OSError: refused connections, timeouts and 4xx replies.
# Six attempts: the first and five retries, backing off from 30 s up to an hour.
SEND_ATTEMPTS = 6


@job(
    "mail.send_outbound",
    max_attempts=SEND_ATTEMPTS,
    retry_on=(OSError,),
    backoff=30.0,
    batched=True,
)
def send_outbound(calls: list[list[int]]) -> list[str | OSError]:
    """Send recorded OutboundMails (each run names one; the runs a worker claims
    together share one connection to the mail server); never twice. Each attempt claims
    the row by its attempt count and marks it sent right after the server took it; the
    last marks it failed, with the error, for the ticket to show. A run answered with
    an error is retried."""
    from .outbound import deliver_many

    return deliver_many([args[0] for args in calls], max_attempts=SEND_ATTEMPTS)


@job("mail.poll_mailboxes")
def poll_mailboxes() -> int:
    """Poll every active IMAP mailbox once; returns how many new messages were stored.
    Errors are recorded on each mailbox, never raised."""
    from .imap import poll_all

    return poll_all()


@job("mail.templated")
def send_templated(ticket_id: int, to: str, subject: str, body: str, key: str) -> int:
    """Record (then send) the mail an automation rule writes; idempotent by `key`."""
    from .outbound import record_templated

    return record_templated(ticket_id, to, subject, body, key)
