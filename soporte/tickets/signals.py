"""Sent after a ticket change is committed. Other areas (mail, SLA, search, triage)
connect here and enqueue their own Celery tasks, so tickets never imports them."""

from django.dispatch import Signal

# kwargs: ticket_id (int), event_kinds (list[str]), acting_user_id (int | None)
ticket_changed = Signal()
