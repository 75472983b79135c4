"""An automation rule's email: placeholders filled, recorded once, sent like any mail."""

from __future__ import annotations

import pytest

from soporte.mail.models import OutboundKind, OutboundMail
from soporte.mail.outbound import record_templated
from soporte.sla.services import save_rule

pytestmark = pytest.mark.django_db

WELCOME = {
    "type": "email",
    "to": "requester",
    "subject": "About {{ ticket.subject }}",
    "body": "Hi {{ requester.first_name }}, ticket {{ ticket.number }} is in our queue.",
}


def test_a_rule_mails_the_requester_with_placeholders_filled(smtp, committed, ada, make_ticket):
    save_rule(acting_user=ada, name="Welcome", trigger="created", actions=[WELCOME])
    with committed():
        ticket = make_ticket(subject="Printer jam")

    [welcome] = [m for m in smtp.messages if m["Subject"].startswith(f"[#{ticket.number}] About")]
    assert welcome["Subject"] == f"[#{ticket.number}] About Printer jam"
    text = welcome.get_body(("plain",)).get_content()
    assert f"Hi Maria, ticket {ticket.number} is in our queue." in text
    assert welcome["Auto-Submitted"] == "auto-generated"
    assert welcome["To"] == "maria@example.org"


def test_a_rerun_of_the_same_rule_mail_records_nothing_more(ticket):
    assert record_templated(ticket.pk, "requester", "Hello", "Body", "k1") == 1
    assert record_templated(ticket.pk, "requester", "Hello", "Body", "k1") == 0
    assert OutboundMail.objects.filter(kind=OutboundKind.TEMPLATED).count() == 1


def test_a_rule_mail_with_an_unknown_placeholder_is_refused(api, ada):
    bad = {**WELCOME, "body": "Your password is {{ requester.password }}"}
    response = api(ada).post("/sla/rules", {"name": "Leak", "trigger": "created", "actions": [bad]})
    assert response.status_code == 422
    assert "{{ requester.password }}" in response.json()["detail"]
