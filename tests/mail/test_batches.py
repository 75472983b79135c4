"""Stored mail is processed in batches: one transaction, a savepoint per message, one read
of what the batch shares; a failing message is quarantined alone."""

from __future__ import annotations

import pytest

from soporte.jobs.models import Job
from soporte.mail import services
from soporte.mail.inbound import store_raw
from soporte.mail.models import KnownMessageId, OutboundMail, RawMessage, RawStatus
from soporte.reports import rollups
from soporte.tickets.models import Ticket

from .test_processing import mail

pytestmark = pytest.mark.django_db


def stored(*raws: bytes) -> list[int]:
    return [store_raw(raw, source="api")[0].pk for raw in raws]


def test_a_batch_opens_a_ticket_per_new_message_and_threads_replies_within_it(acme):
    ids = stored(
        mail(subject="Printer broken", msgid="<one@acme.example>"),
        mail(subject="VPN down", sender="Pedro <pedro@acme.example>"),
        mail(subject="Re: Printer broken", body="Still.",
             headers={"In-Reply-To": "<one@acme.example>"}),
    )  # fmt: skip

    processed = services.process_raw_messages(ids)

    assert [raw.pk for raw in processed] == ids
    rows = list(RawMessage.objects.filter(pk__in=ids).order_by("id"))
    assert [raw.status for raw in rows] == [RawStatus.DONE] * 3, [r.error for r in rows]
    assert rows[2].ticket_id == rows[0].ticket_id != rows[1].ticket_id
    assert Ticket.objects.count() == 2
    assert rows[0].ticket.messages.count() == 2
    assert rows[2].message.body_text == "Still."
    # The Message-IDs remembered at the end of the batch thread later mail too.
    assert KnownMessageId.objects.filter(mail_id="one@acme.example").exists()
    assert OutboundMail.objects.filter(kind="ack").count() == 2
    # One sending run per acknowledgement, written with the batch.
    assert len(Job.objects.filter(name="mail.send_outbound").runs()) == 2
    # The rollups, refreshed once at the end of the batch, count the reply threaded in it.
    assert rollups.stored_totals() == rollups.full_recompute()[0]


def test_replies_that_cannot_count_leave_the_rollups_without_a_full_refresh(acme, monkeypatch):
    services.process_raw_messages(
        stored(
            mail(subject="Printer broken", msgid="<one@acme.example>"),
            mail(subject="VPN down", msgid="<two@acme.example>"),
        )
    )
    vpn = Ticket.objects.get(subject="VPN down")
    Ticket.objects.filter(pk=vpn.pk).update(status="resolved", resolved_at=vpn.created_at)
    rollups.refresh_ticket(vpn.pk)
    refreshed: list[int] = []
    full = rollups._refresh_fully

    def spy(ids, total):
        refreshed.extend(ids)
        return full(ids, total)

    monkeypatch.setattr(rollups, "_refresh_fully", spy)

    services.process_raw_messages(
        stored(
            mail(subject="Re: Printer broken", body="Still.",
                 headers={"In-Reply-To": "<one@acme.example>"}),
            mail(subject="Re: VPN down", body="Back again.",
                 headers={"In-Reply-To": "<two@acme.example>"}),
        )
    )  # fmt: skip

    # A reply to an open ticket cannot count; one that reopens a resolved ticket does.
    assert refreshed == [vpn.pk]
    assert rollups.stored_totals() == rollups.full_recompute()[0]


def test_a_failing_message_is_quarantined_alone_and_its_jobs_rolled_back(acme, monkeypatch):
    ids = stored(mail(subject="first"), mail(subject="breaks"), mail(subject="third"))
    real = services.tickets.open_ticket

    def failing(**kwargs):
        ticket = real(**kwargs)  # written, with its jobs queued, then the failure
        if kwargs["subject"] == "breaks":
            raise RuntimeError("disk full")
        return ticket

    monkeypatch.setattr(services.tickets, "open_ticket", failing)

    services.process_raw_messages(ids)

    rows = list(RawMessage.objects.filter(pk__in=ids).order_by("id"))
    assert [raw.status for raw in rows] == [
        RawStatus.DONE, RawStatus.QUARANTINED, RawStatus.DONE,
    ]  # fmt: skip
    assert "disk full" in rows[1].error
    assert sorted(Ticket.objects.values_list("subject", flat=True)) == ["first", "third"]
    indexed = {args[0] for args in Job.objects.filter(name="search.index_tickets").runs()}
    assert indexed == {rows[0].ticket_id, rows[2].ticket_id}
    assert OutboundMail.objects.count() == 2
    # The ticket rolled back leaves nothing in the rollups (SQLite gives its id again).
    assert rollups.stored_totals() == rollups.full_recompute()[0]


def test_a_batch_reads_senders_and_rate_counts_once_not_per_message(acme, settings):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    settings.MAIL_SENDER_LIMIT_PER_HOUR = 100
    one = stored(mail(subject="warm-up"))
    services.process_raw_messages(one)  # Maria has an account now
    ids = stored(*(mail(subject=f"request {i}") for i in range(5)))

    with CaptureQueriesContext(connection) as queries:
        services.process_raw_messages(ids)

    sql = [q["sql"] for q in queries.captured_queries]
    assert sum('COUNT("mail_rawmessage"."id")' in s for s in sql) == 1
    assert sum('LOWER("accounts_user"."email")' in s for s in sql) == 1
    assert RawMessage.objects.filter(pk__in=ids, status=RawStatus.DONE).count() == 5


def test_the_hourly_limit_holds_within_one_batch(acme, settings):
    settings.MAIL_SENDER_LIMIT_PER_HOUR = 2
    ids = stored(*(mail(subject=f"storm {i}") for i in range(3)))

    services.process_raw_messages(ids)

    statuses = list(RawMessage.objects.filter(pk__in=ids).values_list("status", flat=True))
    # Each of the three sees two others from the same sender in the hour.
    assert statuses == [RawStatus.QUARANTINED] * 3


def test_messages_already_processed_are_left_alone(acme):
    ids = stored(mail())
    assert len(services.process_raw_messages(ids)) == 1
    assert services.process_raw_messages(ids) == []
    assert Ticket.objects.count() == 1


def test_a_batch_writes_its_acknowledgements_together_with_their_message_ids(acme):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    ids = stored(*(mail(subject=f"request {i}") for i in range(4)))

    with CaptureQueriesContext(connection) as queries:
        services.process_raw_messages(ids)

    acks = list(OutboundMail.objects.filter(kind="ack"))
    assert len(acks) == 4
    assert {ack.ticket.subject for ack in acks} == {f"request {i}" for i in range(4)}
    # Each ack's Message-ID threads an answer back to its ticket.
    assert all(KnownMessageId.objects.get(mail_id=a.mail_id).ticket_id == a.ticket_id for a in acks)
    sends = Job.objects.filter(name="mail.send_outbound").runs()
    assert sorted(args[0] for args in sends) == sorted(a.pk for a in acks)
    inserts = [q["sql"] for q in queries.captured_queries if 'INTO "mail_outboundmail"' in q["sql"]]
    assert len(inserts) == 1


def test_should_the_batch_write_of_mail_fail_each_change_records_its_own(acme, monkeypatch):
    from soporte.mail import outbound

    ids = stored(mail(subject="first"), mail(subject="second"))
    real = outbound._rows
    made = []

    def clashing(ticket, planned):
        rows = real(ticket, planned)
        made.extend(rows)
        if len(made) == 2:  # the batch's two rows: the second clashes with the first
            rows[0].dedupe_key = made[0].dedupe_key
        return rows

    monkeypatch.setattr(outbound, "_rows", clashing)

    services.process_raw_messages(ids)

    # Row by row instead: both recorded, each with its Message-ID and sending job.
    acks = list(OutboundMail.objects.filter(kind="ack").order_by("id"))
    assert [a.ticket.subject for a in acks] == ["first", "second"]
    assert KnownMessageId.objects.filter(mail_id__in=[a.mail_id for a in acks]).count() == 2
    assert len(Job.objects.filter(name="mail.send_outbound").runs()) == 2
    assert not Job.objects.filter(name="mail.notify_change").exists()
