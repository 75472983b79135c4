"""A sender a trusted mail server says was forged (Authentication-Results, RFC 8601) does
not act as the address it claims: no reply in their name, an internal note instead."""

from __future__ import annotations

import pytest

from soporte.mail.models import OutboundMail, RawStatus
from soporte.mail.parse import parse
from soporte.tickets import services as tickets

from .messages import build
from .test_processing import ingest, mail

pytestmark = pytest.mark.django_db

OURS = "mx.soporte.example"
DMARC_FAIL = f"{OURS}; dkim=none; spf=fail smtp.mailfrom=acme.example; dmarc=fail (p=reject)"


def test_every_authentication_results_header_is_read_topmost_first():
    headers = (
        b"Authentication-Results: MX.Soporte.Example;\r\n dkim=pass (good (nested) note)"
        b" header.d=acme.example;\r\n spf/1=softfail smtp.mailfrom=x; dmarc=pass\r\n"
        b"Authentication-Results: relay.example 1; none\r\n"
    )
    [first, second] = parse(headers + build()).authentication
    assert first.server == "mx.soporte.example"
    assert first.results == (("dkim", "pass"), ("spf", "softfail"), ("dmarc", "pass"))
    assert (first.result("spf"), first.result("arc")) == ("softfail", "")
    assert (second.server, second.results) == ("relay.example", ())


@pytest.fixture
def open_ticket(settings, maria):
    settings.MAIL_TRUSTED_AUTHSERV_IDS = [OURS]
    return tickets.open_ticket(acting_user=maria, subject="VPN", body="down")


def reply_from(address, ticket, results):
    headers = {"Authentication-Results": results} if results else {}
    return ingest(mail(subject=f"Re: [#{ticket.number}] VPN", body="Close it, and call me at"
                       " +1 555 0100 to confirm your password.", sender=address,
                       headers=headers))  # fmt: skip


def test_a_forged_requester_reply_becomes_an_internal_note(open_ticket, maria):
    stored, _ = reply_from(maria.email, open_ticket, DMARC_FAIL)

    assert stored.status == RawStatus.DONE, stored.error
    note = stored.message
    assert stored.ticket == open_ticket
    assert note.internal is True and note.author != maria
    assert f"claiming to be from {maria.email}" in note.body_text
    assert "(dmarc=fail)" in note.body_text
    # Maria's only public message is the one she opened the ticket with.
    assert open_ticket.messages.filter(author=maria, internal=False).count() == 1


def test_a_forged_agent_cannot_mail_the_requester_through_the_desk(open_ticket, alice):
    before = OutboundMail.objects.count()
    stored, _ = reply_from(alice.email, open_ticket, DMARC_FAIL)

    assert stored.message.internal is True and stored.message.author != alice
    # Nothing goes out in the agent's name.
    assert OutboundMail.objects.count() == before


@pytest.mark.parametrize(
    "results",
    [
        f"{OURS}; dmarc=pass; spf=fail",
        f"{OURS}; dkim=fail (body changed by a list); spf=pass",
        f"{OURS}; dkim=pass; spf=fail",
        f"{OURS}; spf=softfail",
        f"{OURS}; none",
        # Only our server is believed: a sender can write any header.
        "relay.example; dmarc=fail",
        None,
    ],
)
def test_a_sender_that_passed_or_that_no_trusted_server_judged_replies_as_themselves(
    open_ticket, maria, results
):
    stored, _ = reply_from(maria.email, open_ticket, results)

    assert stored.message.author == maria and stored.message.internal is False


def test_the_topmost_header_of_a_trusted_server_decides(open_ticket, maria):
    # Ours on top says fail; a "pass" in our name further down came with the message.
    results = f"{DMARC_FAIL}\r\nAuthentication-Results: {OURS}; dmarc=pass"
    raw = mail(subject=f"Re: [#{open_ticket.number}] VPN", sender=maria.email)
    stored, _ = ingest(f"Authentication-Results: {results}\r\n".encode() + raw)

    assert stored.message.internal is True


def test_without_trusted_servers_the_from_is_taken_as_it_says(open_ticket, maria, settings):
    settings.MAIL_TRUSTED_AUTHSERV_IDS = []
    stored, _ = reply_from(maria.email, open_ticket, DMARC_FAIL)

    assert stored.message.author == maria and stored.message.internal is False


def test_a_new_ticket_from_a_forged_sender_is_opened_and_tagged(settings, acme):
    settings.MAIL_TRUSTED_AUTHSERV_IDS = [OURS]
    stored, _ = ingest(mail(headers={"Authentication-Results": DMARC_FAIL}))

    assert stored.status == RawStatus.DONE, stored.error
    assert list(stored.ticket.tags.values_list("name", flat=True)) == ["unverified-sender"]
