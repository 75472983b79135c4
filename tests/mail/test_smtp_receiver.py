"""The SMTP/LMTP receiver, spoken to with smtplib: 250 only once the message is stored,
552 when it is too big, 451 when storing failed (the sender retries: nothing lost)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import smtplib
import threading

import pytest
from aiosmtpd.smtp import Envelope, Session
from django.core.management import call_command
from django.db import OperationalError

from soporte.mail import smtp
from soporte.mail.management.commands.mail_receive import Command
from soporte.mail.models import RawMessage

from .conftest import build_message, free_port

# The receiver stores from its own thread: the test must see committed rows.
pytestmark = pytest.mark.django_db(transaction=True)

SENDER = "maria@acme.example"
SUPPORT = "support@soporte.example"


def test_it_stores_a_message_and_answers_250_after_the_commit(smtp_receiver):
    receiver = smtp_receiver()
    raw = build_message()

    with smtplib.SMTP("127.0.0.1", receiver.port, timeout=10) as client:
        client.ehlo()
        client.mail(SENDER)
        client.rcpt(SUPPORT)
        code, reply = client.data(raw)

    assert code == 250
    stored = RawMessage.objects.get()
    assert f"as message {stored.pk}".encode() in reply
    assert (stored.source, stored.mailbox_id, stored.raw) == ("smtp", None, raw)
    assert stored.sender == SENDER


def test_the_same_message_delivered_twice_is_stored_once(smtp_receiver):
    receiver = smtp_receiver()
    raw = build_message()

    with smtplib.SMTP("127.0.0.1", receiver.port, timeout=10) as client:
        assert client.sendmail(SENDER, [SUPPORT], raw) == {}
        assert client.sendmail(SENDER, [SUPPORT, "it@soporte.example"], raw) == {}

    assert RawMessage.objects.count() == 1


def test_a_message_too_large_is_refused_with_552_and_not_stored(smtp_receiver, settings):
    settings.MAIL_MAX_BYTES = 4096
    receiver = smtp_receiver()
    big = build_message(padding=10_000)

    with smtplib.SMTP("127.0.0.1", receiver.port, timeout=10) as client:
        client.ehlo()
        assert client.esmtp_features["size"] == "4096"
        client.mail(SENDER)  # no SIZE declared: refused after DATA
        client.rcpt(SUPPORT)
        code, reply = client.data(big)
        # The session goes on: a message within the limit is still taken.
        assert client.sendmail(SENDER, [SUPPORT], build_message()) == {}

    assert code == 552
    assert reply == b"5.3.4 Message too big: this server accepts messages up to 4096 bytes"
    assert RawMessage.objects.count() == 1


def test_sendmail_gets_552_as_an_smtp_data_error_when_the_size_was_not_declared(
    smtp_receiver, settings
):
    settings.MAIL_MAX_BYTES = 4096
    receiver = smtp_receiver()

    with smtplib.SMTP("127.0.0.1", receiver.port, timeout=10) as client:
        client.ehlo()
        del client.esmtp_features["size"]  # a client that ignores the SIZE extension
        with pytest.raises(smtplib.SMTPDataError) as refused:
            client.sendmail(SENDER, [SUPPORT], build_message(padding=10_000))

    assert refused.value.smtp_code == 552
    assert b"Message too big" in refused.value.smtp_error
    assert not RawMessage.objects.exists()


def test_a_declared_size_over_the_limit_is_refused_before_the_data(smtp_receiver, settings):
    settings.MAIL_MAX_BYTES = 4096
    receiver = smtp_receiver()

    # smtplib declares SIZE= when the server advertises it.
    with (
        smtplib.SMTP("127.0.0.1", receiver.port, timeout=10) as client,
        pytest.raises(smtplib.SMTPSenderRefused) as refused,
    ):
        client.sendmail(SENDER, [SUPPORT], build_message(padding=10_000))

    assert refused.value.smtp_code == 552
    assert b"Message too big" in refused.value.smtp_error
    assert not RawMessage.objects.exists()


def test_a_storing_failure_answers_451_so_the_sender_retries(smtp_receiver, monkeypatch):
    receiver = smtp_receiver()
    raw = build_message()
    real_store_raw = smtp.store_raw

    def broken(*args, **kwargs):
        raise OperationalError("database is locked")

    monkeypatch.setattr(smtp, "store_raw", broken)
    with smtplib.SMTP("127.0.0.1", receiver.port, timeout=10) as client:
        with pytest.raises(smtplib.SMTPDataError) as deferred:
            client.sendmail(SENDER, [SUPPORT], raw)

        assert deferred.value.smtp_code == 451
        assert not RawMessage.objects.exists()

        # when: the sending MTA retries after the database recovered
        monkeypatch.setattr(smtp, "store_raw", real_store_raw)
        assert client.sendmail(SENDER, [SUPPORT], raw) == {}

    assert RawMessage.objects.get().raw == raw


def test_long_lines_are_accepted(smtp_receiver):
    """Some senders ignore RFC 5321's 1000-octet lines; their mail is still taken."""
    receiver = smtp_receiver()
    raw = build_message(body="y" * 5000)

    with smtplib.SMTP("127.0.0.1", receiver.port, timeout=10) as client:
        assert client.sendmail(SENDER, [SUPPORT], raw) == {}

    assert RawMessage.objects.get().raw == raw


def test_lmtp_answers_once_per_recipient_and_stores_once(smtp_receiver):
    receiver = smtp_receiver(lmtp=True)
    raw = build_message()

    client = smtplib.LMTP("127.0.0.1", receiver.port)
    try:
        client.ehlo_or_helo_if_needed()  # LHLO
        client.mail(SENDER)
        client.rcpt(SUPPORT)
        client.rcpt("it@soporte.example")
        first = client.data(raw)
        second = client.getreply()
    finally:
        client.close()

    assert first[0] == second[0] == 250
    assert RawMessage.objects.get().raw == raw


def test_lmtp_refuses_a_message_too_large_for_each_recipient(smtp_receiver, settings):
    settings.MAIL_MAX_BYTES = 4096
    receiver = smtp_receiver(lmtp=True)

    client = smtplib.LMTP("127.0.0.1", receiver.port)
    try:
        client.ehlo_or_helo_if_needed()
        client.mail(SENDER)
        client.rcpt(SUPPORT)
        client.rcpt("it@soporte.example")
        first = client.data(build_message(padding=10_000))
        second = client.getreply()
        # In step again: the next transaction is answered normally.
        assert client.sendmail(SENDER, [SUPPORT], build_message()) == {}
    finally:
        client.close()

    assert first[0] == second[0] == 552
    assert b"Message too big" in first[1]
    assert RawMessage.objects.count() == 1


def test_lmtp_delivers_with_smtplib_sendmail(smtp_receiver):
    receiver = smtp_receiver(lmtp=True)

    client = smtplib.LMTP("127.0.0.1", receiver.port)
    try:
        assert client.sendmail(SENDER, [SUPPORT], build_message()) == {}
    finally:
        client.close()

    assert RawMessage.objects.get().source == "smtp"


def test_the_handler_refuses_content_over_the_limit_itself():
    """A second guard after aiosmtpd's own count: nothing over max_bytes is stored."""
    envelope = Envelope()
    envelope.original_content = b"x" * 101
    envelope.rcpt_tos = [SUPPORT]

    # In a thread of its own: the browser tests may have left an event loop in this one.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        status = pool.submit(
            asyncio.run, smtp.Receiver(100).handle_DATA(None, Session(None), envelope)
        ).result()

    assert status.startswith("552 5.3.4 Message too big")
    assert not RawMessage.objects.exists()


def test_the_mail_receive_command_serves_until_stopped():
    port = free_port()
    command = Command()
    thread = threading.Thread(
        target=call_command, args=(command, "--port", str(port), "--host", "127.0.0.1")
    )
    thread.start()
    try:
        client = connect_when_ready(port)
        with client:
            assert client.sendmail(SENDER, [SUPPORT], build_message()) == {}
    finally:
        command.stop.set()
        thread.join(10)

    assert not thread.is_alive()
    assert RawMessage.objects.get().source == "smtp"


def connect_when_ready(port: int) -> smtplib.SMTP:
    for _ in range(100):
        try:
            return smtplib.SMTP("127.0.0.1", port, timeout=10)
        except OSError:
            threading.Event().wait(0.05)
    raise AssertionError(f"nothing answered on port {port}")
