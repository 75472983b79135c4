"""Agents hear by mail when a ticket nears or misses an SLA target, once per event."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from soporte.mail.models import OutboundKind, OutboundMail
from soporte.sla import services as sla
from soporte.sla.models import SlaPolicy
from soporte.tickets import services

pytestmark = pytest.mark.django_db


def _text(mail) -> str:
    return mail.get_body(("plain",)).get_content()


def _to_agents(smtp) -> list:
    """The alerts (the requester's acknowledgement may reach the sink late)."""
    return [m for m in smtp.messages if not m["To"].startswith("maria@")]


@pytest.fixture
def urgent(db) -> SlaPolicy:
    return SlaPolicy.objects.create(name="24x7", first_response_minutes=60)


def test_the_assignee_is_warned_then_told_of_the_breach_once_each(
    smtp, committed, urgent, alice, carol, make_ticket
):
    alice.language = "es"
    alice.save()
    with committed():
        ticket = make_ticket()
        services.assign(ticket, acting_user=carol, assignee=alice)
    start = timezone.now()

    with committed():
        sla.watch(start + timedelta(minutes=50))
    with committed():
        sla.watch(start + timedelta(minutes=61))
    with committed():
        sla.watch(start + timedelta(minutes=90))  # nothing new

    warning, breach = _to_agents(smtp)
    assert "está cerca de su objetivo de Primera respuesta" in _text(warning)
    assert "incumplió su objetivo de Primera respuesta" in _text(breach)
    assert "/desk/tickets/" in _text(breach)
    assert breach["Auto-Submitted"] == "auto-generated"
    assert OutboundMail.objects.filter(kind=OutboundKind.SLA).count() == 2


def test_an_unassigned_tickets_team_hears_except_who_is_away(
    smtp, committed, urgent, alice, carol, maria, teams, make_ticket
):
    from ..conftest import make_user

    away = make_user("dora", "agent", tier="L1")
    away.away = True
    away.save()
    teams["L1"].members.add(away)
    with committed():
        make_ticket(acting_user=carol, requester=maria, team=teams["L1"])

    with committed():
        sla.watch(timezone.now() + timedelta(minutes=61))

    assert [m["To"] for m in _to_agents(smtp)] == ["alice@example.org"]


def test_a_ticket_resolved_before_the_job_runs_sends_no_alert(
    smtp, committed, urgent, alice, carol, make_ticket
):
    with committed():
        ticket = make_ticket()
        services.assign(ticket, acting_user=carol, assignee=alice)
    sla.watch(timezone.now() + timedelta(minutes=61))  # the job waits for the commit
    with committed():
        services.resolve(ticket, acting_user=alice, resolution="Done.")
    assert not OutboundMail.objects.filter(kind=OutboundKind.SLA).exists()
