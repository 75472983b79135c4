"""The dashboard, its CSV downloads and the ticket export, through the real URLs.

Carol supervises and Ada administers: both read the dashboard. Alice (L1 agent) may not,
but may export the tickets she can see; Bob (L2) sees other tickets; Maria is a requester.
"""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.test import Client
from openpyxl import load_workbook

from soporte.reports import services as reports
from soporte.tickets import services

from .conftest import utc

pytestmark = pytest.mark.django_db

DASHBOARD = "/desk/reports/"


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def week(at, office, new, alice, teams, pedro):
    """Three tickets opened on Monday 2026-11-23: two in L1 (one answered and resolved),
    one of Globex in L2."""
    at(utc(2026, 11, 23, 9))
    first = new(subject="=HYPERLINK(evil)")
    services.reply(first, acting_user=alice, body="Restart.")
    services.resolve(first, acting_user=alice, resolution="Restarted.")
    new(subject="Scanner")
    new(subject="VPN", requester=pedro, team=teams["L2"])
    at(utc(2026, 11, 25, 12))
    return "start=2026-11-16&end=2026-11-29"


def test_supervisors_and_admins_see_the_dashboard_agents_and_requesters_do_not(
    week, carol, ada, alice, maria, django_assert_max_num_queries
):
    for person in (carol, ada):
        with django_assert_max_num_queries(40):
            response = client_for(person).get(f"{DASHBOARD}?{week}")
        assert response.status_code == 200
        assert b'data-figure="created">3<' in response.content
    assert client_for(alice).get(DASHBOARD).status_code == 403
    assert client_for(maria).get(DASHBOARD).status_code == 403
    assert Client().get(DASHBOARD).status_code == 302  # to the sign-in page


def test_the_dashboard_has_no_inline_script(week, carol):
    """The site's CSP forbids inline code: data travels as JSON, code in static files."""
    page = client_for(carol).get(f"{DASHBOARD}?{week}").content.decode()

    for tag in re.findall(r"<script[^>]*>", page):
        assert "src=" in tag or 'type="application/json"' in tag, tag
    assert 'id="report-charts"' in page
    assert "chart-4.6.1.umd.min.js" in page


def test_a_bad_range_is_a_422_with_the_reason(carol):
    response = client_for(carol).get(f"{DASHBOARD}?start=2026-12-01&end=2026-11-01")

    assert response.status_code == 422
    assert b"The start date is after the end date." in response.content
    assert client_for(carol).get(f"{DASHBOARD}?start=yesterday").status_code == 422


def test_each_chart_downloads_as_csv_with_the_filters(week, carol, teams):
    response = client_for(carol).get(f"/desk/reports/charts/by_channel.csv?{week}")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["Channel", "Opened"]
    assert sum(int(r[1]) for r in rows[1:]) == 3
    narrowed = client_for(carol).get(
        f"/desk/reports/charts/volume_by_week.csv?{week}&team={teams['L2'].pk}"
    )
    weeks = list(csv.reader(io.StringIO(narrowed.content.decode())))[1:]
    assert sum(int(r[1]) for r in weeks) == 1
    assert client_for(carol).get(f"/desk/reports/charts/nothing.csv?{week}").status_code == 404


def test_chart_csv_is_for_supervisors_only(week, alice):
    assert client_for(alice).get(f"/desk/reports/charts/by_channel.csv?{week}").status_code == 403


def _csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_the_csv_export_has_the_chosen_columns_and_only_visible_tickets(week, alice, bob, carol):
    query = f"{week}&format=csv&columns=number&columns=subject&columns=team"

    mine = _csv(client_for(alice).get(f"/desk/reports/export/?{query}"))
    theirs = _csv(client_for(bob).get(f"/desk/reports/export/?{query}"))
    everything = _csv(client_for(carol).get(f"/desk/reports/export/?{query}"))

    assert mine[0] == ["Number", "Subject", "Team"]
    assert {r[1] for r in mine[1:]} == {"'=HYPERLINK(evil)", "Scanner"}  # formula defused
    assert {r[1] for r in theirs[1:]} == {"VPN"}
    assert len(everything) == 4


def test_the_xlsx_export_opens_in_openpyxl(week, carol):
    response = client_for(carol).get(
        f"/desk/reports/export/?{week}&format=xlsx&columns=number&columns=created_at"
    )

    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("Number", "Created")
    assert len(rows) == 4
    assert all(row[1].year == 2026 for row in rows[1:])


def test_a_too_large_xlsx_export_says_to_narrow_it_or_use_csv(week, carol, monkeypatch):
    monkeypatch.setattr(reports, "XLSX_MAX_ROWS", 2)

    response = client_for(carol).get(f"/desk/reports/export/?{week}&format=xlsx")

    assert response.status_code == 413
    assert b"export as CSV" in response.content


def test_the_export_is_refused_to_requesters_and_checks_its_input(week, maria, carol):
    assert client_for(maria).get(f"/desk/reports/export/?{week}&format=csv").status_code == 403
    bad = client_for(carol).get(f"/desk/reports/export/?{week}&format=csv&columns=password")
    assert bad.status_code == 422
    assert client_for(carol).get("/desk/reports/export/").status_code == 200  # the form
