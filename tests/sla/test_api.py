"""Admins keep calendars and policies through the API; bad input is a 4xx that says why."""

from __future__ import annotations

import pytest

from soporte.sla.models import BusinessCalendar, SlaClock, SlaPolicy

pytestmark = pytest.mark.django_db

SPLIT = {
    "name": "Buenos Aires office",
    "time_zone": "America/Argentina/Buenos_Aires",
    "hours": [
        {"weekday": day, "starts": start, "ends": end}
        for day in range(5)
        for start, end in (("09:00", "13:00"), ("14:00", "18:00"))
    ],
    "holidays": [
        {"date": "2026-12-25", "name": "Navidad", "yearly": True},
        {"date": "2026-12-08", "name": "Inmaculada Concepción"},
    ],
}


def test_an_admin_creates_a_calendar_with_split_shifts_and_holidays(api, ada):
    response = api(ada).post("/sla/calendars", SPLIT)
    assert response.status_code == 201, response.content
    created = response.json()
    assert len(created["hours"]) == 10
    assert {h["name"] for h in created["holidays"]} == {"Navidad", "Inmaculada Concepción"}
    calendar = BusinessCalendar.objects.get()
    assert calendar.time_zone == "America/Argentina/Buenos_Aires"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"time_zone": "Mars/Olympus"}, "not a known time zone"),
        (
            {"hours": [
                {"weekday": 0, "starts": "09:00", "ends": "13:00"},
                {"weekday": 0, "starts": "12:00", "ends": "18:00"},
            ]},
            "overlaps",
        ),
        ({"hours": [{"weekday": 0, "starts": "18:00", "ends": "09:00"}]}, "not valid"),
        ({"hours": [{"weekday": 0, "starts": "09:00+03:00", "ends": "18:00"}]}, "UTC offset"),
    ],
)  # fmt: skip
def test_a_calendar_that_cannot_be_right_is_refused_with_the_reason(api, ada, change, message):
    response = api(ada).post("/sla/calendars", {**SPLIT, **change})
    assert response.status_code == 422
    assert message in str(response.json()["detail"])  # a text, or the fields' errors
    assert not BusinessCalendar.objects.exists()


def test_two_calendars_cannot_share_a_name(api, ada):
    assert api(ada).post("/sla/calendars", SPLIT).status_code == 201
    again = api(ada).post("/sla/calendars", {**SPLIT, "name": SPLIT["name"].upper()})
    assert again.status_code == 409


def test_a_weekday_out_of_range_is_refused(api, ada):
    bad = {**SPLIT, "hours": [{"weekday": 7, "starts": "09:00", "ends": "18:00"}]}
    assert api(ada).post("/sla/calendars", bad).status_code == 422


def test_a_policy_change_recomputes_open_tickets(
    api, ada, alice, ticket, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        created = api(ada).post("/sla/policies", {"name": "All", "resolution_minutes": 600})
    assert created.status_code == 201, created.content
    clock = SlaClock.objects.get(ticket=ticket)
    assert clock.policy.name == "All"
    first_due = clock.resolution_due
    assert first_due is not None

    with django_capture_on_commit_callbacks(execute=True):
        changed = api(ada).patch(
            f"/sla/policies/{created.json()['id']}", {"resolution_minutes": 60}
        )
    assert changed.status_code == 200
    clock.refresh_from_db()
    assert (first_due - clock.resolution_due).total_seconds() == 540 * 60

    shown = api(alice).get(f"/sla/tickets/{ticket.number}").json()
    assert shown["policy"] == "All"
    assert shown["resolution_due"] is not None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"name": "X", "pause_statuses": ["open"]}, "pause only"),
        ({"name": "X", "calendar_id": 999}, "calendar 999 does not exist"),
        ({"name": "X", "warn_percent": 0}, ""),
        ({"name": "X", "resolution_minutes": -5}, ""),
    ],
)
def test_a_policy_that_cannot_work_is_refused(api, ada, body, message):
    response = api(ada).post("/sla/policies", body)
    assert response.status_code == 422
    assert message in str(response.json()["detail"])
    assert not SlaPolicy.objects.exists()
