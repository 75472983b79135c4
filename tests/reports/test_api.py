"""/api/v1/reports: the dashboard's figures as JSON, and the ticket export."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from soporte.tickets import services

from .conftest import utc

pytestmark = pytest.mark.django_db

RANGE = {"start": "2026-11-16", "end": "2026-11-29"}


@pytest.fixture
def opened(at, office, new, alice, teams):
    at(utc(2026, 11, 20, 17))
    ticket = new()
    new(team=teams["L2"])
    at(utc(2026, 11, 23, 10))
    services.reply(ticket, acting_user=alice, body="On it.")
    return ticket


def test_metrics_answer_with_the_summary_and_every_chart(api, opened, carol, teams):
    response = api(carol).get("/reports/metrics", RANGE)

    assert response.status_code == 200
    body = response.json()
    assert body["summary"]["created"] == 2
    assert body["summary"]["first_response_mean_hours"] == 2.0
    charts = {c["key"]: c for c in body["charts"]}
    assert {"volume_by_day", "backlog_age", "satisfaction_by_agent", "time_by_organization"} <= set(
        charts
    )
    narrowed = api(carol).get("/reports/metrics", {**RANGE, "team": teams["L2"].pk}).json()
    assert narrowed["summary"]["created"] == 1


def test_metrics_are_for_supervisors(api, opened, alice, maria, ada):
    assert api(alice).get("/reports/metrics").status_code == 403
    assert api(maria).get("/reports/metrics").status_code == 403
    assert api().get("/reports/metrics").status_code == 401
    assert api(ada).get("/reports/metrics").status_code == 200


@pytest.mark.parametrize(
    "params",
    [
        {"start": "2026-12-01", "end": "2026-11-01"},
        {"start": "not a date"},
        {"tier": "L9"},
        {"start": "2020-01-01", "end": "2026-01-01"},
        {"team": 0},
    ],
)
def test_bad_filters_are_a_422(api, carol, params):
    response = api(carol).get("/reports/metrics", params)

    assert response.status_code == 422


def test_the_export_streams_csv_of_the_visible_tickets(api, opened, alice, bob):
    params = {**RANGE, "columns": ["number", "team"]}

    response = api(alice).get("/reports/export", params)

    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows == [["Number", "Team"], [str(opened.number), "Service Desk L1"]]
    bobs = api(bob).get("/reports/export", params)
    assert b"Service Desk L1" not in b"".join(bobs.streaming_content)


def test_the_export_as_xlsx(api, opened, carol):
    response = api(carol).get("/reports/export", {**RANGE, "format": "xlsx"})

    assert response.status_code == 200
    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert len(rows) == 3
    assert rows[0][0] == "Number"


def test_the_export_refuses_requesters_and_unknown_columns(api, opened, maria, carol):
    assert api(maria).get("/reports/export", RANGE).status_code == 403
    assert api(carol).get("/reports/export", {"columns": ["password"]}).status_code == 422
