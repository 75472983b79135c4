"""The search area's background jobs (soporte/jobs)."""

from __future__ import annotations

import logging

from soporte.jobs.registry import job

log = logging.getLogger(__name__)


@job("search.index_tickets", max_attempts=3, batched=True)
def index_tickets(calls: list[list[int]]) -> None:
    """Bring the documents of changed tickets up to date once their change committed.
    Each run names one ticket; the runs a worker claims together are indexed at once, in
    a few queries (should that fail, the worker runs each alone). Idempotent; what a
    failed run missed, the next change of the ticket or `soporte reindex` repairs."""
    from . import services

    ticket_ids = [args[0] for args in calls]
    if len(ticket_ids) > 1:
        services.index_tickets(ticket_ids)
        return
    try:
        services.index_ticket(ticket_ids[0])
    except Exception:
        log.exception("Ticket %s could not be indexed for search", ticket_ids[0])
        raise
