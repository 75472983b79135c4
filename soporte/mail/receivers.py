"""Connections to other areas' signals: a committed ticket change may send mail."""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from soporte.tickets.signals import ticket_changed

from .models import Mailbox

log = logging.getLogger(__name__)


@receiver(ticket_changed, dispatch_uid="mail.notify_on_ticket_change")
def notify_on_ticket_change(
    sender, *, ticket_id: int, ticket, events: list, acting_user_id: int | None, **kwargs
) -> None:
    """Queue the job that records and sends the mail the change calls for, naming the
    events it is about: the request that made the change does not wait for it. Sent
    inside the change's transaction, so the job is committed with the change or not at
    all. Inbound mail processing (already a job) records the mail right here instead
    (decided here, the rows written with its batch: outbound.deferring_records); should
    that fail, the job does it."""
    from .outbound import may_call_for_mail, record_for, records_now
    from .tasks import notify_change

    chosen = [event for event in events if may_call_for_mail(event)]
    if not chosen:
        return  # notes, requesters' replies, assignments...: nothing to mail, no job
    if records_now():
        try:
            with transaction.atomic():
                record_for(ticket, chosen)
        except Exception:  # noqa: BLE001 - the job below records it instead
            log.exception("Mail about ticket %s not recorded in its change; queued", ticket_id)
        else:
            return
    notify_change.enqueue(ticket_id, [event.pk for event in chosen], acting_user_id)


@receiver([post_save, post_delete], sender=Mailbox, dispatch_uid="mail.forget_mailboxes")
def mailbox_changed(sender, **kwargs) -> None:
    """The cached mailboxes (outbound.own_addresses) are forgotten when one changes in
    this process: now, and again at the commit."""
    from .outbound import forget_mailboxes

    forget_mailboxes()
    transaction.on_commit(forget_mailboxes)
