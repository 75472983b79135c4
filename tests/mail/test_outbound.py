"""Outbound notifications, delivered to a real SMTP server (an aiosmtpd sink on a
loopback port) after the change commits.

Maria requests for Acme and Marco is her colleague in CC; Alice (L1) answers, Bob
(L2) follows the ticket from the desk.
"""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from soporte.mail import outbound
from soporte.mail.models import (
    KnownMessageId,
    Mailbox,
    OutboundKind,
    OutboundMail,
    OutboundStatus,
    RawMessage,
)
from soporte.mail.tasks import send_outbound
from soporte.tickets import services
from soporte.tickets.models import Channel, Status

from ..conftest import make_user
from .conftest import free_port


def _text(mail: EmailMessage) -> str:
    return mail.get_body(("plain",)).get_content().replace("\r\n", "\n")


def _html(mail: EmailMessage) -> str:
    return mail.get_body(("html",)).get_content()


def _id(mail: EmailMessage) -> str:
    return mail["Message-ID"].strip().strip("<>")


# -- acknowledgement ----------------------------------------------------------------


def test_the_requester_gets_an_acknowledgement_with_the_ticket_number(
    smtp, committed, maria, settings
):
    with committed():
        ticket = services.open_ticket(acting_user=maria, subject="Printer jam", body="It jams.")

    [envelope] = smtp.envelopes
    assert envelope.rcpt_tos == ["maria@example.org"]
    [mail] = smtp.messages
    assert mail["Subject"] == f"[#{ticket.number}] Printer jam"
    assert mail["From"] == settings.DEFAULT_FROM_EMAIL
    assert mail["Auto-Submitted"] == "auto-replied"
    assert mail.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in mail.iter_parts()] == ["text/plain", "text/html"]
    link = f"https://help.example/portal/tickets/{ticket.number}/"
    assert f"ticket #{ticket.number}" in _text(mail) and link in _text(mail)
    assert f'href="{link}"' in _html(mail)
    assert _id(mail).startswith(f"soporte.{ticket.number}.")
    assert _id(mail).endswith("@help.example")
    assert KnownMessageId.objects.get(mail_id=_id(mail)).ticket == ticket
    sent = OutboundMail.objects.get()
    assert (sent.kind, sent.status, sent.attempts, sent.mail_id) == (
        OutboundKind.ACKNOWLEDGEMENT,
        OutboundStatus.SENT,
        1,
        _id(mail),
    )
    assert sent.sent_at is not None


def test_a_spanish_requester_gets_the_acknowledgement_in_spanish(smtp, committed, maria):
    maria.language = "es"
    maria.save(update_fields=["language"])

    with committed():
        ticket = services.open_ticket(acting_user=maria, subject="Impresora", body="Se atasca.")

    [mail] = smtp.messages
    assert mail["Subject"] == f"[#{ticket.number}] Impresora"
    assert f"Recibimos su solicitud y abrimos el ticket #{ticket.number}" in _text(mail)
    assert "Hola, Maria:" in _text(mail)
    assert "Ver el ticket en línea" in _html(mail)
    assert '<html lang="es">' in _html(mail)


def test_an_agent_opening_a_ticket_by_phone_acknowledges_it_from_the_teams_mailbox(
    smtp, committed, alice, maria, teams
):
    Mailbox.objects.create(
        name="Desk", address="desk@help.example", team=teams["L1"], host="127.0.0.1",
        username="desk", password_env="DESK_PASSWORD",
    )  # fmt: skip

    with committed():
        services.open_ticket(
            acting_user=alice, requester=maria, subject="Called about VPN", body="No VPN.",
            channel=Channel.PHONE, team=teams["L1"],
        )  # fmt: skip

    [mail] = smtp.to("maria@example.org")
    assert mail["From"] == "desk@help.example"
    assert smtp.envelopes[0].mail_from == "desk@help.example"


def test_a_ticket_opened_by_an_auto_reply_is_not_acknowledged(smtp, committed, maria):
    with committed():
        services.open_ticket(
            acting_user=maria, subject="Out of office", body="Back Monday.", tags=["auto-reply"]
        )

    assert smtp.messages == []
    assert not OutboundMail.objects.exists()


def test_the_auto_reply_tag_is_the_one_inbound_processing_sets():
    services_module = pytest.importorskip("soporte.mail.services")
    assert outbound.AUTO_REPLY_TAG == services_module.AUTO_REPLY_TAG


def test_a_requester_without_an_address_gets_nothing(smtp, committed, acme):
    walk_in = make_user("walkin", organization=acme, email="")

    with committed():
        services.open_ticket(acting_user=walk_in, subject="Badge", body="Lost my badge.")

    assert smtp.messages == []
    assert not OutboundMail.objects.exists()


# -- replies ------------------------------------------------------------------------


@pytest.fixture
def watched_ticket(alice, bob, maria, marco, acme):
    """Opened by Alice for Maria; Marco, Bob, Alice herself, a disabled account and
    one without an address are in CC."""
    gone = make_user("gone", organization=acme)
    gone.is_active = False
    gone.save(update_fields=["is_active"])
    mute = make_user("mute", organization=acme, email="")
    return services.open_ticket(
        acting_user=alice, requester=maria, subject="Printer jam", body="It jams.",
        watchers=[marco, bob, alice, gone, mute],
    )  # fmt: skip


def test_an_agent_reply_goes_to_the_requester_and_cc_but_not_to_its_author(
    smtp, committed, alice, watched_ticket
):
    ticket = watched_ticket

    with committed():
        services.reply(ticket, acting_user=alice, body="Please restart it.\nThen try again.")

    assert sorted(e.rcpt_tos[0] for e in smtp.envelopes) == [
        "bob@example.org", "marco@example.org", "maria@example.org",
    ]  # fmt: skip
    [mail] = smtp.to("maria@example.org")
    assert mail["Subject"] == f"[#{ticket.number}] Printer jam"
    assert mail["Auto-Submitted"] is None
    assert "Alice replied on ticket" in _text(mail)
    assert "Please restart it.\nThen try again." in _text(mail)
    assert "<p>Please restart it.<br>Then try again.</p>" in _html(mail)
    assert f"https://help.example/portal/tickets/{ticket.number}/" in _text(mail)
    # Bob works tickets: his link opens the desk.
    [to_bob] = smtp.to("bob@example.org")
    assert f"https://help.example/desk/tickets/{ticket.number}/" in _text(to_bob)
    assert len({_id(m) for m in smtp.messages}) == 3
    assert KnownMessageId.objects.filter(mail_id__in=[_id(m) for m in smtp.messages]).count() == 3


def test_a_reply_keeps_its_formatting_but_never_its_scripts(smtp, committed, alice, ticket):
    with committed():
        services.reply(
            ticket, acting_user=alice,
            body_html='<p>Try <b>this</b></p><script>alert(1)</script><a href="javascript:x">x</a>',
        )  # fmt: skip

    [mail] = smtp.to("maria@example.org")
    assert "<b>this</b>" in _html(mail)
    assert "<script" not in _html(mail) and "javascript:" not in _html(mail)
    assert "Try this" in _text(mail)


def test_a_text_reply_is_escaped_in_the_html_part(smtp, committed, alice, ticket):
    with committed():
        services.reply(ticket, acting_user=alice, body="Is 1 < 2 and <b>bold</b>?")

    [mail] = smtp.to("maria@example.org")
    assert "Is 1 &lt; 2 and &lt;b&gt;bold&lt;/b&gt;?" in _html(mail)
    assert "Is 1 < 2 and <b>bold</b>?" in _text(mail)


def test_internal_notes_and_private_calls_are_never_mailed(smtp, committed, alice, ticket):
    with committed():
        services.add_note(ticket, acting_user=alice, body="The requester is a VIP.")
        services.log_call(ticket, acting_user=alice, body="Called, no answer.")

    assert smtp.messages == []
    assert not OutboundMail.objects.exists()


def test_a_requesters_own_reply_is_not_mailed_back(smtp, committed, maria, ticket):
    with committed():
        services.reply(ticket, acting_user=maria, body="Any news?")

    assert smtp.messages == []


# -- status -------------------------------------------------------------------------


def test_the_resolution_mail_includes_the_summary(smtp, committed, alice, ticket):
    with committed():
        services.resolve(ticket, acting_user=alice, resolution="Replaced the fuser unit.")

    [mail] = smtp.to("maria@example.org")
    assert mail["Auto-Submitted"] == "auto-generated"
    assert f"Ticket #{ticket.number} was resolved." in _text(mail)
    assert "Replaced the fuser unit." in _text(mail)
    assert "<p>Replaced the fuser unit.</p>" in _html(mail)
    assert OutboundMail.objects.get().kind == OutboundKind.RESOLVED


def test_a_requester_resolving_their_own_ticket_gets_no_mail_about_it(
    smtp, committed, maria, ticket
):
    with committed():
        services.resolve(ticket, acting_user=maria, resolution="It works again.")

    assert smtp.messages == []


def test_waiting_for_the_customer_is_announced_once(smtp, committed, alice, ticket):
    """A status change alone sends a status mail; with a reply, the reply says it."""
    with committed():
        services.change_status(ticket, acting_user=alice, status=Status.PENDING_CUSTOMER)

    [mail] = smtp.to("maria@example.org")
    assert "is waiting for your answer" in _text(mail)
    assert mail["Auto-Submitted"] == "auto-generated"

    ticket.refresh_from_db()
    services.change_status(ticket, acting_user=alice, status=Status.OPEN)
    with committed():
        services.reply(
            ticket, acting_user=alice, body="Which model is it?", status=Status.PENDING_CUSTOMER
        )

    kinds = sorted(OutboundMail.objects.values_list("kind", flat=True))
    assert kinds == [OutboundKind.REPLY, OutboundKind.STATUS]
    assert len(smtp.messages) == 2


# -- threading ----------------------------------------------------------------------


def test_mail_continues_the_thread_of_the_ticket(smtp, committed, alice, maria):
    """In-Reply-To names the newest mail of the conversation; References all of it."""
    ticket = services.open_ticket(
        acting_user=maria, subject="Printer jam", body="It jams.", channel=Channel.EMAIL
    )
    RawMessage.objects.create(
        dedupe_key="first", mail_id="first@customer.example", source="api", raw=b"x", size=1,
        ticket=ticket, status="done",
    )  # fmt: skip

    created = ticket.events.get(kind="created")
    with committed():
        outbound.notify(ticket.pk, [created.pk], maria.pk)
    with committed():
        services.reply(ticket, acting_user=alice, body="Please restart it.")

    ack, answer = smtp.messages
    assert ack["In-Reply-To"] == "<first@customer.example>"
    assert ack["References"] == "<first@customer.example>"
    assert answer["In-Reply-To"] == f"<{_id(ack)}>"
    assert answer["References"] == f"<first@customer.example> <{_id(ack)}>"


# -- once, and failures -------------------------------------------------------------


def test_nothing_is_sent_twice(smtp, committed, maria):
    with committed():
        ticket = services.open_ticket(acting_user=maria, subject="Printer jam", body="It jams.")
    created = ticket.events.get(kind="created")

    with committed():
        again = outbound.notify(ticket.pk, [created.pk], created.actor_id)
    result = send_outbound(OutboundMail.objects.get().pk)

    assert again == []
    assert result == "skipped"
    assert len(smtp.messages) == 1
    assert OutboundMail.objects.count() == 1
    assert OutboundMail.objects.get().attempts == 1


def test_a_refused_connection_is_retried_then_marked_failed(
    smtp, committed, maria, settings, caplog
):
    settings.EMAIL_PORT = free_port()  # nothing listens there

    with committed():
        ticket = services.open_ticket(acting_user=maria, subject="Printer jam", body="It jams.")

    failed = OutboundMail.objects.get()
    assert failed.status == OutboundStatus.FAILED
    assert failed.attempts == 6  # the first try and five retries
    assert "ConnectionRefusedError" in failed.last_error
    assert list(outbound.failed_mail(ticket)) == [failed]
    assert failed.sent_at is None


def test_a_temporary_refusal_is_retried_and_then_sent(smtp, committed, maria):
    smtp.refuse = ["451 4.3.0 Try again later"]

    with committed():
        ticket = services.open_ticket(acting_user=maria, subject="Printer jam", body="It jams.")

    sent = OutboundMail.objects.get()
    assert (sent.status, sent.attempts, sent.last_error) == (OutboundStatus.SENT, 2, "")
    assert len(smtp.messages) == 1
    assert list(outbound.failed_mail(ticket)) == []


def test_a_permanent_refusal_fails_at_once(smtp, committed, maria):
    smtp.refuse_rcpt = "550 5.1.1 No such user"

    with committed():
        services.open_ticket(acting_user=maria, subject="Printer jam", body="It jams.")

    failed = OutboundMail.objects.get()
    assert (failed.status, failed.attempts) == (OutboundStatus.FAILED, 1)
    assert "No such user" in failed.last_error


# -- loops --------------------------------------------------------------------------


def test_mail_never_goes_to_our_own_addresses(smtp, committed, settings, alice, acme, maria):
    Mailbox.objects.create(
        name="Desk", address="Desk@Help.example", host="127.0.0.1", username="desk",
        password_env="DESK_PASSWORD",
    )  # fmt: skip
    ourselves = make_user("loop", organization=acme, email=settings.DEFAULT_FROM_EMAIL)
    desk = make_user("desk", organization=acme, email="desk@help.example")

    with committed():
        ticket = services.open_ticket(
            acting_user=alice, requester=ourselves, subject="Loop", body="Mail to ourselves.",
            watchers=[desk, maria],
        )  # fmt: skip
        services.reply(ticket, acting_user=alice, body="Answer.")

    assert [e.rcpt_tos for e in smtp.envelopes] == [["maria@example.org"]]


@pytest.mark.django_db(transaction=True)
def test_a_committed_change_is_mailed_after_the_commit(smtp, alice, maria):
    """No test transaction: the real commit runs the receiver, then the send."""
    ticket = services.open_ticket(acting_user=maria, subject="Printer jam", body="It jams.")
    services.reply(ticket, acting_user=alice, body="Please restart it.")

    assert [m["Subject"] for m in smtp.messages] == [f"[#{ticket.number}] Printer jam"] * 2
    assert set(OutboundMail.objects.values_list("status", flat=True)) == {OutboundStatus.SENT}


def test_changes_that_mail_nobody_queue_no_job(alice, maria, ticket):
    """Internal notes and a requester's replies never send mail, so they queue nothing;
    a change that may send mail queues one job naming its events."""
    from soporte.jobs.models import Job

    jobs = Job.objects.filter(name="mail.notify_change")
    before = set(jobs.values_list("pk", flat=True))
    services.add_note(ticket, acting_user=alice, body="Checked the logs.")
    services.reply(ticket, acting_user=maria, body="Any news?")
    assert set(jobs.values_list("pk", flat=True)) == before

    services.change_status(ticket, acting_user=alice, status="pending_customer")
    queued = jobs.exclude(pk__in=before).get()
    event = ticket.events.get(kind="status_changed")
    assert queued.args == [ticket.pk, [event.pk], alice.pk]


def test_each_change_mails_its_own_events_even_when_its_job_runs_late(
    smtp, committed, alice, ticket
):
    """Two replies before either job runs: each job mails its own reply, once."""
    from soporte.jobs.models import Job
    from soporte.jobs.queue import run_job

    # given: two changes committed, their jobs still queued
    jobs = Job.objects.filter(name="mail.notify_change", status="queued")
    before = set(jobs.values_list("pk", flat=True))
    services.reply(ticket, acting_user=alice, body="Is it plugged in?")
    services.reply(ticket, acting_user=alice, body="Which model is it?")

    # when: the worker gets to them, the first one first
    with committed():
        for job_id in jobs.exclude(pk__in=before).order_by("pk").values_list("pk", flat=True):
            assert run_job(job_id) == "done"

    # then
    texts = [_text(mail) for mail in smtp.to("maria@example.org")]
    assert len(texts) == 2
    assert "Is it plugged in?" in texts[0] and "Which model is it?" in texts[1]


def test_a_job_queued_with_event_kinds_still_mails_the_newest_such_event(
    smtp, committed, alice, ticket
):
    """Jobs queued before jobs named their events carry the events' kinds."""
    services.resolve(ticket, acting_user=alice, resolution="Replaced the fuser unit.")

    with committed():
        recorded = outbound.notify(ticket.pk, ["status_changed"], alice.pk)

    assert [mail.kind for mail in recorded] == [OutboundKind.RESOLVED]
    assert len(smtp.to("maria@example.org")) == 1
