"""The SLA clock as tickets move: business hours, pauses, policies, the breach watch."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.utils import timezone

from soporte.accounts.models import Tier
from soporte.lib.db import select_rows
from soporte.sla import services as sla
from soporte.sla.models import BusinessCalendar, OnBreach, SlaClock, SlaPolicy, WorkingHours
from soporte.tickets import services
from soporte.tickets.models import EventKind, Priority, Status

pytestmark = pytest.mark.django_db

MADRID = ZoneInfo("Europe/Madrid")


def madrid(*args) -> datetime:
    return datetime(*args, tzinfo=MADRID)


@pytest.fixture
def at(monkeypatch):
    """at(moment): from now on, the clock on the wall says `moment`."""
    current = {"now": timezone.now()}
    monkeypatch.setattr(timezone, "now", lambda: current["now"])

    def set_time(moment: datetime) -> None:
        current["now"] = moment

    return set_time


@pytest.fixture
def office(db) -> BusinessCalendar:
    calendar = BusinessCalendar.objects.create(name="Madrid office", time_zone="Europe/Madrid")
    for weekday in range(5):
        WorkingHours.objects.create(
            calendar=calendar, weekday=weekday, starts=time(9), ends=time(18)
        )
    return calendar


@pytest.fixture
def standard(office) -> SlaPolicy:
    return SlaPolicy.objects.create(
        name="Standard", position=100, calendar=office,
        first_response_minutes=60, next_response_minutes=120, resolution_minutes=8 * 60,
    )  # fmt: skip


def clock(ticket) -> SlaClock:
    return SlaClock.objects.get(ticket=ticket)


def test_a_ticket_opened_on_friday_evening_is_due_in_mondays_working_hours(
    at, standard, make_ticket
):
    at(madrid(2026, 11, 27, 17, 30))  # a Friday
    ticket = make_ticket()

    started = clock(ticket)
    assert started.policy == standard
    assert started.first_response_due == madrid(2026, 11, 30, 9, 30)
    # 30 minutes on Friday, 7 h 30 on Monday
    assert started.resolution_due == madrid(2026, 11, 30, 16, 30)
    assert started.next_response_due is None
    # the first warning (75% of the first response target) is what the watch waits for
    assert started.next_check_at == madrid(2026, 11, 30, 9, 15)


def test_waiting_on_the_customer_pauses_the_clock_and_keeps_the_time_spent(
    at, standard, make_ticket, alice
):
    at(madrid(2026, 11, 30, 9, 0))  # Monday
    ticket = make_ticket()
    at(madrid(2026, 11, 30, 10, 0))
    services.reply(ticket, acting_user=alice, body="Which printer?", status=Status.PENDING_CUSTOMER)
    paused = clock(ticket)
    assert paused.paused
    assert paused.resolution_due is None  # nothing can fall due while it waits

    at(madrid(2026, 11, 30, 12, 0))
    services.reply(ticket, acting_user=ticket.requester, body="The one on floor 2.")
    resumed = clock(ticket)
    assert not resumed.paused
    # 8 h from 9:00 plus the 2 h paused: Monday 19:00 is after hours, so Tuesday 10:00
    assert resumed.resolution_due == madrid(2026, 12, 1, 10, 0)
    # the requester now waits for an answer: 2 business hours
    assert resumed.next_response_due == madrid(2026, 11, 30, 14, 0)


def test_a_clock_read_by_its_prepared_statement_equals_the_orms(at, standard, make_ticket, alice):
    at(madrid(2026, 11, 30, 9, 0))
    ticket = make_ticket()
    services.reply(ticket, acting_user=alice, body="Which printer?", status=Status.PENDING_CUSTOMER)

    [read] = select_rows(SlaClock, "ticket_id = %s", [ticket.pk])

    orm = SlaClock.objects.get(ticket=ticket)
    names = [f.attname for f in SlaClock._meta.concrete_fields]
    assert [getattr(read, n) for n in names] == [getattr(orm, n) for n in names]
    assert read.pauses and isinstance(read.pauses, list)  # JSON decoded, not text
    assert read.tier_since.tzinfo is not None  # aware datetimes, as the ORM gives them
    assert not read._state.adding  # saving it updates the row
    assert select_rows(SlaClock, "ticket_id = %s", [ticket.pk + 1000]) == []


def test_an_agent_answer_stops_the_next_response_clock(at, standard, make_ticket, alice):
    at(madrid(2026, 11, 30, 9, 0))
    ticket = make_ticket()
    services.reply(ticket, acting_user=alice, body="Looking.")
    services.reply(ticket, acting_user=ticket.requester, body="Any news?")
    assert clock(ticket).next_response_due is not None
    services.reply(ticket, acting_user=alice, body="Fixed the driver.")
    answered = clock(ticket)
    assert answered.next_response_due is None
    assert answered.first_response_due is None


def test_the_first_matching_policy_applies_and_a_priority_change_selects_again(
    at, standard, office, make_ticket, alice
):
    urgent = SlaPolicy.objects.create(
        name="Urgent", position=10, priority=Priority.P1, calendar=None,
        first_response_minutes=15, resolution_minutes=240,
    )  # fmt: skip
    at(madrid(2026, 11, 28, 10, 0))  # Saturday: the office is closed
    ticket = make_ticket()
    assert clock(ticket).policy == standard
    assert clock(ticket).resolution_due == madrid(2026, 11, 30, 17, 0)

    at(madrid(2026, 11, 28, 11, 0))
    services.update_ticket(ticket, acting_user=alice, impact="high", urgency="high")
    ticket.refresh_from_db()
    assert ticket.priority == Priority.P1
    now_urgent = clock(ticket)
    assert now_urgent.policy == urgent
    # around the clock, counted from the opening: the hour already spent is kept
    assert now_urgent.resolution_due == madrid(2026, 11, 28, 14, 0)


def test_a_paused_time_is_kept_when_the_policy_changes(at, standard, make_ticket, alice):
    SlaPolicy.objects.create(
        name="VIP", position=10, priority=Priority.P2, resolution_minutes=60,
    )  # fmt: skip
    at(madrid(2026, 11, 30, 9, 0))
    ticket = make_ticket()
    at(madrid(2026, 11, 30, 9, 10))
    services.change_status(ticket, acting_user=alice, status=Status.PENDING_THIRD_PARTY)
    at(madrid(2026, 11, 30, 9, 40))
    services.change_status(ticket, acting_user=alice, status=Status.OPEN)
    services.update_ticket(ticket, acting_user=alice, impact="high", urgency="medium")
    # 60 minutes around the clock from 9:00, plus the 30 paused
    assert clock(ticket).resolution_due == madrid(2026, 11, 30, 10, 30)


def test_a_ticket_no_policy_matches_has_no_due_times(at, make_ticket):
    ticket = make_ticket()
    started = clock(ticket)
    assert started.policy is None
    assert (started.first_response_due, started.resolution_due, started.next_check_at) == (
        None, None, None,
    )  # fmt: skip


# -- the breach watch ---------------------------------------------------------------


def test_the_watch_warns_then_records_the_breach_once(at, standard, make_ticket):
    at(madrid(2026, 11, 30, 9, 0))
    ticket = make_ticket()

    assert sla.watch(madrid(2026, 11, 30, 9, 10)) == 0  # too early for anything
    assert sla.watch(madrid(2026, 11, 30, 9, 46)) == 1
    warning = ticket.events.get(kind=EventKind.SLA_WARNING)
    assert warning.data["target"] == "first_response"

    assert sla.watch(madrid(2026, 11, 30, 10, 1)) == 1
    breach = ticket.events.get(kind=EventKind.SLA_BREACHED)
    assert breach.data["target"] == "first_response"
    assert datetime.fromisoformat(breach.data["due"]) == madrid(2026, 11, 30, 10, 0)
    assert clock(ticket).breached == ["first_response"]

    sla.watch(madrid(2026, 11, 30, 10, 30))
    assert ticket.events.filter(kind=EventKind.SLA_BREACHED).count() == 1


def test_a_breach_escalates_to_the_next_tier_when_the_policy_says_so(
    at, standard, make_ticket, teams, alice
):
    standard.on_breach = OnBreach.ESCALATE
    standard.l1_minutes = 30
    standard.save()
    at(madrid(2026, 11, 30, 9, 0))
    ticket = make_ticket()
    services.reply(ticket, acting_user=alice, body="Looking.")  # first response met

    sla.watch(madrid(2026, 11, 30, 9, 31))
    ticket.refresh_from_db()
    assert (ticket.tier, ticket.team) == (Tier.L2, teams["L2"])
    escalated = ticket.events.get(kind=EventKind.ESCALATED)
    assert escalated.data["sla"] == ["tier"]
    assert escalated.actor.username == "soporte-system"
    # the time at L2 starts now, with no target for L2 in this policy
    assert clock(ticket).tier_due is None


def test_the_breach_scan_reads_an_index(standard):
    if connection.vendor != "sqlite":
        pytest.skip("the PostgreSQL plan is shown by `make bench` on a million tickets")
    plan = sla.due_clocks(timezone.now()).explain()
    assert "USING INDEX" in plan and "next_check_at" in plan, plan


# -- recomputing --------------------------------------------------------------------


def test_recomputing_after_a_policy_change_moves_the_due_times(at, standard, make_ticket):
    at(madrid(2026, 11, 30, 9, 0))
    ticket = make_ticket()
    assert clock(ticket).resolution_due == madrid(2026, 11, 30, 17, 0)
    standard.resolution_minutes = 60
    standard.save()
    assert sla.recompute_open() == 1
    assert clock(ticket).resolution_due == madrid(2026, 11, 30, 10, 0)


# -- the ticket page ----------------------------------------------------------------


def test_agents_see_due_times_and_breach_state_on_the_ticket(
    at, standard, make_ticket, alice, client
):
    at(madrid(2026, 11, 30, 9, 0))
    ticket = make_ticket()
    at(madrid(2026, 11, 30, 10, 30))
    sla.watch(timezone.now())
    client.force_login(alice)
    page = client.get(f"/desk/tickets/{ticket.number}/").content.decode()
    assert "Service level" in page
    assert "Breached" in page  # the first response was due at 10:00
    assert "On track" in page  # resolution, due at 17:00
    assert "6 h 30 min" in page


def test_requesters_never_see_the_sla_box(at, standard, ticket, client):
    client.force_login(ticket.requester)
    page = client.get(f"/portal/tickets/{ticket.number}/").content.decode()
    assert "Service level" not in page


def test_the_history_says_which_target_was_breached_and_which_rule_escalated(
    at, standard, make_ticket, teams, carol, client
):
    standard.on_breach = OnBreach.ESCALATE
    standard.save()
    at(madrid(2026, 11, 30, 9, 0))
    ticket = make_ticket()
    sla.watch(madrid(2026, 11, 30, 10, 5))
    client.force_login(carol)
    page = client.get(f"/desk/tickets/{ticket.number}/history/").content.decode()
    assert "SLA target breached: First response" in page
    assert "Escalated" in page
