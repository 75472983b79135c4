"""The IMAP poller against a real dovecot: each message fetched once, stored through the
one door, then marked or moved on the server; errors recorded, never raised."""

from __future__ import annotations

import pytest
from django.test import Client

from soporte.mail import imap
from soporte.mail.inbound import store_raw
from soporte.mail.models import Mailbox, OutboundMail, OutboundStatus, RawMessage, RawStatus
from soporte.mail.tasks import poll_mailboxes

from .conftest import build_message, free_port

# The poller commits each message before it marks it on the server.
pytestmark = pytest.mark.django_db(transaction=True)


def test_it_stores_each_new_message_once_and_marks_it_seen(dovecot, imap_account, make_mailbox):
    """Two polls give each message once; the second only fetches what came since."""
    # given
    mailbox = make_mailbox()
    first = [dovecot_message(n) for n in range(3)]
    dovecot.append(*imap_account, *first)

    # when
    stored = imap.poll_mailbox(mailbox)

    # then
    assert stored == 3
    rows = RawMessage.objects.order_by("id")
    assert [row.raw for row in rows] == first
    assert {(row.source, row.mailbox_id) for row in rows} == {("imap", mailbox.pk)}
    assert all(r"\Seen" in flags for flags in dovecot.flags(*imap_account).values())
    mailbox.refresh_from_db()
    assert (mailbox.last_uid, mailbox.last_error) == (3, "")
    assert mailbox.uidvalidity and mailbox.last_polled_at

    # when: nothing new, then one more
    assert imap.poll_mailbox(mailbox) == 0
    dovecot.append(*imap_account, dovecot_message(3))
    assert imap.poll_mailbox(mailbox) == 1

    # then
    assert RawMessage.objects.count() == 4
    mailbox.refresh_from_db()
    assert mailbox.last_uid == 4


def test_it_only_asks_the_server_for_uids_after_the_last_one(
    dovecot, imap_account, make_mailbox, monkeypatch
):
    mailbox = make_mailbox()
    dovecot.append(*imap_account, dovecot_message(0), dovecot_message(1))
    imap.poll_mailbox(mailbox)
    dovecot.append(*imap_account, dovecot_message(2))
    fetched = spy_on_bodies(monkeypatch)

    assert imap.poll_mailbox(mailbox) == 1
    assert imap.poll_mailbox(mailbox) == 0

    assert fetched == [[3]]


def test_it_fetches_in_batches(dovecot, imap_account, make_mailbox, monkeypatch):
    """Sizes two UIDs at a time, bodies one at a time when they do not fit together."""
    monkeypatch.setattr(imap, "BATCH_SIZE", 2)
    monkeypatch.setattr(imap, "FETCH_BYTES", 1)
    fetched = spy_on_bodies(monkeypatch)
    mailbox = make_mailbox()
    dovecot.append(*imap_account, *(dovecot_message(n) for n in range(5)))

    assert imap.poll_mailbox(mailbox) == 5

    assert fetched == [[1], [2], [3], [4], [5]]
    assert RawMessage.objects.count() == 5
    mailbox.refresh_from_db()
    assert mailbox.last_uid == 5


def test_it_moves_processed_messages_to_a_folder_it_creates(dovecot, imap_account, make_mailbox):
    """The folder name is not ASCII and has a space: quoted, in modified UTF-7."""
    mailbox = make_mailbox(after_fetch="move", move_to="Leídos 2025")
    dovecot.append(*imap_account, dovecot_message(0), dovecot_message(1))

    assert imap.poll_mailbox(mailbox) == 2

    assert dovecot.flags(*imap_account) == {}
    assert len(dovecot.flags(*imap_account, folder='"Le&AO0-dos 2025"')) == 2
    mailbox.refresh_from_db()
    assert (mailbox.last_uid, mailbox.last_error) == (2, "")

    # The folder exists now: the next move goes straight there.
    dovecot.append(*imap_account, dovecot_message(2))
    assert imap.poll_mailbox(mailbox) == 1
    assert len(dovecot.flags(*imap_account, folder='"Le&AO0-dos 2025"')) == 3


@pytest.mark.parametrize("capabilities", [{"UIDPLUS"}, set()], ids=["uidplus", "plain"])
def test_without_move_support_it_copies_then_expunges(
    dovecot, imap_account, make_mailbox, monkeypatch, capabilities
):
    monkeypatch.setattr(imap, "_capabilities", lambda _: capabilities)
    mailbox = make_mailbox(after_fetch="move", move_to="Processed")
    dovecot.append(*imap_account, dovecot_message(0), dovecot_message(1))

    assert imap.poll_mailbox(mailbox) == 2

    assert dovecot.flags(*imap_account) == {}
    moved = dovecot.flags(*imap_account, folder="Processed")
    assert len(moved) == 2
    assert not any(r"\Deleted" in flags for flags in moved.values())


def test_moving_without_a_folder_is_a_configuration_error(dovecot, imap_account, make_mailbox):
    mailbox = make_mailbox(after_fetch="move", move_to=" ")
    dovecot.append(*imap_account, dovecot_message(0))

    assert imap.poll_mailbox(mailbox) == 0

    mailbox.refresh_from_db()
    assert "no folder" in mailbox.last_error
    assert not RawMessage.objects.exists()


def test_a_changed_uidvalidity_starts_over(dovecot, imap_account, make_mailbox):
    """The folder is recreated: UIDs start at 1 again and must not be skipped."""
    # given: two messages polled from a folder
    with dovecot.client(*imap_account) as client:
        assert client.create("Tickets")[0] == "OK"
    mailbox = make_mailbox(folder="Tickets")
    kept = dovecot_message(0)
    dovecot.append(*imap_account, kept, dovecot_message(1), folder="Tickets")
    assert imap.poll_mailbox(mailbox) == 2
    mailbox.refresh_from_db()
    old_validity = mailbox.uidvalidity

    # when: the folder is deleted and recreated, one old message and one new in it
    with dovecot.client(*imap_account) as client:
        assert client.delete("Tickets")[0] == "OK"
        assert client.create("Tickets")[0] == "OK"
    fresh = dovecot_message(2)
    dovecot.append(*imap_account, kept, fresh, folder="Tickets")
    stored = imap.poll_mailbox(mailbox)

    # then: the new one is stored, the old one not again, both marked
    mailbox.refresh_from_db()
    assert mailbox.uidvalidity != old_validity
    assert stored == 1
    assert RawMessage.objects.count() == 3
    assert RawMessage.objects.filter(raw=fresh).exists()
    assert mailbox.last_uid == 2
    flags = dovecot.flags(*imap_account, folder="Tickets")
    assert all(r"\Seen" in f for f in flags.values())


def test_a_message_stored_through_another_door_is_not_duplicated(
    dovecot, imap_account, make_mailbox
):
    raw = dovecot_message(0)
    earlier, _ = store_raw(raw, source="api")
    mailbox = make_mailbox()
    dovecot.append(*imap_account, raw)

    assert imap.poll_mailbox(mailbox) == 0

    assert list(RawMessage.objects.values_list("pk", "source")) == [(earlier.pk, "api")]
    # It is safely stored, so it is processed as far as the server is concerned.
    assert r"\Seen" in dovecot.flags(*imap_account)[1]
    mailbox.refresh_from_db()
    assert mailbox.last_uid == 1


def test_a_message_over_the_size_limit_is_refused_without_downloading_it_and_answered_once(
    dovecot, imap_account, make_mailbox, settings, monkeypatch, smtp, ada
):
    """Recorded from its headers, flagged on the server, its sender told once."""
    # given
    settings.MAIL_MAX_BYTES = 4096
    fetched = spy_on_bodies(monkeypatch)
    mailbox = make_mailbox(address="help@soporte.example")
    big = build_message(
        subject="Logs attached", sender="Pedro <pedro@globex.example>", padding=10_000,
        message_id="<big-logs@globex.example>",
    )  # fmt: skip
    dovecot.append(*imap_account, dovecot_message(0), big, dovecot_message(1))

    # when
    assert imap.poll_mailbox(mailbox) == 2

    # then: the small ones are stored, the big one is never downloaded
    assert fetched == [[1, 3]]
    refused = RawMessage.objects.get(status=RawStatus.REFUSED)
    assert (refused.sender, refused.subject, refused.mail_id) == (
        "pedro@globex.example", "Logs attached", "big-logs@globex.example",
    )  # fmt: skip
    assert refused.raw == b"" and refused.size == len(big) and refused.mailbox == mailbox
    assert "4.0\xa0KB" in refused.error
    assert RawMessage.objects.filter(status=RawStatus.PENDING).count() == 0  # processed
    # handled on the server like the others, with a keyword saying why
    flags = dovecot.flags(*imap_account)
    assert {r"\Seen", imap.REFUSED_KEYWORD} <= flags[2]
    assert r"\Seen" in flags[1] and r"\Seen" in flags[3]
    assert imap.REFUSED_KEYWORD not in flags[1]
    mailbox.refresh_from_db()
    assert (mailbox.last_uid, mailbox.last_error) == (3, "")
    # the sender is told, once
    [bounce] = smtp.to("pedro@globex.example")
    assert bounce["From"] == "help@soporte.example"
    assert bounce["Auto-Submitted"] == "auto-replied"
    assert bounce["In-Reply-To"] == "<big-logs@globex.example>"
    assert bounce["Subject"] == "Not delivered, too large: Logs attached"
    text = bounce.get_body(("plain",)).get_content()
    assert f"{len(big):,} bytes" in text and "4,096 bytes" in text and "4.0\xa0KB" in text
    assert "help@soporte.example" in text
    sent = OutboundMail.objects.get(raw=refused)
    assert (sent.status, sent.ticket) == (OutboundStatus.SENT, None)

    # when: polled again, and again from scratch (the server's UIDVALIDITY changed)
    assert imap.poll_mailbox(mailbox) == 0
    Mailbox.objects.filter(pk=mailbox.pk).update(uidvalidity=1, last_uid=0)
    assert imap.poll_mailbox(mailbox) == 0

    # then: still one record and one bounce
    assert RawMessage.objects.filter(status=RawStatus.REFUSED).count() == 1
    assert len(smtp.to("pedro@globex.example")) == 1
    assert OutboundMail.objects.count() == 1 + 2  # the bounce; acks of the two requests

    # and admins find it among the refused mail
    client = Client()
    client.force_login(ada)
    page = client.get("/admin/mail/rawmessage/", {"status__exact": RawStatus.REFUSED})
    assert page.status_code == 200
    assert b"pedro@globex.example" in page.content and b"Logs attached" in page.content
    assert b"Request 0" not in page.content


def test_a_refused_message_is_moved_with_the_processed_ones(
    dovecot, imap_account, make_mailbox, settings, smtp
):
    settings.MAIL_MAX_BYTES = 4096
    mailbox = make_mailbox(after_fetch="move", move_to="Processed")
    big = build_message(subject="Video", sender="pedro@globex.example", padding=10_000)
    dovecot.append(*imap_account, dovecot_message(0), big)

    assert imap.poll_mailbox(mailbox) == 1

    assert dovecot.flags(*imap_account) == {}
    moved = dovecot.flags(*imap_account, folder="Processed")
    assert [imap.REFUSED_KEYWORD in flags for _uid, flags in sorted(moved.items())] == [
        False, True,
    ]  # fmt: skip
    assert len(smtp.to("pedro@globex.example")) == 1


def test_a_failure_while_storing_keeps_what_was_stored_and_loses_nothing(
    dovecot, imap_account, make_mailbox, monkeypatch
):
    """The first message is stored and marked; the failing one stays for the next poll."""
    mailbox = make_mailbox()
    messages = [dovecot_message(n) for n in range(3)]
    dovecot.append(*imap_account, *messages)
    real_store_raw = imap.store_raw

    def failing_second(raw, **kwargs):
        if raw == messages[1]:
            raise RuntimeError("disk full")
        return real_store_raw(raw, **kwargs)

    monkeypatch.setattr(imap, "store_raw", failing_second)

    # when: the periodic job polls
    assert poll_mailboxes() == 0

    # then
    mailbox.refresh_from_db()
    assert "disk full" in mailbox.last_error
    assert mailbox.last_uid == 1
    assert list(RawMessage.objects.values_list("raw", flat=True)) == [messages[0]]
    flags = dovecot.flags(*imap_account)
    assert r"\Seen" in flags[1] and r"\Seen" not in flags[2] and r"\Seen" not in flags[3]

    # when: storing works again
    monkeypatch.setattr(imap, "store_raw", real_store_raw)
    assert imap.poll_mailbox(mailbox) == 2

    # then
    assert RawMessage.objects.count() == 3
    mailbox.refresh_from_db()
    assert (mailbox.last_uid, mailbox.last_error) == (3, "")


def test_a_wrong_password_is_recorded_not_raised(dovecot, imap_account, make_mailbox):
    mailbox = make_mailbox()
    dovecot.append(*imap_account, dovecot_message(0))

    assert imap.poll_mailbox(mailbox, password="not-the-password") == 0

    mailbox.refresh_from_db()
    assert mailbox.last_error.startswith("logging in: ")
    assert "Authentication failed" in mailbox.last_error
    assert mailbox.last_polled_at is not None
    assert (mailbox.last_uid, mailbox.uidvalidity) == (0, None)
    assert not RawMessage.objects.exists()


def test_a_missing_password_variable_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("SOPORTE_TEST_NO_SUCH_PASSWORD", raising=False)
    mailbox = offline_mailbox(port=free_port(), password_env="SOPORTE_TEST_NO_SUCH_PASSWORD")

    assert imap.poll_mailbox(mailbox) == 0

    mailbox.refresh_from_db()
    assert "SOPORTE_TEST_NO_SUCH_PASSWORD" in mailbox.last_error
    assert "not set" in mailbox.last_error


def test_an_unreachable_server_is_recorded_not_raised(monkeypatch):
    monkeypatch.setenv("SOPORTE_TEST_IMAP_PASSWORD", "secret")
    port = free_port()  # nothing listens there
    mailbox = offline_mailbox(port=port, password_env="SOPORTE_TEST_IMAP_PASSWORD")

    assert imap.poll_mailbox(mailbox) == 0

    mailbox.refresh_from_db()
    assert mailbox.last_error.startswith(f"connecting to 127.0.0.1:{port}: ")
    assert "ConnectionRefused" in mailbox.last_error


@pytest.mark.parametrize("security", ["imaps", "starttls"])
def test_it_polls_over_tls(dovecot, imap_account, make_mailbox, monkeypatch, security):
    if dovecot.ca_file is None:
        pytest.skip("openssl is missing: the test dovecot speaks no TLS")
    # The client verifies the certificate: trust the test one, as a real CA would be.
    monkeypatch.setenv("SSL_CERT_FILE", str(dovecot.ca_file))
    port = dovecot.tls_port if security == "imaps" else dovecot.port
    mailbox = make_mailbox(security=security, port=port)
    dovecot.append(*imap_account, dovecot_message(0))

    assert imap.poll_mailbox(mailbox) == 1

    mailbox.refresh_from_db()
    assert mailbox.last_error == ""


@pytest.mark.parametrize("security", ["imaps", "starttls"])
def test_an_untrusted_certificate_is_refused(
    dovecot, imap_account, make_mailbox, monkeypatch, security
):
    if dovecot.ca_file is None:
        pytest.skip("openssl is missing: the test dovecot speaks no TLS")
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    port = dovecot.tls_port if security == "imaps" else dovecot.port
    mailbox = make_mailbox(security=security, port=port)
    dovecot.append(*imap_account, dovecot_message(0))

    assert imap.poll_mailbox(mailbox) == 0

    mailbox.refresh_from_db()
    assert "CERTIFICATE_VERIFY_FAILED" in mailbox.last_error
    assert not RawMessage.objects.exists()


def test_the_periodic_job_polls_active_mailboxes_and_survives_a_broken_one(
    dovecot, make_mailbox, monkeypatch
):
    # given: a working mailbox, an inactive one and one with a wrong password
    working_account, other_account = dovecot.account(), dovecot.account()
    monkeypatch.setenv("SOPORTE_TEST_IMAP_PASSWORD", working_account[1])
    monkeypatch.setenv("SOPORTE_TEST_WRONG_PASSWORD", "wrong")
    broken = make_mailbox(username=working_account[0], password_env="SOPORTE_TEST_WRONG_PASSWORD")
    working = make_mailbox(username=working_account[0])
    inactive = make_mailbox(username=other_account[0], active=False)
    dovecot.append(*working_account, dovecot_message(0), dovecot_message(1))
    dovecot.append(*other_account, dovecot_message(2))

    # when
    assert poll_mailboxes() == 2

    # then
    assert set(RawMessage.objects.values_list("mailbox", flat=True)) == {working.pk}
    broken.refresh_from_db()
    inactive.refresh_from_db()
    assert "Authentication failed" in broken.last_error
    assert inactive.last_polled_at is None
    assert Mailbox.objects.get(pk=working.pk).last_uid == 2


def test_folder_names_are_quoted_in_modified_utf7():
    assert imap._quote("INBOX") == '"INBOX"'
    assert imap._quote("Leídos") == '"Le&AO0-dos"'
    assert imap._quote("R&D") == '"R&-D"'
    assert imap._quote('say "hi"') == '"say \\"hi\\""'
    assert imap._quote("日本語") == '"&ZeVnLIqe-"'


# Helpers


def offline_mailbox(**fields) -> Mailbox:
    """A mailbox for the tests that need no server."""
    return Mailbox.objects.create(
        name="Offline", address="support@soporte.example", host="127.0.0.1",
        security="plain", username="nobody", **fields,
    )  # fmt: skip


def dovecot_message(n: int) -> bytes:
    return build_message(subject=f"Request {n}", body=f"Body of request {n}.")


def spy_on_bodies(monkeypatch) -> list[list[int]]:
    """Record the UIDs of every body FETCH the poller makes."""
    calls: list[list[int]] = []
    real = imap._Poll._bodies

    def spy(self, uids):
        calls.append(list(uids))
        return real(self, uids)

    monkeypatch.setattr(imap._Poll, "_bodies", spy)
    return calls
