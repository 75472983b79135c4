"""Sending a batch of recorded mail: replies carried by some of the mails are read
together, and each mail the server took is marked sent right away, however the batch
ends.

Maria, Marco and Lucia of Acme each opened a ticket; Alice (L1) answers one."""

from __future__ import annotations

import pytest
from django.core.mail.backends import locmem

from soporte.jobs import queue
from soporte.mail import outbound
from soporte.mail.models import OutboundKind, OutboundMail, OutboundStatus
from soporte.mail.tasks import SEND_ATTEMPTS
from soporte.tickets import services

pytestmark = pytest.mark.django_db


def test_a_reply_sent_among_acknowledgements_carries_its_author_and_text(
    recorded, alice, mailoutbox, django_assert_max_num_queries
):
    ticket = OutboundMail.objects.get(pk=recorded[0]).ticket
    services.reply(ticket, acting_user=alice, body="Restart it, please.")
    queue.run_batch(50, names=["mail.notify_change"])
    ids = list(OutboundMail.objects.order_by("pk").values_list("pk", flat=True))
    assert OutboundMail.objects.get(pk=ids[-1]).kind == OutboundKind.REPLY

    # The mails, their replies, the claim and the threads read once; one mark per mail.
    with django_assert_max_num_queries(4 + len(ids)):
        outcomes = outbound.deliver_many(ids, max_attempts=SEND_ATTEMPTS)

    assert outcomes == ["sent"] * 4
    reply = mailoutbox[-1]
    assert reply.to == ["maria@example.org"]
    assert f"{alice} replied on ticket #{ticket.number}:" in reply.body
    assert "Restart it, please." in reply.body
    assert "Restart it, please." in reply.alternatives[0].content


def test_mails_sent_before_an_unexpected_error_are_still_marked_sent(
    recorded, mailoutbox, monkeypatch
):
    send = locmem.EmailBackend.send_messages

    def take_one_then_break(backend, messages):
        if mailoutbox:
            raise RuntimeError("the mail backend broke")
        return send(backend, messages)

    monkeypatch.setattr(locmem.EmailBackend, "send_messages", take_one_then_break)

    with pytest.raises(RuntimeError):
        outbound.deliver_many(recorded, max_attempts=SEND_ATTEMPTS)

    rows = OutboundMail.objects.filter(pk__in=recorded).order_by("pk")
    assert [(row.status, row.attempts) for row in rows] == [
        (OutboundStatus.SENT, 1), (OutboundStatus.PENDING, 1), (OutboundStatus.PENDING, 1),
    ]  # fmt: skip
    assert rows[0].sent_at is not None and rows[1].sent_at is None
    assert len(mailoutbox) == 1
