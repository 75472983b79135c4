"""Sent when a ticket changes, inside the transaction, right after its events are written.
Other areas (mail, SLA, search, triage) connect here and record their background jobs
(soporte.jobs) or update their own rows, so tickets never imports them; the jobs run only
once the change is committed. Anything slow belongs in a job, not in the receiver."""

from django.dispatch import Signal

# kwargs: ticket_id (int), event_kinds (list[str]), acting_user_id (int | None),
# ticket (the Ticket as changed), events (the TicketEvents just written)
# Receivers looked up once per sender (the cache is cleared when one connects): sent
# several times per change.
ticket_changed = Signal(use_caching=True)

# Sent once when a batch of changes (services.batch_of_changes) ends without an error,
# still inside its transaction: receivers that noted work in batch.deferred during the
# batch's ticket_changed do it now, once for all its tickets.
# kwargs: batch (services.ChangeBatch)
change_batch_ending = Signal(use_caching=True)
