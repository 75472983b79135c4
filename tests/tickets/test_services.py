"""Every change to a ticket goes through tickets.services: rules, audit trail, conflicts.

Alice (L1) works the Service Desk queue, Bob (L2) Infrastructure, Sara (L3) Applications;
Maria opened the ticket; Marco is her colleague at Acme; Pedro (Globex) sees nothing.
"""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta
from itertools import product

import pytest
from django.db import connection, transaction
from django.utils import timezone

from soporte.accounts.models import Role, Team, Tier
from soporte.lib.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    TooLarge,
    UnsupportedMedia,
)
from soporte.tickets import services
from soporte.tickets.models import (
    PRIORITY_MATRIX,
    TRANSITIONS,
    Attachment,
    Channel,
    EventKind,
    Level,
    Message,
    MessageKind,
    Priority,
    Status,
    Ticket,
    TicketEvent,
)
from soporte.tickets.signals import ticket_changed
from tests.conftest import make_user

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"


def trail(ticket: Ticket) -> list[tuple[str, str, str, str]]:
    """The ticket's audit trail as (kind, field, old, new), oldest first."""
    return list(
        TicketEvent.objects.filter(ticket=ticket)
        .order_by("id")
        .values_list("kind", "field", "old", "new")
    )


def last_events(ticket: Ticket, n: int) -> list[TicketEvent]:
    return list(TicketEvent.objects.filter(ticket=ticket).order_by("-id")[:n])[::-1]


def reload(ticket: Ticket) -> Ticket:
    return Ticket.objects.get(pk=ticket.pk)


def snapshot(*tickets: Ticket) -> dict:
    """Everything a service could touch, as stored: to prove a refused call changed nothing."""
    return {
        "tickets": list(Ticket.objects.order_by("id").values()),
        "messages": list(Message.objects.order_by("id").values()),
        "attachments": list(Attachment.objects.order_by("id").values()),
        "events": list(TicketEvent.objects.order_by("id").values()),
        "tags": {t.pk: sorted(t.tags.values_list("name", flat=True)) for t in tickets},
        "watchers": {t.pk: sorted(t.watchers.values_list("id", flat=True)) for t in tickets},
    }


def set_status(ticket: Ticket, status: str) -> Ticket:
    """Put a ticket in a status directly (test set-up only), with its timestamps."""
    now = timezone.now()
    Ticket.objects.filter(pk=ticket.pk).update(
        status=status,
        resolution="Fixed" if status in (Status.RESOLVED, Status.CLOSED) else "",
        resolved_at=now if status in (Status.RESOLVED, Status.CLOSED) else None,
        closed_at=now if status == Status.CLOSED else None,
    )
    return reload(ticket)


@pytest.fixture
def l1_ticket(make_ticket, alice, maria, teams):
    """Maria's ticket, opened by Alice into the Service Desk L1 queue."""
    return make_ticket(acting_user=alice, requester=maria, team=teams["L1"])


# -- open_ticket ----------------------------------------------------------------------


def test_a_requester_opens_a_ticket_for_themself(maria, acme):
    ticket = services.open_ticket(
        acting_user=maria, subject="  Printer jam  ", body="Floor 2 printer jams."
    )
    ticket = reload(ticket)
    assert ticket.number >= 1001
    assert ticket.subject == "Printer jam"
    assert (ticket.status, ticket.tier, ticket.channel) == (Status.NEW, Tier.L1, Channel.WEB)
    assert ticket.requester == maria
    assert ticket.organization == acme
    assert ticket.assignee is None and ticket.team is None
    assert ticket.version == 1
    [message] = ticket.messages.all()
    assert (message.kind, message.author, message.internal) == (MessageKind.REPLY, maria, False)
    assert message.body_text == "Floor 2 printer jams."
    [event] = TicketEvent.objects.filter(ticket=ticket)
    assert (event.kind, event.actor, event.new) == (EventKind.CREATED, maria, "new")
    assert event.data["entered_by"] == maria.pk
    assert event.data["priority"] == Priority.P3


def test_a_requester_cannot_open_a_ticket_for_someone_else(maria, marco):
    with pytest.raises(PermissionDenied):
        services.open_ticket(acting_user=maria, requester=marco, subject="Hi", body="x")
    assert not Ticket.objects.exists()


@pytest.mark.parametrize("field", ["priority", "team", "assignee", "due_at", "watchers"], ids=str)
def test_a_requester_cannot_set_agent_only_fields(field, maria, marco, alice, teams):
    values = {
        "priority": Priority.P1,
        "team": teams["L1"],
        "assignee": alice,
        "due_at": timezone.now() + timedelta(days=1),
        "watchers": [marco],
    }
    with pytest.raises(PermissionDenied):
        services.open_ticket(acting_user=maria, subject="Hi", body="x", **{field: values[field]})
    assert not Ticket.objects.exists()


def test_an_agent_opens_a_phone_ticket_on_behalf_of_a_requester(alice, maria, acme):
    ticket = services.open_ticket(
        acting_user=alice,
        requester=maria,
        subject="VPN drops",
        body="Called in: VPN drops every hour.",
        channel=Channel.PHONE,
    )
    ticket = reload(ticket)
    assert ticket.requester == maria
    assert ticket.organization == acme
    assert ticket.channel == Channel.PHONE
    [message] = ticket.messages.all()
    # The request is in the requester's name, entered by the agent.
    assert (message.author, message.channel) == (maria, Channel.PHONE)
    [event] = TicketEvent.objects.filter(ticket=ticket)
    assert (event.kind, event.actor) == (EventKind.CREATED, alice)
    assert event.data == {"channel": "phone", "priority": "P3", "entered_by": alice.pk}


@pytest.mark.parametrize(
    ("impact", "urgency", "priority"),
    [
        (Level.HIGH, Level.HIGH, Priority.P1),
        (Level.HIGH, Level.MEDIUM, Priority.P2),
        (Level.HIGH, Level.LOW, Priority.P3),
        (Level.MEDIUM, Level.HIGH, Priority.P2),
        (Level.MEDIUM, Level.MEDIUM, Priority.P3),
        (Level.MEDIUM, Level.LOW, Priority.P4),
        (Level.LOW, Level.HIGH, Priority.P3),
        (Level.LOW, Level.MEDIUM, Priority.P4),
        (Level.LOW, Level.LOW, Priority.P4),
    ],
)
def test_priority_comes_from_the_impact_urgency_matrix(impact, urgency, priority, make_ticket):
    ticket = make_ticket(impact=impact, urgency=urgency)
    assert reload(ticket).priority == priority
    assert PRIORITY_MATRIX[(impact, urgency)] == priority


def test_the_matrix_covers_every_impact_and_urgency():
    assert set(PRIORITY_MATRIX) == set(product(Level, Level))


def test_an_agent_may_set_the_priority_over_the_matrix(make_ticket, alice, maria):
    ticket = make_ticket(
        acting_user=alice, requester=maria, impact=Level.LOW, urgency=Level.LOW, priority="P1"
    )
    assert reload(ticket).priority == Priority.P1


def test_tags_are_cleaned_and_watchers_exclude_the_requester(make_ticket, alice, maria, marco):
    ticket = make_ticket(
        acting_user=alice,
        requester=maria,
        tags=[" VPN ", "vpn", "Urgent", "", "  "],
        watchers=[marco, maria],
    )
    assert sorted(ticket.tags.values_list("name", flat=True)) == ["urgent", "vpn"]
    assert list(ticket.watchers.all()) == [marco]


def test_a_requester_may_tag_their_own_ticket(make_ticket):
    ticket = make_ticket(tags=["printer"])
    assert list(ticket.tags.values_list("name", flat=True)) == ["printer"]


def test_a_tag_longer_than_50_characters_is_refused_and_nothing_is_kept(make_ticket):
    with pytest.raises(InvalidInput):
        make_ticket(tags=["x" * 51])
    assert not Ticket.objects.exists()
    assert not Message.objects.exists()


def test_opening_into_a_team_takes_its_tier_and_an_assignee_opens_it(make_ticket, bob, maria):
    team = Team.objects.get(name="Infrastructure L2")
    ticket = make_ticket(acting_user=bob, requester=maria, team=team, assignee=bob)
    ticket = reload(ticket)
    assert (ticket.team, ticket.tier, ticket.assignee) == (team, Tier.L2, bob)
    assert ticket.status == Status.OPEN


def test_the_assignee_of_a_new_ticket_must_be_an_active_agent(make_ticket, alice, maria, marco):
    with pytest.raises(InvalidInput):
        make_ticket(acting_user=alice, requester=maria, assignee=marco)
    alice.is_active = False
    alice.save()
    sam = make_user("sam", Role.SUPERVISOR)
    with pytest.raises(InvalidInput):
        make_ticket(acting_user=sam, requester=maria, assignee=alice)
    assert not Ticket.objects.exists()


def test_the_assignee_of_a_new_ticket_must_serve_its_team(make_ticket, alice, bob, maria, teams):
    """The same rule as assign(): opening cannot bypass it."""
    with pytest.raises(InvalidInput):
        make_ticket(acting_user=alice, requester=maria, team=teams["L1"], assignee=bob)
    assert not Ticket.objects.exists()


def test_a_disabled_requester_cannot_get_a_new_ticket(make_ticket, alice, maria):
    maria.is_active = False
    maria.save()
    with pytest.raises(InvalidInput):
        make_ticket(acting_user=alice, requester=maria)


@pytest.mark.parametrize(
    ("subject", "body"), [("", "body"), ("   ", "body"), ("x" * 251, "body"), ("Hi", "  ")]
)
def test_a_ticket_needs_a_subject_and_a_body(make_ticket, subject, body):
    with pytest.raises(InvalidInput):
        make_ticket(subject=subject, body=body)


def test_an_html_body_is_sanitized_and_gives_the_text(make_ticket):
    ticket = make_ticket(body="", body_html="<p>Hello <b>desk</b></p><script>alert(1)</script>")
    message = ticket.messages.get()
    assert message.body_html == "<p>Hello <b>desk</b></p>"
    assert message.body_text == "Hello desk"


# -- reply ----------------------------------------------------------------------------


def test_an_agents_first_reply_is_the_first_response_and_opens_the_ticket(ticket, alice):
    assert ticket.first_responded_at is None
    message = services.reply(ticket, acting_user=alice, body="On it.")
    ticket = reload(ticket)
    assert ticket.status == Status.OPEN
    assert ticket.first_responded_at is not None
    assert (message.kind, message.internal, message.author) == (MessageKind.REPLY, False, alice)
    assert trail(ticket)[1:] == [
        ("status_changed", "status", "new", "open"),
        ("replied", "", "", ""),
    ]
    first = ticket.first_responded_at
    services.reply(ticket, acting_user=alice, body="Still on it.")
    assert reload(ticket).first_responded_at == first


def test_a_requesters_reply_is_not_a_first_response(ticket, maria):
    services.reply(ticket, acting_user=maria, body="Any news?")
    ticket = reload(ticket)
    assert ticket.first_responded_at is None
    assert ticket.status == Status.NEW
    assert trail(ticket)[-1] == ("replied", "", "", "")


@pytest.mark.parametrize(
    "status", [Status.PENDING_CUSTOMER, Status.PENDING_THIRD_PARTY, Status.RESOLVED]
)
def test_a_requesters_reply_brings_a_waiting_ticket_back_to_open(ticket, maria, status):
    ticket = set_status(ticket, status)
    services.reply(ticket, acting_user=maria, body="It is broken again.")
    ticket = reload(ticket)
    assert ticket.status == Status.OPEN
    assert ticket.resolved_at is None
    assert ("status_changed", "status", status.value, "open") in trail(ticket)


def test_an_agent_may_set_the_status_with_a_reply(ticket, alice):
    services.reply(
        ticket, acting_user=alice, body="Please send a photo.", status="pending_customer"
    )
    assert reload(ticket).status == Status.PENDING_CUSTOMER


def test_a_requester_cannot_set_the_status_with_a_reply(ticket, maria):
    before = snapshot(ticket)
    with pytest.raises(PermissionDenied):
        services.reply(ticket, acting_user=maria, body="Done", status="resolved")
    assert snapshot(ticket) == before


@pytest.mark.parametrize("who", ["alice", "maria"])
def test_a_closed_ticket_takes_no_replies(ticket, who, request):
    ticket = set_status(ticket, Status.CLOSED)
    before = snapshot(ticket)
    with pytest.raises(Conflict):
        services.reply(ticket, acting_user=request.getfixturevalue(who), body="Hello?")
    assert snapshot(ticket) == before


def test_someone_who_cannot_see_the_ticket_cannot_reply(ticket, pedro):
    with pytest.raises(NotFound):
        services.reply(ticket, acting_user=pedro, body="Hi")


def test_an_empty_reply_is_refused(ticket, alice):
    with pytest.raises(InvalidInput):
        services.reply(ticket, acting_user=alice, body="  ", body_html="<p> </p>")


# -- notes and calls ------------------------------------------------------------------


def test_an_internal_note(ticket, alice):
    note = services.add_note(ticket, acting_user=alice, body="Known issue with the fuser.")
    assert (note.kind, note.internal, note.author) == (MessageKind.NOTE, True, alice)
    event = last_events(ticket, 1)[0]
    assert (event.kind, event.actor, event.data) == (
        EventKind.NOTE_ADDED,
        alice,
        {"message": note.pk},
    )
    ticket = reload(ticket)
    assert ticket.status == Status.NEW
    assert ticket.first_responded_at is None
    assert ticket.version == 2


def test_a_requester_cannot_add_a_note(ticket, maria):
    with pytest.raises(PermissionDenied):
        services.add_note(ticket, acting_user=maria, body="psst")
    assert not Message.objects.filter(kind=MessageKind.NOTE).exists()


def test_a_logged_call_is_internal_by_default(ticket, alice):
    call = services.log_call(
        ticket, acting_user=alice, body="Walked her through a restart.",
        direction="outbound", duration_seconds=300,
    )  # fmt: skip
    call.refresh_from_db()
    assert (call.kind, call.channel, call.internal) == ("call", "phone", True)
    assert (call.call_direction, call.call_duration) == ("outbound", 300)
    event = last_events(ticket, 1)[0]
    assert event.kind == EventKind.CALL_LOGGED
    assert event.data == {"message": call.pk, "direction": "outbound"}
    # An internal call is not an answer to the requester.
    assert reload(ticket).first_responded_at is None


def test_a_shared_call_counts_as_the_first_response(ticket, alice):
    call = services.log_call(ticket, acting_user=alice, body="Called back.", internal=False)
    assert call.internal is False
    assert call.call_direction == "inbound"
    assert reload(ticket).first_responded_at is not None


@pytest.mark.parametrize("duration", [-1, 86_401])
def test_a_call_duration_must_be_within_a_day(ticket, alice, duration):
    with pytest.raises(InvalidInput):
        services.log_call(ticket, acting_user=alice, body="x", duration_seconds=duration)


def test_a_call_needs_a_summary(ticket, alice):
    with pytest.raises(InvalidInput):
        services.log_call(ticket, acting_user=alice, body=" ")


def test_a_requester_cannot_log_a_call(ticket, maria):
    with pytest.raises(PermissionDenied):
        services.log_call(ticket, acting_user=maria, body="I called")


# -- assign ---------------------------------------------------------------------------


def test_assigning_a_new_ticket_opens_it(l1_ticket, alice):
    services.assign(l1_ticket, acting_user=alice, assignee=alice)
    ticket = reload(l1_ticket)
    assert (ticket.assignee, ticket.status) == (alice, Status.OPEN)
    assert trail(ticket)[1:] == [
        ("assigned", "assignee", "", "Alice"),
        ("status_changed", "status", "new", "open"),
    ]


def test_unassigning_records_who_had_it(l1_ticket, alice):
    services.assign(l1_ticket, acting_user=alice, assignee=alice)
    services.assign(l1_ticket, acting_user=alice, assignee=None)
    ticket = reload(l1_ticket)
    assert ticket.assignee is None
    assert ticket.status == Status.OPEN
    assert trail(ticket)[-1] == ("assigned", "assignee", "Alice", "")


def test_assigning_the_same_person_again_changes_nothing(l1_ticket, alice):
    services.assign(l1_ticket, acting_user=alice, assignee=alice)
    before = snapshot(l1_ticket)
    services.assign(reload(l1_ticket), acting_user=alice, assignee=alice)
    assert snapshot(l1_ticket) == before


def test_the_assignee_must_be_a_member_of_the_tickets_team(l1_ticket, alice, bob):
    with pytest.raises(InvalidInput, match="not a member"):
        services.assign(l1_ticket, acting_user=alice, assignee=bob)
    assert reload(l1_ticket).assignee is None


def test_a_supervisor_may_take_any_teams_ticket(l1_ticket, alice, carol):
    services.assign(l1_ticket, acting_user=alice, assignee=carol)
    assert reload(l1_ticket).assignee == carol


def test_a_ticket_without_a_team_may_go_to_any_agent(ticket, alice, bob):
    services.assign(ticket, acting_user=alice, assignee=bob)
    assert reload(ticket).assignee == bob


def test_the_assignee_must_be_an_active_agent(l1_ticket, alice, maria, teams):
    with pytest.raises(InvalidInput, match="active agent"):
        services.assign(l1_ticket, acting_user=alice, assignee=maria)
    gone = make_user("gone", Role.AGENT, tier=Tier.L1)
    teams["L1"].members.add(gone)
    gone.is_active = False
    gone.save()
    with pytest.raises(InvalidInput, match="active agent"):
        services.assign(l1_ticket, acting_user=alice, assignee=gone)
    assert reload(l1_ticket).assignee is None


def test_a_requester_cannot_assign(ticket, maria, alice):
    with pytest.raises(PermissionDenied):
        services.assign(ticket, acting_user=maria, assignee=alice)


def test_an_agent_cannot_assign_a_ticket_outside_their_queues(l1_ticket, bob):
    with pytest.raises(NotFound):
        services.assign(l1_ticket, acting_user=bob, assignee=bob)


# -- escalate / deescalate ------------------------------------------------------------


def test_escalation_follows_the_escalation_teams(l1_ticket, alice, bob, teams):
    # A team that sorts first at L2 is not where Service Desk L1 escalates to.
    Team.objects.create(name="A Network L2", tier=Tier.L2)
    services.escalate(l1_ticket, acting_user=alice, reason="Needs server access")
    ticket = reload(l1_ticket)
    assert (ticket.tier, ticket.team) == (Tier.L2, teams["L2"])
    escalated, team_changed = last_events(ticket, 2)
    assert (escalated.kind, escalated.field, escalated.old, escalated.new) == (
        "escalated", "tier", "L1", "L2",
    )  # fmt: skip
    assert escalated.data == {
        "reason": "Needs server access",
        "from_team": teams["L1"].pk,
        "to_team": teams["L2"].pk,
    }
    assert (team_changed.kind, team_changed.field, team_changed.old, team_changed.new) == (
        "updated", "team", "Service Desk L1", "Infrastructure L2",
    )  # fmt: skip

    services.escalate(ticket, acting_user=bob, reason="Application bug")
    ticket = reload(ticket)
    assert (ticket.tier, ticket.team) == (Tier.L3, teams["L3"])


def test_without_an_escalation_team_the_first_team_of_the_tier_takes_it(ticket, alice, teams):
    network = Team.objects.create(name="A Network L2", tier=Tier.L2)
    services.escalate(ticket, acting_user=alice, reason="Network")
    ticket = reload(ticket)
    assert (ticket.tier, ticket.team) == (Tier.L2, network)


def test_escalation_to_a_chosen_team_of_the_next_tier(l1_ticket, alice):
    network = Team.objects.create(name="Network L2", tier=Tier.L2)
    services.escalate(l1_ticket, acting_user=alice, reason="Network", to_team=network)
    assert reload(l1_ticket).team == network


def test_escalation_to_a_team_of_another_tier_is_refused(l1_ticket, alice, teams):
    before = snapshot(l1_ticket)
    with pytest.raises(InvalidInput):
        services.escalate(l1_ticket, acting_user=alice, reason="x", to_team=teams["L3"])
    assert snapshot(l1_ticket) == before


@pytest.mark.parametrize("reason", ["", "   "])
def test_escalation_needs_a_reason(l1_ticket, alice, reason):
    before = snapshot(l1_ticket)
    with pytest.raises(InvalidInput):
        services.escalate(l1_ticket, acting_user=alice, reason=reason)
    with pytest.raises(InvalidInput):
        services.deescalate(l1_ticket, acting_user=alice, reason=reason)
    assert snapshot(l1_ticket) == before


def test_the_assignee_is_cleared_when_not_in_the_new_team(l1_ticket, alice):
    services.assign(l1_ticket, acting_user=alice, assignee=alice)
    services.escalate(l1_ticket, acting_user=alice, reason="Needs L2")
    ticket = reload(l1_ticket)
    assert ticket.assignee is None
    assert trail(ticket)[-1] == ("assigned", "assignee", "Alice", "")


def test_the_assignee_keeps_the_ticket_when_serving_the_new_team(l1_ticket, alice, bob, teams):
    teams["L1"].members.add(bob)
    services.assign(l1_ticket, acting_user=alice, assignee=bob)
    services.escalate(l1_ticket, acting_user=alice, reason="Bob takes it to L2")
    ticket = reload(l1_ticket)
    assert (ticket.tier, ticket.assignee) == (Tier.L2, bob)
    assert "assigned" not in [kind for kind, *_ in trail(ticket)[-2:]]


def test_a_ticket_cannot_go_past_l3_or_below_l1(l1_ticket, alice, bob, sara, teams):
    with pytest.raises(InvalidInput, match="lowest"):
        services.deescalate(l1_ticket, acting_user=alice, reason="x")
    services.escalate(l1_ticket, acting_user=alice, reason="up")
    services.escalate(reload(l1_ticket), acting_user=bob, reason="up")
    ticket = reload(l1_ticket)
    before = snapshot(ticket)
    with pytest.raises(InvalidInput, match="highest"):
        services.escalate(ticket, acting_user=sara, reason="further")
    assert snapshot(ticket) == before


def test_deescalation_goes_down_one_tier_to_that_tiers_team(l1_ticket, alice, bob, sara, teams):
    services.escalate(l1_ticket, acting_user=alice, reason="up")
    services.escalate(reload(l1_ticket), acting_user=bob, reason="up")
    services.deescalate(reload(l1_ticket), acting_user=sara, reason="Fix deployed; follow up")
    ticket = reload(l1_ticket)
    assert (ticket.tier, ticket.team) == (Tier.L2, teams["L2"])
    event = last_events(ticket, 2)[0]
    assert (event.kind, event.old, event.new) == ("deescalated", "L3", "L2")
    assert event.data["reason"] == "Fix deployed; follow up"
    services.deescalate(ticket, acting_user=bob, reason="Back to the desk")
    ticket = reload(ticket)
    assert (ticket.tier, ticket.team) == (Tier.L1, teams["L1"])


def test_a_resolved_ticket_cannot_be_escalated(l1_ticket, alice):
    ticket = set_status(l1_ticket, Status.RESOLVED)
    with pytest.raises(Conflict):
        services.escalate(ticket, acting_user=alice, reason="x")


def test_a_requester_cannot_escalate(ticket, maria):
    with pytest.raises(PermissionDenied):
        services.escalate(ticket, acting_user=maria, reason="Please hurry")


# -- change_status: the whole TRANSITIONS table -----------------------------------------

ALL_MOVES = [(old, new) for old in Status for new in Status if old != new]


@pytest.mark.parametrize(("old", "new"), ALL_MOVES, ids=[f"{o}->{n}" for o, n in ALL_MOVES])
def test_change_status_allows_exactly_the_transitions_table(ticket, alice, old, new):
    ticket = set_status(ticket, old)
    if new in TRANSITIONS[old]:
        services.change_status(ticket, acting_user=alice, status=new, resolution="Replaced toner")
        ticket = reload(ticket)
        assert ticket.status == new
        assert trail(ticket)[-1] == ("status_changed", "status", old.value, new.value)
        if new == Status.RESOLVED:
            assert ticket.resolution == "Replaced toner"
            assert ticket.resolved_at is not None
        elif new == Status.CLOSED:
            assert ticket.closed_at is not None
        else:
            assert (ticket.resolved_at, ticket.closed_at) == (None, None)
    else:
        before = snapshot(ticket)
        with pytest.raises(Conflict):
            services.change_status(ticket, acting_user=alice, status=new, resolution="x")
        assert snapshot(ticket) == before


def test_the_transitions_table_names_every_status():
    assert set(TRANSITIONS) == set(Status)
    for old, targets in TRANSITIONS.items():
        assert old not in targets
        assert targets <= set(Status)


@pytest.mark.parametrize("status", list(Status))
def test_changing_to_the_same_status_is_a_conflict(ticket, alice, status):
    ticket = set_status(ticket, status)
    with pytest.raises(Conflict, match="already"):
        services.change_status(ticket, acting_user=alice, status=status, resolution="x")


def test_resolving_through_change_status_needs_a_summary(ticket, alice):
    before = snapshot(ticket)
    with pytest.raises(InvalidInput):
        services.change_status(ticket, acting_user=alice, status="resolved")
    assert snapshot(ticket) == before


def test_a_requester_cannot_change_the_status(ticket, maria):
    with pytest.raises(PermissionDenied):
        services.change_status(ticket, acting_user=maria, status="pending_customer")


# -- resolve, reopen, close -------------------------------------------------------------


def test_an_agent_resolves_with_a_summary(ticket, alice):
    services.resolve(ticket, acting_user=alice, resolution="Replaced the fuser.")
    ticket = reload(ticket)
    assert ticket.status == Status.RESOLVED
    assert ticket.resolution == "Replaced the fuser."
    assert ticket.resolved_at is not None
    event = last_events(ticket, 1)[0]
    assert (event.kind, event.old, event.new) == ("status_changed", "new", "resolved")
    assert event.data == {"resolution": "Replaced the fuser."}


@pytest.mark.parametrize("summary", ["", "  \n "])
def test_resolving_needs_a_summary(ticket, alice, summary):
    before = snapshot(ticket)
    with pytest.raises(InvalidInput):
        services.resolve(ticket, acting_user=alice, resolution=summary)
    assert snapshot(ticket) == before


def test_a_requester_may_resolve_their_own_ticket(ticket, maria):
    services.resolve(ticket, acting_user=maria, resolution="It works again after a restart.")
    assert reload(ticket).status == Status.RESOLVED


def test_a_colleague_who_sees_the_ticket_cannot_resolve_it(ticket, marco):
    """Requesters resolve their own tickets only, even when they may follow others'."""
    marco.sees_organization_tickets = True
    marco.save()
    before = snapshot(ticket)
    with pytest.raises(PermissionDenied):
        services.resolve(ticket, acting_user=marco, resolution="Looks fine to me")
    assert snapshot(ticket) == before


def test_an_outsider_cannot_resolve(ticket, pedro):
    with pytest.raises(NotFound):
        services.resolve(ticket, acting_user=pedro, resolution="x")


def test_a_requester_reopens_a_resolved_ticket(ticket, maria, alice):
    services.resolve(ticket, acting_user=alice, resolution="Restarted")
    services.reopen(reload(ticket), acting_user=maria, reason="  Still broken  ")
    ticket = reload(ticket)
    assert ticket.status == Status.OPEN
    assert ticket.resolved_at is None
    event = last_events(ticket, 1)[0]
    assert (event.kind, event.old, event.new, event.actor) == (
        "status_changed", "resolved", "open", maria,
    )  # fmt: skip
    assert event.data["reason"] == "Still broken"


def test_a_requester_cannot_reopen_a_closed_ticket(ticket, maria):
    ticket = set_status(ticket, Status.CLOSED)
    with pytest.raises(PermissionDenied):
        services.reopen(ticket, acting_user=maria)
    assert reload(ticket).status == Status.CLOSED


def test_an_agent_reopens_a_closed_ticket(ticket, alice):
    ticket = set_status(ticket, Status.CLOSED)
    services.reopen(ticket, acting_user=alice, reason="Came back")
    ticket = reload(ticket)
    assert ticket.status == Status.OPEN
    assert (ticket.resolved_at, ticket.closed_at) == (None, None)


@pytest.mark.parametrize("status", [Status.NEW, Status.OPEN, Status.PENDING_CUSTOMER])
def test_only_a_resolved_or_closed_ticket_can_be_reopened(ticket, alice, status):
    ticket = set_status(ticket, status)
    with pytest.raises(Conflict):
        services.reopen(ticket, acting_user=alice)


def test_close_closes_a_resolved_ticket(ticket, alice):
    services.resolve(ticket, acting_user=alice, resolution="Done")
    services.close(reload(ticket), acting_user=alice)
    ticket = reload(ticket)
    assert ticket.status == Status.CLOSED
    assert ticket.closed_at is not None
    assert trail(ticket)[-1] == ("status_changed", "status", "resolved", "closed")


def test_an_active_ticket_cannot_be_closed(ticket, alice):
    with pytest.raises(Conflict):
        services.close(ticket, acting_user=alice)
    assert reload(ticket).status == Status.NEW


def test_a_requester_cannot_close(ticket, maria, alice):
    services.resolve(ticket, acting_user=alice, resolution="Done")
    with pytest.raises(PermissionDenied):
        services.close(reload(ticket), acting_user=maria)


# -- merge ----------------------------------------------------------------------------


@pytest.fixture
def duplicate(make_ticket, marco):
    """Marco reports the same printer jam as Maria."""
    return make_ticket(requester=marco, subject="Printer on floor 2 broken")


def test_merge_moves_the_conversation_and_people_and_closes_the_duplicate(
    ticket, duplicate, alice, carol, maria, marco
):
    # given
    services.update_ticket(duplicate, acting_user=alice, watchers=[carol])
    note = services.add_note(duplicate, acting_user=alice, body="Same as the other one")
    upload = services.add_attachment(
        duplicate, acting_user=marco, upload=io.BytesIO(PDF), filename="jam.pdf", size=len(PDF)
    )
    duplicate_messages = set(duplicate.messages.values_list("id", flat=True))
    duplicate_events = set(
        TicketEvent.objects.filter(ticket=duplicate).values_list("id", flat=True)
    )
    ticket_events = set(TicketEvent.objects.filter(ticket=ticket).values_list("id", flat=True))

    # when
    result = services.merge(reload(duplicate), into=ticket, acting_user=alice)

    # then
    assert result.pk == ticket.pk
    source, target = reload(duplicate), reload(ticket)
    assert source.status == Status.CLOSED
    assert source.merged_into == target
    assert source.closed_at is not None
    assert not source.messages.exists()
    assert duplicate_messages <= set(target.messages.values_list("id", flat=True))
    assert note.pk in set(target.messages.values_list("id", flat=True))
    upload.refresh_from_db()
    assert upload.ticket_id == target.pk
    assert set(target.watchers.all()) == {carol, marco}
    assert maria not in target.watchers.all()
    # Each keeps its own trail and gets one "merged" event naming the other.
    source_events = set(TicketEvent.objects.filter(ticket=source).values_list("id", flat=True))
    target_events = set(TicketEvent.objects.filter(ticket=target).values_list("id", flat=True))
    assert duplicate_events < source_events
    assert ticket_events < target_events
    assert trail(source)[-2:] == [
        ("merged", "merged_into", "", str(target.number)),
        ("status_changed", "status", "new", "closed"),
    ]
    merged_from = last_events(target, 1)[0]
    assert (merged_from.kind, merged_from.field, merged_from.new) == (
        "merged", "merged_from", str(source.number),
    )  # fmt: skip
    assert merged_from.data == {"source": source.number, "messages": len(duplicate_messages)}


def test_a_ticket_cannot_be_merged_into_itself(ticket, alice):
    with pytest.raises(InvalidInput):
        services.merge(ticket, into=reload(ticket), acting_user=alice)


def test_a_ticket_cannot_be_merged_into_a_closed_ticket(ticket, duplicate, alice):
    ticket = set_status(ticket, Status.CLOSED)
    before = snapshot(ticket, duplicate)
    with pytest.raises(Conflict):
        services.merge(duplicate, into=ticket, acting_user=alice)
    assert snapshot(ticket, duplicate) == before


def test_a_ticket_cannot_be_merged_twice_or_into_a_merged_ticket(
    ticket, duplicate, make_ticket, alice
):
    third = make_ticket()
    services.merge(duplicate, into=ticket, acting_user=alice)
    with pytest.raises(Conflict):
        services.merge(reload(duplicate), into=third, acting_user=alice)
    with pytest.raises(Conflict):
        services.merge(third, into=reload(duplicate), acting_user=alice)


def test_a_merged_ticket_cannot_be_reopened(ticket, duplicate, alice):
    services.merge(duplicate, into=ticket, acting_user=alice)
    source = reload(duplicate)
    with pytest.raises(Conflict, match="merged"):
        services.reopen(source, acting_user=alice)
    # Nor through a plain status change: it would leave it open and still merged.
    with pytest.raises(Conflict):
        services.change_status(source, acting_user=alice, status="open")
    assert reload(duplicate).status == Status.CLOSED


def test_a_requester_cannot_merge(ticket, duplicate, maria):
    with pytest.raises(PermissionDenied):
        services.merge(duplicate, into=ticket, acting_user=maria)


# -- update_ticket --------------------------------------------------------------------


def test_each_changed_field_is_one_event_with_old_and_new(ticket, alice, carol, category, teams):
    due = timezone.now().replace(microsecond=0) + timedelta(days=2)
    old_subject = ticket.subject
    services.update_ticket(
        ticket,
        acting_user=alice,
        subject="Printer on floor 2 jams",
        urgency=Level.MEDIUM,  # unchanged: no event
        category=category,
        team=teams["L1"],
        due_at=due,
        tags=["Printer", "floor-2"],
        watchers=[carol],
    )
    ticket = reload(ticket)
    assert ticket.subject == "Printer on floor 2 jams"
    assert (ticket.category, ticket.team, ticket.due_at) == (category, teams["L1"], due)
    assert trail(ticket)[1:] == [
        ("updated", "subject", old_subject, "Printer on floor 2 jams"),
        ("updated", "category", "", "Printers"),
        ("updated", "team", "", "Service Desk L1"),
        ("updated", "due_at", "", due.isoformat()),
        ("updated", "tags", "", "floor-2, printer"),
        ("updated", "watchers", "[]", f"[{carol.pk}]"),
    ]
    assert ticket.version == 2
    assert {e.actor for e in TicketEvent.objects.filter(kind="updated")} == {alice}


def test_changing_impact_recomputes_the_priority(ticket, alice):
    assert ticket.priority == Priority.P3
    services.update_ticket(ticket, acting_user=alice, impact=Level.HIGH)
    ticket = reload(ticket)
    assert (ticket.impact, ticket.priority) == (Level.HIGH, Priority.P2)
    assert trail(ticket)[1:] == [
        ("updated", "impact", "medium", "high"),
        ("updated", "priority", "P3", "P2"),
    ]
    services.update_ticket(ticket, acting_user=alice, urgency=Level.HIGH)
    assert reload(ticket).priority == Priority.P1


def test_a_priority_given_with_the_impact_wins(ticket, alice):
    services.update_ticket(ticket, acting_user=alice, impact=Level.HIGH, priority=Priority.P4)
    assert reload(ticket).priority == Priority.P4


def test_an_update_that_changes_nothing_writes_nothing(ticket, alice):
    services.update_ticket(ticket, acting_user=alice, tags=["a"])
    ticket = reload(ticket)
    before = snapshot(ticket)
    services.update_ticket(
        ticket, acting_user=alice, subject=ticket.subject, impact=ticket.impact, tags=["A", "a"],
        watchers=[],
    )  # fmt: skip
    assert snapshot(ticket) == before


def test_a_requester_cannot_update_fields(ticket, maria):
    with pytest.raises(PermissionDenied):
        services.update_ticket(ticket, acting_user=maria, subject="Mine")


# -- attachments ----------------------------------------------------------------------


def test_an_attachment_is_stored_under_a_random_name(ticket, maria):
    attachment = services.add_attachment(
        ticket,
        acting_user=maria,
        upload=io.BytesIO(PDF),
        filename="../../etc/Invoice\x00 March.pdf",
        size=len(PDF),
    )
    attachment.refresh_from_db()
    assert attachment.filename == "Invoice_ March.pdf"
    assert attachment.content_type == "application/pdf"
    assert attachment.size == len(PDF)
    assert attachment.sha256 == hashlib.sha256(PDF).hexdigest()
    assert attachment.file.name == f"attachments/{ticket.pk}/{attachment.token}"
    assert "Invoice" not in attachment.file.name
    with attachment.file.open("rb") as fh:
        assert fh.read() == PDF
    assert attachment.internal is False
    event = last_events(ticket, 1)[0]
    assert (event.kind, event.new) == ("attachment_added", "Invoice_ March.pdf")
    assert event.data == {"attachment": attachment.pk, "size": len(PDF)}


def test_a_file_over_the_limit_is_refused(ticket, maria, settings):
    settings.MAX_ATTACHMENT_BYTES = 1024
    before = snapshot(ticket)
    with pytest.raises(TooLarge):
        services.add_attachment(
            ticket, acting_user=maria, upload=io.BytesIO(b"x" * 1025), filename="big.txt",
            size=1025,
        )  # fmt: skip
    assert snapshot(ticket) == before
    services.add_attachment(
        ticket, acting_user=maria, upload=io.BytesIO(b"x" * 1024), filename="ok.txt", size=1024
    )


@pytest.mark.parametrize(
    ("filename", "content"),
    [("setup.exe", b"anything"), ("invoice.pdf", b"MZ\x90\x00"), ("photo.png", PDF)],
)
def test_programs_and_disguised_files_are_refused(ticket, maria, filename, content):
    before = snapshot(ticket)
    with pytest.raises(UnsupportedMedia):
        services.add_attachment(
            ticket, acting_user=maria, upload=io.BytesIO(content), filename=filename,
            size=len(content),
        )  # fmt: skip
    assert snapshot(ticket) == before


def test_which_attachments_are_internal(ticket, alice, maria):
    def attach(user, message=None):
        return services.add_attachment(
            ticket, acting_user=user, upload=io.BytesIO(b"log"), filename="log.txt", size=3,
            message=message,
        )  # fmt: skip

    note = services.add_note(ticket, acting_user=alice, body="Internal log")
    reply = services.reply(ticket, acting_user=alice, body="Here is the fix")
    assert attach(alice).internal is True  # an agent's loose file stays internal
    assert attach(maria).internal is False
    assert attach(alice, note).internal is True
    assert attach(alice, reply).internal is False


def test_files_go_only_on_your_own_message_of_the_same_ticket(ticket, make_ticket, alice, maria):
    note = services.add_note(ticket, acting_user=alice, body="Internal")
    with pytest.raises(InvalidInput):
        services.add_attachment(
            ticket, acting_user=maria, upload=io.BytesIO(b"x"), filename="a.txt", size=1,
            message=note,
        )  # fmt: skip
    other = make_ticket()
    with pytest.raises(InvalidInput):
        services.add_attachment(
            other, acting_user=alice, upload=io.BytesIO(b"x"), filename="a.txt", size=1,
            message=note,
        )  # fmt: skip


def test_an_outsider_cannot_attach(ticket, pedro):
    with pytest.raises(NotFound):
        services.add_attachment(
            ticket, acting_user=pedro, upload=io.BytesIO(b"x"), filename="a.txt", size=1
        )


# -- the audit trail is append-only ---------------------------------------------------


def test_every_service_writes_its_events_with_the_actor(ticket, alice, maria):
    services.reply(ticket, acting_user=alice, body="Hi")
    services.add_note(ticket, acting_user=alice, body="Note")
    services.log_call(ticket, acting_user=alice, body="Call")
    services.resolve(ticket, acting_user=maria, resolution="Works")
    assert [(kind, actor) for kind, actor in _kinds_and_actors(ticket)] == [
        ("created", maria.pk),
        ("status_changed", alice.pk),
        ("replied", alice.pk),
        ("note_added", alice.pk),
        ("call_logged", alice.pk),
        ("status_changed", maria.pk),
    ]


def _kinds_and_actors(ticket):
    return TicketEvent.objects.filter(ticket=ticket).order_by("id").values_list("kind", "actor")


def test_an_event_cannot_be_changed_or_deleted(ticket):
    event = TicketEvent.objects.get(ticket=ticket)
    event.new = "forged"
    with pytest.raises(ValueError, match="immutable"):
        event.save()
    with pytest.raises(ValueError, match="immutable"):
        event.delete()
    assert TicketEvent.objects.get(pk=event.pk).new == "new"


def test_events_cannot_be_changed_or_deleted_in_bulk_either(ticket):
    events = TicketEvent.objects.filter(ticket=ticket)
    with pytest.raises(ValueError, match="immutable"):
        events.update(new="forged")
    with pytest.raises(ValueError, match="immutable"):
        events.delete()
    event = events.get()
    event.new = "forged"
    # bulk_update runs in atomic(savepoint=False): give it a savepoint to fail in.
    with pytest.raises(ValueError, match="immutable"), transaction.atomic():
        TicketEvent.objects.bulk_update([event], ["new"])
    assert TicketEvent.objects.get(pk=event.pk).new == "new"


# -- stale versions: Conflict, and nothing changes -------------------------------------


def _resolved(ticket, alice):
    services.resolve(ticket, acting_user=alice, resolution="Done")


def _escalated(ticket, alice):
    services.escalate(ticket, acting_user=alice, reason="up")


STALE_CALLS = {
    "reply by agent": (None, lambda t, p: services.reply(t, body="Hi", **p("alice"))),
    "reply by requester": (None, lambda t, p: services.reply(t, body="Hi", **p("maria"))),
    "note": (None, lambda t, p: services.add_note(t, body="n", **p("alice"))),
    "call": (None, lambda t, p: services.log_call(t, body="c", internal=False, **p("alice"))),
    "assign": (
        None,
        lambda t, p: services.assign(t, assignee=p("alice")["acting_user"], **p("alice")),
    ),
    "escalate": (None, lambda t, p: services.escalate(t, reason="r", **p("alice"))),
    "deescalate": (_escalated, lambda t, p: services.deescalate(t, reason="r", **p("carol"))),
    "change_status": (
        None,
        lambda t, p: services.change_status(t, status="pending_customer", **p("alice")),
    ),
    "resolve": (None, lambda t, p: services.resolve(t, resolution="x", **p("maria"))),
    "reopen": (_resolved, lambda t, p: services.reopen(t, reason="again", **p("maria"))),
    "close": (_resolved, lambda t, p: services.close(t, **p("alice"))),
    "update subject": (None, lambda t, p: services.update_ticket(t, subject="New", **p("alice"))),
    "update tags and watchers": (
        None,
        lambda t, p: services.update_ticket(
            t, tags=["x"], watchers=[p("carol")["acting_user"]], **p("alice")
        ),
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", list(STALE_CALLS))
def test_a_stale_expected_version_is_a_conflict_that_changes_nothing(
    name, ticket, request, alice, carol, maria
):
    setup, call = STALE_CALLS[name]
    if setup:
        setup(ticket, alice)
    # Someone else changes the ticket after the caller loaded version N.
    seen = reload(ticket).version
    services.add_note(reload(ticket), acting_user=carol, body="Meanwhile")
    ticket = reload(ticket)
    assert ticket.version == seen + 1
    before = snapshot(ticket)

    def as_(who):
        return {"acting_user": request.getfixturevalue(who), "expected_version": seen}

    with pytest.raises(Conflict, match="changed by someone else"):
        call(ticket, as_)
    assert snapshot(ticket) == before


@pytest.mark.parametrize("name", list(STALE_CALLS))
def test_a_stale_loaded_ticket_is_a_conflict_that_changes_nothing(
    name, ticket, request, alice, carol, maria
):
    setup, call = STALE_CALLS[name]
    if setup:
        setup(ticket, alice)
    # The caller loaded the ticket, then someone else changed it.
    loaded = reload(ticket)
    services.add_note(reload(ticket), acting_user=carol, body="Meanwhile")
    before = snapshot(ticket)

    def as_(who):
        return {"acting_user": request.getfixturevalue(who), "expected_version": loaded.version}

    with pytest.raises(Conflict):
        call(loaded, as_)
    assert snapshot(ticket) == before


def test_a_stale_merge_changes_neither_ticket(ticket, duplicate, alice, carol):
    services.add_note(duplicate, acting_user=alice, body="Meanwhile")
    before = snapshot(ticket, duplicate)
    with pytest.raises(Conflict):
        services.merge(reload(duplicate), into=ticket, acting_user=alice, expected_version=1)
    assert snapshot(ticket, duplicate) == before


def test_the_current_version_is_accepted_and_bumped(ticket, alice):
    ticket = reload(ticket)
    services.add_note(ticket, acting_user=alice, body="n", expected_version=1)
    assert ticket.version == 2
    services.reply(ticket, acting_user=alice, body="r", expected_version=2)
    assert ticket.version == reload(ticket).version == 3


# -- ticket_changed: inside the change's transaction ---------------------------------


@pytest.fixture
def received():
    calls = []

    def receiver(sender, *, ticket, events, **kwargs):
        assert [event.kind for event in events] == kwargs["event_kinds"]
        assert ticket.pk == kwargs["ticket_id"]
        calls.append({**kwargs, "in_transaction": connection.in_atomic_block})

    ticket_changed.connect(receiver, weak=False)
    yield calls
    ticket_changed.disconnect(receiver)


def test_ticket_changed_is_sent_inside_the_changes_transaction(ticket, alice, received):
    """Receivers record their jobs with the change: committed together or not at all."""
    services.reply(ticket, acting_user=alice, body="On it")
    assert received == [
        {
            "signal": ticket_changed,
            "ticket_id": ticket.pk,
            "event_kinds": ["status_changed", "replied"],
            "acting_user_id": alice.pk,
            "in_transaction": True,
        }
    ]


def test_a_receiver_that_fails_rolls_the_change_back(ticket, alice):
    def broken(sender, **kwargs):
        raise RuntimeError("could not record the job")

    ticket_changed.connect(broken, weak=False)
    try:
        with pytest.raises(RuntimeError):
            services.reply(ticket, acting_user=alice, body="On it")
    finally:
        ticket_changed.disconnect(broken)
    assert not ticket.messages.filter(body_text="On it").exists()
    assert reload(ticket).status == Status.NEW


def test_opening_a_ticket_announces_it_on_commit(
    maria, received, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        ticket = services.open_ticket(acting_user=maria, subject="Hi", body="Help")
    assert [(r["ticket_id"], r["event_kinds"]) for r in received] == [(ticket.pk, ["created"])]


def test_a_refused_change_announces_nothing(
    ticket, alice, received, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(Conflict):
            services.add_note(ticket, acting_user=alice, body="n", expected_version=99)
        with pytest.raises(InvalidInput):
            services.escalate(ticket, acting_user=alice, reason="")
    assert callbacks == []
    assert received == []


def test_a_merge_announces_both_tickets(
    ticket, duplicate, alice, received, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.merge(duplicate, into=ticket, acting_user=alice)
    assert [(r["ticket_id"], r["event_kinds"]) for r in received] == [
        (duplicate.pk, ["merged", "status_changed"]),
        (ticket.pk, ["merged"]),
    ]


@pytest.mark.django_db(transaction=True)
def test_the_jobs_of_a_change_run_when_the_outer_transaction_commits(maria, alice):
    from django.core import mail

    from soporte.jobs.models import Job, JobStatus

    ticket = services.open_ticket(acting_user=maria, subject="Hi", body="Help")
    mail.outbox.clear()
    with transaction.atomic():
        services.add_note(ticket, acting_user=alice, body="n")
        services.reply(ticket, acting_user=alice, body="r")
        mail_jobs = Job.objects.filter(status=JobStatus.QUEUED, name__startswith="mail.")
        assert mail_jobs.count() == 1  # the reply's mail (search indexing is queued too)
        assert mail.outbox == []
    assert [m.subject for m in mail.outbox] == [f"[#{ticket.number}] Hi"]
    assert set(Job.objects.values_list("status", flat=True)) == {JobStatus.DONE}


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_change_leaves_no_job(maria, alice):
    from soporte.jobs.models import Job

    ticket = services.open_ticket(acting_user=maria, subject="Hi", body="Help")
    jobs = Job.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        services.reply(ticket, acting_user=alice, body="r")
        raise RuntimeError("the caller fails later")
    assert Job.objects.count() == jobs
    assert not Message.objects.filter(body_text="r").exists()


def test_the_size_limit_counts_the_bytes_not_the_announced_size(ticket, maria, settings):
    import io

    settings.MAX_ATTACHMENT_BYTES = 1000
    with pytest.raises(TooLarge):
        services.add_attachment(
            ticket, acting_user=maria, upload=io.BytesIO(b"x" * 5000), filename="a.txt", size=10
        )
    assert not ticket.attachments.exists()


# -- joining the caller's savepoint -------------------------------------------------------


def _savepoints(queries) -> int:
    return sum(query["sql"].startswith("SAVEPOINT") for query in queries.captured_queries)


def test_a_covered_call_writes_in_its_callers_savepoint_and_a_nested_one_still_nests(maria):
    from django.test.utils import CaptureQueriesContext

    with transaction.atomic(), CaptureQueriesContext(connection) as own:
        services.open_ticket(acting_user=maria, subject="VPN down", body="No tunnel.")
    with (
        transaction.atomic(),
        services.covered_by_savepoint(),
        CaptureQueriesContext(connection) as covered,
    ):
        ticket = services.open_ticket(acting_user=maria, subject="VPN", body="Again.")
    # Its own savepoint is gone; those of the work it calls in turn (receivers) remain.
    assert _savepoints(own) >= 2
    assert _savepoints(covered) == _savepoints(own) - 1
    assert Ticket.objects.filter(pk=ticket.pk).exists()


def test_a_covered_call_that_fails_is_rolled_back_with_its_callers_savepoint(maria):
    with transaction.atomic():
        with pytest.raises(InvalidInput), transaction.atomic(), services.covered_by_savepoint():
            services.open_ticket(acting_user=maria, subject="Kept?", body="First.")
            services.open_ticket(acting_user=maria, subject="", body="No subject.")
        # The transaction goes on: the caller's savepoint took the failure back whole.
        after = services.open_ticket(acting_user=maria, subject="After", body="Fine.")
    assert list(Ticket.objects.values_list("subject", flat=True)) == [after.subject]
