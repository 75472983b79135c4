"""Automation rules and team assignment: what fires, what it does, and that it stops."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from soporte.accounts.models import Assignment, Role, Tier
from soporte.sla import automation
from soporte.sla.models import Rule, Trigger
from soporte.sla.services import save_rule
from soporte.tickets import services
from soporte.tickets.models import EventKind, Status, TicketEvent
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


def rule(ada, **fields) -> Rule:
    fields.setdefault("name", f"rule {Rule.objects.count() + 1}")
    return save_rule(acting_user=ada, **fields)


def test_a_created_rule_routes_tags_and_notes_and_every_event_names_it(ada, teams, make_ticket):
    printers = rule(
        ada, name="Printers to L2", trigger=Trigger.CREATED,
        conditions=[{"field": "subject", "op": "contains", "value": "PRINTER"}],
        actions=[
            {"type": "set", "field": "team", "value": teams["L2"].pk},
            {"type": "add_tag", "value": "printing"},
            {"type": "note", "body": "Routed by subject."},
        ],
    )  # fmt: skip
    ticket = make_ticket(subject="My printer is on fire")
    ticket.refresh_from_db()

    assert ticket.team == teams["L2"]
    assert [t.name for t in ticket.tags.all()] == ["printing"]
    assert ticket.messages.filter(internal=True, body_text="Routed by subject.").exists()
    by_rule = ticket.events.exclude(kind=EventKind.CREATED)
    assert {e.kind for e in by_rule} == {"updated", "note_added"}
    assert all(e.data["rule_name"] == "Printers to L2" for e in by_rule)
    assert all(e.data["rule"] == printers.pk for e in by_rule)
    assert all(e.actor.username == "soporte-system" for e in by_rule)


def test_a_rule_whose_conditions_do_not_hold_does_nothing(ada, teams, make_ticket):
    rule(
        ada, trigger=Trigger.CREATED,
        conditions=[{"field": "priority", "op": "in", "value": ["P1", "P2"]}],
        actions=[{"type": "add_tag", "value": "urgent"}],
    )  # fmt: skip
    ticket = make_ticket()  # P3
    assert not ticket.tags.exists()


def test_two_rules_that_undo_each_other_stop_instead_of_looping(ada, alice, ticket):
    rule(
        ada, name="up", trigger=Trigger.UPDATED,
        conditions=[{"field": "impact", "op": "is", "value": "low"}],
        actions=[{"type": "set", "field": "impact", "value": "high"}],
    )  # fmt: skip
    rule(
        ada, name="down", trigger=Trigger.UPDATED,
        conditions=[{"field": "impact", "op": "is", "value": "high"}],
        actions=[{"type": "set", "field": "impact", "value": "low"}],
    )  # fmt: skip
    services.update_ticket(ticket, acting_user=alice, impact="low")

    impact_changes = TicketEvent.objects.filter(ticket=ticket, field="impact").count()
    # alice's change, then "up", then "down" (up cannot fire again inside its own chain)
    assert impact_changes == 3
    ticket.refresh_from_db()
    assert ticket.impact == "low"


def test_a_rule_that_fails_undoes_only_itself(ada, alice, ticket, caplog):
    dora = make_user("dora", Role.AGENT, tier=Tier.L1)
    rule(
        ada, name="bad", trigger=Trigger.AGENT_REPLIED,
        actions=[{"type": "add_tag", "value": "answered"}, {"type": "assign", "to": dora.pk}],
    )  # fmt: skip
    dora.role = Role.REQUESTER  # she left the team after the rule was written
    dora.save()

    services.reply(ticket, acting_user=alice, body="On it.")

    ticket.refresh_from_db()
    assert ticket.messages.filter(body_text="On it.").exists()  # the reply stands
    assert not ticket.tags.exists()  # the rule's first action was undone with it
    assert ticket.assignee is None
    assert "Rule 'bad' did nothing" in caplog.text


def test_a_requester_reply_rule_sees_who_replied(ada, alice, ticket):
    rule(
        ada, trigger=Trigger.REQUESTER_REPLIED,
        actions=[{"type": "add_tag", "value": "customer-wrote"}],
    )  # fmt: skip
    services.reply(ticket, acting_user=alice, body="Which floor?")
    assert not ticket.tags.exists()
    services.reply(ticket, acting_user=ticket.requester, body="Second.")
    assert [t.name for t in ticket.tags.all()] == ["customer-wrote"]


# -- timed rules --------------------------------------------------------------------


def test_an_idle_rule_fires_once_per_idle_spell(ada, alice, ticket):
    rule(
        ada, name="nudge", trigger=Trigger.IDLE, hours=24,
        actions=[{"type": "note", "body": "Nobody touched this for a day."}],
    )  # fmt: skip
    later = timezone.now() + timedelta(hours=25)
    assert automation.run_timed(timezone.now()) == 0
    assert automation.run_timed(later) == 1
    assert automation.run_timed(later + timedelta(hours=30)) == 0  # its own note is no news

    ticket.refresh_from_db()  # the rule changed it meanwhile
    services.reply(ticket, acting_user=alice, body="Working on it.")
    assert automation.run_timed(later + timedelta(hours=60)) == 1
    assert ticket.messages.filter(body_text__startswith="Nobody touched").count() == 2


def test_an_in_status_rule_resolves_tickets_left_waiting_on_the_customer(ada, alice, ticket):
    rule(
        ada, name="auto-resolve", trigger=Trigger.IN_STATUS, hours=72,
        conditions=[{"field": "status", "op": "is", "value": "pending_customer"}],
        actions=[{"type": "set", "field": "status", "value": "resolved"}],
    )  # fmt: skip
    services.change_status(ticket, acting_user=alice, status=Status.PENDING_CUSTOMER)
    assert automation.run_timed(timezone.now() + timedelta(hours=71)) == 0
    assert automation.run_timed(timezone.now() + timedelta(hours=73)) == 1
    ticket.refresh_from_db()
    assert ticket.status == Status.RESOLVED
    assert "auto-resolve" in ticket.resolution


# -- team assignment ----------------------------------------------------------------


@pytest.fixture
def desk(teams, alice):
    team = teams["L1"]
    dora = make_user("dora", Role.AGENT, tier=Tier.L1)
    eva = make_user("eva", Role.AGENT, tier=Tier.L1)
    team.members.add(dora, eva)
    return team, [alice, dora, eva]


def test_round_robin_takes_turns_and_skips_agents_away(desk, make_ticket, carol):
    team, (alice, dora, eva) = desk
    team.assignment = Assignment.ROUND_ROBIN
    team.save()
    dora.away = True
    dora.save()
    got = [make_ticket(team=team, acting_user=carol).assignee for _ in range(4)]
    assert got == [alice, eva, alice, eva]


def test_least_loaded_picks_the_member_with_fewest_open_tickets(desk, make_ticket, carol):
    team, (alice, dora, eva) = desk
    for agent in (alice, alice, dora):
        services.assign(
            make_ticket(team=team, acting_user=carol), acting_user=carol, assignee=agent
        )
    team.assignment = Assignment.LEAST_LOADED
    team.save()
    assert make_ticket(team=team, acting_user=carol).assignee == eva
    assert make_ticket(team=team, acting_user=carol).assignee in (dora, eva)


def test_an_escalated_ticket_is_assigned_in_its_new_team(teams, bob, alice, ticket):
    teams["L2"].assignment = Assignment.ROUND_ROBIN
    teams["L2"].save()
    services.escalate(ticket, acting_user=alice, reason="Needs L2")
    ticket.refresh_from_db()
    assert (ticket.team, ticket.assignee) == (teams["L2"], bob)


# -- what admins may write ----------------------------------------------------------


NOTE = [{"type": "note", "body": "x"}]
CLOSE = [{"type": "set", "field": "status", "value": "closed"}]


def _when(field: str, op: str, value) -> dict:
    return {"trigger": "created", "conditions": [{"field": field, "op": op, "value": value}],
            "actions": NOTE}  # fmt: skip


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"trigger": "created", "actions": []}, "at least one action"),
        ({"trigger": "created", "actions": [{"type": "explode"}]}, "unknown action type"),
        ({"trigger": "created", "actions": CLOSE}, "not a status"),
        ({"trigger": "idle", "actions": NOTE}, "number of hours"),
        (_when("password", "is", "x"), "unknown field"),
        (_when("priority", "contains", "P"), "cannot be used"),
        (_when("priority", "is", "P9"), "is not a priority"),
    ],
)
def test_a_rule_that_could_not_run_is_refused_with_the_reason(api, ada, fields, message):
    response = api(ada).post("/sla/rules", {"name": "r", **fields})
    assert response.status_code == 422, response.content
    assert message in str(response.json()["detail"])
    assert not Rule.objects.exists()


def test_admins_manage_rules_through_the_api(api, ada, alice):
    body = {"name": "VIP", "trigger": "created", "actions": [{"type": "add_tag", "value": "vip"}]}
    assert api(alice).post("/sla/rules", body).status_code == 403
    created = api(ada).post("/sla/rules", body)
    assert created.status_code == 201
    rule_id = created.json()["id"]
    assert api(ada).patch(f"/sla/rules/{rule_id}", {"active": False}).json()["active"] is False
    assert api(ada).post("/sla/rules", body).status_code == 409
    assert api(ada).delete(f"/sla/rules/{rule_id}").status_code == 204
    assert not Rule.objects.exists()
