"""Metric definitions against small hand-computed cases, through the real services: the
rollups are updated by the ticket changes themselves.

Maria (Acme) asks; Alice (L1) answers; Bob (L2) takes escalations; Carol supervises.
The office works Monday to Friday, 9 to 18 (UTC); 2026-11-20 is a Friday.
"""

from __future__ import annotations

from datetime import date

import pytest

from soporte.reports import histogram, services
from soporte.reports.services import Filters, chart
from soporte.tickets import services as tickets

from .conftest import utc

pytestmark = pytest.mark.django_db


def _week(**kwargs) -> Filters:
    return Filters.parse(start=date(2026, 11, 16), end=date(2026, 11, 29), **kwargs)


def test_a_friday_17h_ticket_answered_monday_10h_took_two_business_hours(
    at, office, new, alice, teams
):
    at(utc(2026, 11, 20, 17))
    ticket = new()
    at(utc(2026, 11, 23, 10))
    tickets.reply(ticket, acting_user=alice, body="On it.")

    summary = services.metrics(_week())["summary"]

    assert summary["first_response_count"] == 1
    assert summary["first_response_mean_hours"] == 2.0
    # The median is read from the histogram: within its stated error bound.
    assert summary["first_response_median_hours"] == pytest.approx(
        2.0, rel=histogram.RELATIVE_ERROR
    )


def test_resolution_time_reopen_and_first_contact_resolution(at, office, new, alice, maria, teams):
    # given: one ticket answered once and resolved (first contact), one reopened
    at(utc(2026, 11, 23, 9))
    first = new()
    second = new()
    at(utc(2026, 11, 23, 10))
    tickets.reply(first, acting_user=alice, body="Restart it.")
    tickets.resolve(first, acting_user=alice, resolution="Restarted.")
    tickets.reply(second, acting_user=alice, body="Try this.")
    tickets.resolve(second, acting_user=alice, resolution="Tried.")
    at(utc(2026, 11, 24, 9))
    tickets.reopen(second, acting_user=maria, reason="Still broken")
    at(utc(2026, 11, 24, 12))
    tickets.resolve(second, acting_user=alice, resolution="Replaced.")

    # when
    summary = services.metrics(_week())["summary"]

    # then: 1 h and 9 + 3 = 12 business hours; one of two first-contact, one reopened
    assert (summary["created"], summary["resolved"]) == (2, 2)
    assert summary["resolution_mean_hours"] == pytest.approx((1 + 12) / 2)
    assert summary["first_contact_resolution"] == 0.5
    assert summary["reopen_rate"] == 0.5
    assert summary["sla_compliance"] == 1.0
    per_day = {row[0]: row[1:] for row in chart(services.metrics(_week()), "volume_by_day")["rows"]}
    assert per_day["2026-11-23"] == [2, 1]
    assert per_day["2026-11-24"] == [0, 1]


def test_escalation_rate_per_tier(at, office, new, alice, teams):
    at(utc(2026, 11, 23, 9))
    up = new()
    new()
    tickets.escalate(up, acting_user=alice, reason="Network")

    rows = {r[0]: r[1:] for r in chart(services.metrics(_week()), "escalation_by_tier")["rows"]}

    # L1: two arrived, one left up; L2: one arrived, none left
    assert rows["L1"] == [2, 1, 0.5]
    assert rows["L2"] == [1, 0, 0.0]


def test_filters_narrow_the_figures(at, office, new, teams, pedro, globex):
    at(utc(2026, 11, 23, 9))
    new()
    new(team=teams["L2"])
    new(requester=pedro, team=teams["L2"])

    assert services.metrics(_week())["summary"]["created"] == 3
    assert services.metrics(_week(team=teams["L2"].pk))["summary"]["created"] == 2
    assert services.metrics(_week(organization=globex.pk))["summary"]["created"] == 1
    assert services.metrics(_week(tier="L3"))["summary"]["created"] == 0
    outside = Filters.parse(start=date(2026, 10, 1), end=date(2026, 10, 31))
    assert services.metrics(outside)["summary"]["created"] == 0


def test_the_backlog_counts_open_tickets_by_age(at, office, new, alice, teams):
    at(utc(2026, 11, 2, 9))
    new()  # 23 days old below
    at(utc(2026, 11, 24, 9))
    new()
    done = new()
    tickets.resolve(done, acting_user=alice, resolution="Done.")
    at(utc(2026, 11, 25, 12))

    rows = chart(services.metrics(_week()), "backlog_age")["rows"]

    assert [r[1] for r in rows] == [0, 1, 0, 1, 0]


def test_bad_filters_are_refused():
    from soporte.lib.errors import InvalidInput

    with pytest.raises(InvalidInput):
        Filters.parse(start=date(2026, 2, 1), end=date(2026, 1, 1))
    with pytest.raises(InvalidInput):
        Filters.parse(tier="L9")
