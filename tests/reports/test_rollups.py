"""The rollups, updated change by change in each change's transaction, always equal a
recompute from scratch; `soporte rebuild_rollups` rebuilds them."""

from __future__ import annotations

import contextlib
import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from soporte.lib.errors import ServiceError
from soporte.reports import rollups
from soporte.reports.models import DailyRollup, TicketContribution
from soporte.tickets import satisfaction, services, timelog
from soporte.tickets.models import Channel, Status

from .conftest import utc
from .test_projections import stored_projections, summed_daily_rollups

pytestmark = pytest.mark.django_db

STEPS = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "open",
                "answer",
                "ask",
                "resolve",
                "reopen",
                "escalate",
                "assign",
                "move",
                "categorize",
                "log time",
                "rate",
                "breach",
            ]
        ),
        st.integers(0, 7),  # which ticket
        st.integers(0, 40),  # hours that pass first
    ),
    min_size=1,
    max_size=14,
)


def _apply(step, ticket, people, teams, category):
    """One random change through the real services; refused moves are skipped."""
    carol, alice = people  # Carol works every queue; Alice answers in her name
    kind = step
    if kind == "answer":
        services.reply(ticket, acting_user=carol, body="Try again.")
    elif kind == "ask":
        services.reply(ticket, acting_user=ticket.requester, body="Still broken.")
    elif kind == "resolve" and ticket.is_active:
        services.resolve(ticket, acting_user=carol, resolution="Fixed.")
    elif kind == "reopen" and not ticket.is_active:
        services.reopen(ticket, acting_user=carol, reason="Back")
    elif kind == "escalate" and ticket.is_active and ticket.tier != "L3":
        services.escalate(ticket, acting_user=carol, reason="Harder")
    elif kind == "assign" and ticket.is_active:
        services.assign(ticket, acting_user=carol, assignee=alice)
    elif kind == "move":
        services.update_ticket(ticket, acting_user=carol, team=teams["L2"])
    elif kind == "categorize":
        services.update_ticket(ticket, acting_user=carol, category=category)
    elif kind == "log time":
        timelog.log_time(ticket, acting_user=carol, seconds=1800, billable=ticket.pk % 2 == 0)
    elif kind == "rate" and not ticket.is_active:
        survey = satisfaction.read_token(satisfaction.make_token(ticket))
        satisfaction.rate(survey, rating=ticket.pk % 5 + 1, comment="ok")
    elif kind == "breach":
        services.log_event(ticket, acting_user=None, kind="sla_breached", target="resolution")


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=STEPS)
def test_the_rollups_equal_a_full_recompute_after_any_changes(
    steps, at, office, new, alice, carol, maria, pedro, teams, category
):
    with transaction.atomic():
        now = utc(2026, 11, 20, 8)
        at(now)
        opened = []
        for kind, which, hours in steps:
            now += timedelta(hours=hours)
            at(now)
            if kind == "open" or not opened:
                requester = pedro if which % 2 else maria
                channel = [Channel.EMAIL, Channel.PHONE, Channel.WEB][which % 3]
                opened.append(new(requester=requester, channel=channel))
                continue
            ticket = opened[which % len(opened)]
            ticket.refresh_from_db()
            with contextlib.suppress(ServiceError):  # a refused move changes nothing
                _apply(kind, ticket, (carol, alice), teams, category)

        expected, _per_ticket = rollups.full_recompute()
        assert rollups.stored_totals() == expected
        rollups.refresh_stale()
        assert stored_projections() == summed_daily_rollups()
        transaction.set_rollback(True)


def test_a_ticket_moved_to_another_team_takes_its_history_along(at, office, new, alice, teams):
    at(utc(2026, 11, 23, 9))
    ticket = new()
    services.reply(ticket, acting_user=alice, body="Looking.")
    services.update_ticket(ticket, acting_user=alice, team=teams["L2"])

    teams_seen = set(DailyRollup.objects.exclude(created=0, fr_count=0).values_list("team_id"))

    assert teams_seen == {(teams["L2"].pk,)}
    assert DailyRollup.objects.filter(team_id=teams["L1"].pk).exclude(created=0).count() == 0


def test_rebuild_rollups_recomputes_everything_with_progress_on_stderr(at, office, new, alice):
    at(utc(2026, 11, 23, 9))
    for _n in range(3):
        ticket = new()
        services.resolve(ticket, acting_user=alice, resolution="Done.")
    before = rollups.stored_totals()
    # damage the rollups: a lost update and a stray row
    DailyRollup.objects.update(created=0)
    TicketContribution.objects.all().delete()
    out, err = io.StringIO(), io.StringIO()

    call_command("rebuild_rollups", "--batch", "2", stdout=out, stderr=err)

    assert rollups.stored_totals() == before
    assert "Rebuilt" in out.getvalue()
    # not a terminal: plain lines, the last at 100 %
    assert err.getvalue().strip().splitlines()[-1] == "3/3 tickets (100%)"
    assert TicketContribution.objects.count() == 3
    # and the incremental path carries on from the rebuilt state
    services.reopen(ticket, acting_user=alice, reason="Again")
    assert rollups.stored_totals() == rollups.full_recompute()[0]


def test_time_and_satisfaction_are_counted_under_their_agent(at, office, new, alice):
    at(utc(2026, 11, 23, 9))
    ticket = new(assignee=alice)
    timelog.log_time(ticket, acting_user=alice, seconds=3600, billable=True)
    services.resolve(ticket, acting_user=alice, resolution="Done.")
    survey = satisfaction.read_token(satisfaction.make_token(ticket))
    satisfaction.rate(survey, rating=4, comment="Quick")

    rows = DailyRollup.objects.filter(agent_id=alice.pk)

    assert sum(r.time_seconds for r in rows) == 3600
    assert sum(r.billable_seconds for r in rows) == 3600
    assert sum(r.csat_count for r in rows) == 1
    assert sum(r.csat_sum for r in rows) == 4
    assert Status(ticket.status) == Status.RESOLVED
