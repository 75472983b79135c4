"""The coarse projections the dashboard reads (DaySeries, DayFacet) equal the sums of the
daily rollups, after changes, after a rebuild, and whatever the filters; changes nothing
reportable in skip the recompute.

Maria (Acme) and Pedro (Globex) ask; Alice (L1) answers; Carol supervises.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from soporte.reports import rollups, services
from soporte.reports.models import (
    FACET_COLUMNS,
    FILTERS,
    GROUPS,
    VALUE_COLUMNS,
    DailyRollup,
    DayFacet,
    DaySeries,
    StaleDay,
    TicketContribution,
)
from soporte.reports.services import Filters
from soporte.tickets import satisfaction, timelog
from soporte.tickets import services as tickets

from .conftest import utc

pytestmark = pytest.mark.django_db


def summed_daily_rollups() -> tuple[dict, dict]:
    """DaySeries and DayFacet as they should be: the daily rollups summed in Python."""
    series: dict = defaultdict(lambda: dict.fromkeys(VALUE_COLUMNS, 0))
    facets: dict = defaultdict(lambda: dict.fromkeys(FACET_COLUMNS, 0))
    for row in DailyRollup.objects.values():
        for fdim in ("", *FILTERS):
            fval = str(row[fdim]) if fdim else ""
            found = series[(row["day"], fdim, fval)]
            for name in VALUE_COLUMNS:
                found[name] += row[name]
            for gdim in GROUPS:
                found = facets[(row["day"], fdim, fval, gdim, str(row[gdim]))]
                for name in FACET_COLUMNS:
                    found[name] += row[name]
    return dict(series), dict(facets)


def stored_projections() -> tuple[dict, dict]:
    series = {
        (r["day"], r["fdim"], r["fval"]): {n: r[n] for n in VALUE_COLUMNS}
        for r in DaySeries.objects.values()
    }
    facets = {
        (r["day"], r["fdim"], r["fval"], r["gdim"], r["gval"]): {n: r[n] for n in FACET_COLUMNS}
        for r in DayFacet.objects.values()
    }
    return series, facets


@pytest.fixture
def busy_week(at, office, new, alice, carol, maria, pedro, teams, category):
    """Tickets of two organizations over a week: answered, resolved, escalated, moved,
    categorized, timed and rated."""
    at(utc(2026, 11, 16, 9))
    made = [new(requester=maria), new(requester=pedro), new(requester=maria, team=teams["L2"])]
    at(utc(2026, 11, 17, 10))
    tickets.reply(made[0], acting_user=alice, body="Restart it.")
    tickets.resolve(made[0], acting_user=alice, resolution="Restarted.")
    tickets.escalate(made[1], acting_user=alice, reason="Harder")
    at(utc(2026, 11, 18, 11))
    tickets.update_ticket(made[2], acting_user=carol, category=category)
    timelog.log_time(made[2], acting_user=carol, seconds=1800, billable=True)
    tickets.resolve(made[2], acting_user=carol, resolution="Done.")
    satisfaction.rate(satisfaction.read_token(satisfaction.make_token(made[0])), rating=5)
    at(utc(2026, 11, 19, 12))
    made[1].refresh_from_db()
    tickets.update_ticket(made[1], acting_user=carol, team=teams["L1"])  # history moves too
    return made


def test_the_projections_equal_the_daily_rollups_summed_after_changes(busy_week):
    assert StaleDay.objects.exists()  # the changes marked their days

    rollups.refresh_stale()

    assert not StaleDay.objects.exists()
    assert stored_projections() == summed_daily_rollups()
    assert DayFacet.objects.filter(fdim="organization_id").exists()


def test_the_projections_follow_a_later_change_and_a_rebuild(busy_week, alice, maria):
    rollups.refresh_stale()
    tickets.reopen(busy_week[0], acting_user=maria, reason="Broken again")
    tickets.reply(busy_week[0], acting_user=alice, body="Looking.")

    services.metrics(Filters.parse(start=date(2026, 11, 16), end=date(2026, 11, 22)))

    assert not StaleDay.objects.exists()  # the dashboard derived the stale days first
    assert stored_projections() == summed_daily_rollups()
    # damaged projections: a rebuild derives them again from the recomputed rollups
    DayFacet.objects.all().delete()
    DaySeries.objects.update(created=99)
    rollups.rebuild()
    assert stored_projections() == summed_daily_rollups()
    assert rollups.stored_totals() == rollups.full_recompute()[0]


@pytest.mark.parametrize(
    "which", ["none", "team", "organization", "category", "tier", "team and organization"]
)
def test_the_dashboard_figures_are_the_same_from_the_projections_and_the_daily_rollups(
    busy_week, teams, acme, category, monkeypatch, which
):
    """Whatever the filters, the projections give what the daily rollups give."""
    given = {
        "none": {},
        "team": {"team": teams["L1"].pk},
        "organization": {"organization": acme.pk},
        "category": {"category": category.pk},
        "tier": {"tier": "L2"},
        "team and organization": {"team": teams["L1"].pk, "organization": acme.pk},
    }[which]
    filters = Filters.parse(start=date(2026, 11, 15), end=date(2026, 11, 22), **given)
    from_projections = services.metrics(filters)
    monkeypatch.setattr(services, "_facet", lambda filters: None)  # the daily rollups' way

    from_daily = services.metrics(filters)

    assert from_projections == from_daily
    assert from_projections["summary"]["created"] > 0


def test_a_requester_reply_to_an_open_ticket_skips_the_recompute(at, office, new, maria):
    at(utc(2026, 11, 23, 9))
    ticket = new()
    stored = TicketContribution.objects.get(pk=ticket.pk)

    with CaptureQueriesContext(connection) as queries:
        tickets.reply(ticket, acting_user=maria, body="Any news?")

    touched = [q["sql"] for q in queries if DailyRollup._meta.db_table in q["sql"]]
    assert touched == []
    assert TicketContribution.objects.get(pk=ticket.pk).rows == stored.rows
    assert rollups.stored_totals() == rollups.full_recompute()[0]


def test_a_staff_reply_is_counted_as_the_first_response(at, office, new, alice):
    at(utc(2026, 11, 23, 9))
    ticket = new()
    at(utc(2026, 11, 23, 11))

    tickets.reply(ticket, acting_user=alice, body="On it.")

    assert sum(r.fr_count for r in DailyRollup.objects.all()) == 1
    assert rollups.stored_totals() == rollups.full_recompute()[0]
