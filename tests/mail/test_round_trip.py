"""The whole loop over real SMTP: a requester writes to our receiver, a ticket opens,
the agent replies, the reply goes out through a real SMTP server, the requester answers
that mail, and the answer lands on the same ticket."""

from __future__ import annotations

import smtplib
import time
from email.message import EmailMessage
from email.utils import make_msgid

import pytest

from soporte.mail.models import RawMessage, RawStatus
from soporte.tickets import services
from soporte.tickets.models import Ticket

pytestmark = pytest.mark.django_db(transaction=True)


def send(port: int, message: EmailMessage) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.send_message(message)


def wait_for(condition, seconds: float = 10):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_mail_in_reply_out_answer_in_stays_on_one_ticket(smtp, smtp_receiver, acme, alice, teams):
    receiver = smtp_receiver()

    # 1. The requester writes in.
    first = EmailMessage()
    first["From"] = "Maria Lopez <maria@acme.example>"
    first["To"] = "support@soporte.example"
    first["Subject"] = "La impresora imprime en blanco"
    first["Message-ID"] = make_msgid(domain="acme.example")
    first.set_content("Desde esta mañana todas las páginas salen en blanco.")
    send(receiver.port, first)
    stored = wait_for(lambda: RawMessage.objects.filter(status=RawStatus.DONE).first())
    ticket = stored.ticket
    assert ticket.subject == "La impresora imprime en blanco"

    # 2. The acknowledgement reaches her, with the ticket number.
    ack = wait_for(lambda: smtp.to("maria@acme.example"))[0]
    assert f"[#{ticket.number}]" in ack["Subject"]

    # 3. An agent answers; the answer goes out by mail.
    services.assign(ticket, acting_user=alice, assignee=alice)
    services.reply(ticket, acting_user=alice, body="¿Ha probado a cambiar el tóner?")
    answer = wait_for(lambda: [m for m in smtp.to("maria@acme.example") if m is not None][1:])[0]
    assert "tóner" in answer.get_body(preferencelist=("plain",)).get_content()

    # 4. She answers the agent's mail; it threads to the same ticket.
    again = EmailMessage()
    again["From"] = "Maria Lopez <maria@acme.example>"
    again["To"] = "support@soporte.example"
    again["Subject"] = "Re: " + answer["Subject"]
    again["Message-ID"] = make_msgid(domain="acme.example")
    again["In-Reply-To"] = answer["Message-ID"]
    again["References"] = answer["Message-ID"]
    again.set_content("Sí, y sigue igual.")
    send(receiver.port, again)
    wait_for(lambda: RawMessage.objects.filter(status=RawStatus.DONE).count() == 2)

    assert Ticket.objects.count() == 1
    bodies = list(ticket.messages.order_by("id").values_list("body_text", flat=True))
    assert bodies[-1].startswith("Sí, y sigue igual.")
    assert len(bodies) == 3
