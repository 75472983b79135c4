"""The worker sends the mail it claims together over one connection, each mail once, and
a refusal of one never holds back the others."""

from __future__ import annotations

import pytest

from soporte.jobs import queue
from soporte.mail import outbound
from soporte.mail.models import OutboundMail, OutboundStatus
from soporte.mail.tasks import SEND_ATTEMPTS
from soporte.tickets import services

pytestmark = pytest.mark.django_db


def test_mails_claimed_together_are_sent_each_once(smtp, recorded):
    outcomes = outbound.deliver_many(recorded, max_attempts=SEND_ATTEMPTS)
    assert outcomes == ["sent"] * 3
    assert sorted(e.rcpt_tos[0] for e in smtp.envelopes) == [
        "lucia@example.org", "marco@example.org", "maria@example.org",
    ]  # fmt: skip
    assert outbound.deliver_many(recorded, max_attempts=SEND_ATTEMPTS) == ["skipped"] * 3
    assert len(smtp.envelopes) == 3


def test_a_temporary_refusal_is_returned_for_a_retry_and_the_others_are_sent(smtp, recorded):
    smtp.refuse = ["451 4.3.0 Try again later"]
    first, *others = outbound.deliver_many(recorded, max_attempts=SEND_ATTEMPTS)
    assert isinstance(first, OSError)
    assert others == ["sent", "sent"]
    waiting = OutboundMail.objects.get(pk=recorded[0])
    assert (waiting.status, waiting.attempts) == (OutboundStatus.PENDING, 1)
    assert "Try again later" in waiting.last_error


def test_the_thread_of_each_mail_is_read_together(smtp, recorded, alice):
    ticket = OutboundMail.objects.get(pk=recorded[0]).ticket
    services.reply(ticket, acting_user=alice, body="Restart it, please.")
    queue.run_batch(50, names=["mail.notify_change"])
    ids = list(OutboundMail.objects.order_by("pk").values_list("pk", flat=True))
    mails = list(OutboundMail.objects.filter(pk__in=ids).order_by("pk"))
    threads = outbound.threads_of(mails)
    assert threads == {mail.pk: outbound.thread_ids(mail) for mail in mails}
    assert threads[ids[-1]] == [OutboundMail.objects.get(pk=recorded[0]).mail_id]
