"""Mail too large to take: recorded from its headers, its sender told once, by a bounce
sent like any other mail (to a real SMTP sink), unless the sender must not be answered.

Pedro writes from Globex with a message over the limit; the IMAP poller's part (not
downloading it, flagging it, polling twice) is in test_imap.py.
"""

from __future__ import annotations

import pytest

from soporte.mail.models import Mailbox, OutboundMail, OutboundStatus, RawMessage, RawStatus
from soporte.mail.oversize import refuse_oversized
from soporte.mail.services import process_pending_messages, process_raw_message

from .conftest import build_message

pytestmark = pytest.mark.django_db

LIMIT = 4096
SIZE = 10_389


@pytest.fixture(autouse=True)
def _small_limit(settings):
    settings.MAIL_MAX_BYTES = LIMIT


def header_block(sender="Pedro Gil <pedro@globex.example>", headers=None, **fields) -> bytes:
    """The headers of a message, as the IMAP poller fetches them (BODY[HEADER])."""
    raw = build_message(sender=sender, **fields)
    head = raw.split(b"\r\n\r\n", 1)[0]
    for name, value in (headers or {}).items():
        head += f"\r\n{name}: {value}".encode()
    return head + b"\r\n\r\n"


def refuse(block: bytes):
    return refuse_oversized(block, size=SIZE, mailbox=None)


def test_the_sender_is_told_the_size_and_the_limit_once(smtp, committed):
    block = header_block(subject="Scans", message_id="<scans@globex.example>")

    with committed():
        refused, created = refuse(block)
    with committed():
        again, created_again = refuse(block)

    assert (created, created_again) == (True, False)
    assert again == refused
    assert (refused.status, refused.raw, refused.size) == (RawStatus.REFUSED, b"", SIZE)
    assert (refused.sender, refused.subject) == ("pedro@globex.example", "Scans")
    [bounce] = smtp.messages
    assert bounce["To"] == "pedro@globex.example"
    assert bounce["Auto-Submitted"] == "auto-replied"
    assert bounce["X-Auto-Response-Suppress"] == "All"
    assert bounce["References"] == "<scans@globex.example>"
    assert bounce.get_content_type() == "multipart/alternative"
    text = bounce.get_body(("plain",)).get_content()
    html = bounce.get_body(("html",)).get_content()
    for content in (text, html):
        assert "10.1\xa0KB (10,389 bytes)" in content
        assert "4.0\xa0KB (4,096 bytes)" in content
        assert "Scans" in content
    assert '<html lang="en">' in html
    assert "Ticket #" not in html  # about no ticket
    assert OutboundMail.objects.get().status == OutboundStatus.SENT


def test_a_message_without_message_id_is_recorded_once_by_its_headers(smtp, committed):
    block = header_block().replace(b"Message-ID:", b"X-Old-Id:")

    with committed():
        refuse(block)
        refuse(block)

    assert RawMessage.objects.count() == 1
    assert len(smtp.messages) == 1


def test_a_known_sender_is_answered_by_name_in_their_language(smtp, committed, pedro):
    pedro.language = "es"
    pedro.save(update_fields=["language"])

    with committed():
        refuse(header_block(sender=pedro.email))

    [bounce] = smtp.messages
    html = bounce.get_body(("html",)).get_content()
    assert '<html lang="es">' in html
    assert "Pedro" in html


@pytest.mark.parametrize(
    ("headers", "sender", "why"),
    [
        ({"Auto-Submitted": "auto-replied"}, "pedro@globex.example", "automatic"),
        ({"Precedence": "bulk"}, "pedro@globex.example", "automatic"),
        ({"List-Id": "<news.globex.example>"}, "news@globex.example", "mailing list"),
        ({}, "MAILER-DAEMON@globex.example", "automatic"),
        ({}, "not an address", "no usable sender"),
    ],
    ids=["auto-submitted", "bulk", "list", "mailer-daemon", "no-address"],
)
def test_robots_and_lists_are_never_answered(smtp, committed, headers, sender, why):
    with committed():
        refused, _ = refuse(header_block(sender=sender, headers=headers))

    assert refused.status == RawStatus.REFUSED
    assert why in refused.error
    assert smtp.messages == []
    assert not OutboundMail.objects.exists()


def test_our_own_addresses_are_never_answered(smtp, committed):
    """A loop: our own mail, come back too large."""
    Mailbox.objects.create(
        name="Desk", address="Desk@Help.example", host="127.0.0.1", username="desk",
        password_env="DESK_PASSWORD",
    )  # fmt: skip

    with committed():
        refused, _ = refuse(header_block(sender="desk@help.example"))

    assert "our own addresses" in refused.error
    assert smtp.messages == []


def test_senders_the_help_desk_does_not_take_mail_from_are_not_answered(
    smtp, committed, settings, acme
):
    settings.MAIL_UNKNOWN_SENDERS = "known_domains"

    with committed():
        stranger, _ = refuse(header_block(sender="x@unknown.example"))
        refuse(header_block(sender="someone@acme.example"))

    assert "unknown senders" in stranger.error
    assert [m["To"] for m in smtp.messages] == ["someone@acme.example"]


def test_a_disabled_account_is_not_answered(smtp, committed, pedro):
    pedro.is_active = False
    pedro.save(update_fields=["is_active"])

    with committed():
        refused, _ = refuse(header_block(sender=pedro.email))

    assert "disabled" in refused.error
    assert smtp.messages == []


def test_a_mail_storm_is_recorded_but_not_answered(smtp, committed, settings):
    settings.MAIL_SENDER_LIMIT_PER_HOUR = 2

    with committed():
        for n in range(4):
            refuse(header_block(subject=f"Video {n}"))

    assert RawMessage.objects.filter(status=RawStatus.REFUSED).count() == 4
    assert len(smtp.messages) == 2
    assert "more than 2 messages in an hour" in RawMessage.objects.order_by("id").last().error


def test_a_bounce_the_server_defers_is_retried_then_sent_once(smtp, committed):
    smtp.refuse = ["451 4.3.0 Try again later"]

    with committed():
        refuse(header_block())

    sent = OutboundMail.objects.get()
    assert (sent.status, sent.attempts, sent.ticket) == (OutboundStatus.SENT, 2, None)
    assert len(smtp.messages) == 1


def test_a_refused_message_is_never_processed(smtp, committed):
    with committed():
        refused, _ = refuse(header_block())

    assert process_raw_message(refused.pk) is None
    assert process_pending_messages() == 0
    refused.refresh_from_db()
    assert refused.status == RawStatus.REFUSED


def test_only_admins_see_the_refused_list_in_the_admin(client, ada, alice, smtp, committed):
    with committed():
        refuse(header_block(subject="Scans"))
    url = "/admin/mail/rawmessage/?status__exact=refused"

    client.force_login(alice)
    assert client.get(url).status_code == 302  # to the admin login
    client.force_login(ada)
    page = client.get(url)

    assert page.status_code == 200
    assert b"Scans" in page.content and b"pedro@globex.example" in page.content
