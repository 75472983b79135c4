"""What the mail channel shows on the agent's pages, and the admin quarantine."""

from __future__ import annotations

import pytest
from django.test import Client

from soporte.mail.models import OutboundMail, OutboundStatus, RawMessage, RawStatus
from soporte.tickets import services

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_undelivered_mail_is_shown_on_the_ticket_page(alice, ticket):
    page = signed_in(alice).get(f"/desk/tickets/{ticket.number}/")
    assert b"could not be delivered" not in page.content
    OutboundMail.objects.create(
        ticket=ticket, kind="reply", dedupe_key="d", to=["maria@example.org"], subject="s",
        mail_id="m@x", status=OutboundStatus.FAILED, last_error="550 no such user",
    )  # fmt: skip
    page = signed_in(alice).get(f"/desk/tickets/{ticket.number}/")
    assert b"could not be delivered" in page.content
    assert b"550 no such user" in page.content


def test_quoted_history_is_folded_but_kept(maria, alice):
    body = "It still fails.\n\nOn Mon, Ana wrote:\n> Did you restart it?\n> Ana"
    ticket = services.open_ticket(acting_user=maria, subject="VPN", body=body)
    page = signed_in(alice).get(f"/desk/tickets/{ticket.number}/").content.decode()
    assert "It still fails." in page
    folded = page.split('<details class="quoted">', 1)[1]
    assert "Did you restart it?" in folded
    assert ticket.messages.get().body_text == body  # nothing deleted from storage


def test_admins_retry_quarantined_mail_from_the_admin(ada, acme):
    raw = (
        b"From: Maria <maria@acme.example>\r\nTo: support@soporte.example\r\n"
        b"Subject: held\r\nMessage-ID: <held@acme.example>\r\n\r\nplease help\r\n"
    )
    held = RawMessage.objects.create(
        dedupe_key="held", raw=raw, size=len(raw), source="api",
        status=RawStatus.QUARANTINED, error="policy",
    )  # fmt: skip
    response = signed_in(ada).post(
        "/admin/mail/rawmessage/", {"action": "retry", "_selected_action": [held.pk]}
    )
    assert response.status_code == 302
    held.refresh_from_db()
    assert held.status == RawStatus.DONE
    assert held.ticket.subject == "held"
