"""Preventive maintenance: RRULE plans on assets or groups open a ticket per asset with
the checklist ahead of the due date, once; completion is recorded; overdue is reported."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.test import Client

from soporte.assets import maintenance
from soporte.assets.models import AssetStatus, MaintenanceTask, TicketAsset
from soporte.lib.errors import Conflict, InvalidInput
from soporte.tickets.models import Ticket

MONDAY = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
# The Saturday before: the first Monday is within the plan's 3 days ahead.
SATURDAY = datetime(2026, 1, 3, 12, 0, tzinfo=UTC)


@pytest.fixture
def plan(bob, laptop, teams):
    return maintenance.save_plan(
        acting_user=bob, name="Laptop care", rrule_text="FREQ=WEEKLY;BYDAY=MO",
        starts_at=MONDAY, lead_days=3, checklist=["Clean", "OS updates", "Antivirus scan"],
        assets=[laptop], team=teams["L2"],
    )  # fmt: skip


def test_a_ticket_opens_ahead_of_the_due_date_with_the_checklist(plan, laptop, bob):
    opened = maintenance.open_due(SATURDAY)

    assert opened == 1
    task = MaintenanceTask.objects.get()
    assert task.due_at == MONDAY
    ticket = task.ticket
    assert ticket.team.name == "Infrastructure L2" and ticket.due_at == task.due_at
    assert "- [ ] Antivirus scan" in ticket.messages.get().body_text
    assert "maintenance" in set(ticket.tags.values_list("name", flat=True))
    assert TicketAsset.objects.filter(ticket=ticket, asset=laptop).exists()
    assert laptop.events.filter(kind="maintenance").exists()


def test_opening_is_idempotent(plan):
    assert maintenance.open_due(SATURDAY) == 1
    assert maintenance.open_due(SATURDAY) == 0
    assert Ticket.objects.count() == 1


def test_a_group_plan_covers_every_asset_of_the_type_but_retired_ones(
    make_asset, bob, types, laptop
):
    make_asset("Laptop", tag="NB-2")
    make_asset("Laptop", tag="NB-OLD", status=AssetStatus.RETIRED)
    make_asset("Desktop", tag="PC-1")
    group = maintenance.save_plan(
        acting_user=bob, name="All laptops", rrule_text="RRULE:FREQ=MONTHLY;BYMONTHDAY=1",
        starts_at=MONDAY, lead_days=10, checklist=["Backup check"], asset_type=types["Laptop"],
    )  # fmt: skip
    assert {a.tag for a in maintenance.plan_assets(group)} == {"ACME-0001", "NB-2"}
    maintenance.open_due(datetime(2026, 1, 25, tzinfo=UTC))
    assert {t.asset.tag for t in MaintenanceTask.objects.all()} == {"ACME-0001", "NB-2"}


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("FREQ=HOURLY", "at most daily"),
        ("FREQ=SOMETIMES", "not a valid RRULE"),
        ("", "RRULE"),
        ("FREQ=DAILY\nX-INJECT=1", "RRULE"),
    ],
)
def test_bad_recurrences_are_refused(bob, laptop, rule, message):
    with pytest.raises(InvalidInput, match=message):
        maintenance.save_plan(
            acting_user=bob, name="x", rrule_text=rule, starts_at=MONDAY, assets=[laptop]
        )


def test_completion_is_recorded_and_resolves_the_ticket(plan, bob):
    maintenance.open_due(SATURDAY)
    task = MaintenanceTask.objects.get()
    maintenance.complete_task(
        task, acting_user=bob, results={"Clean": True, "OS updates": True}, notes="Fan replaced"
    )
    task.refresh_from_db()
    assert task.status == "done" and task.completed_by == bob
    assert task.results == {"Clean": True, "OS updates": True, "Antivirus scan": False}
    assert task.ticket.status == "resolved"
    event = task.asset.events.filter(kind="maintenance").last()
    assert event.new == "done: 2 of 3 items" and event.actor == bob
    with pytest.raises(Conflict):
        maintenance.complete_task(task, acting_user=bob)


def test_results_must_be_checklist_items(plan, bob):
    maintenance.open_due(SATURDAY)
    with pytest.raises(InvalidInput, match="not on the checklist"):
        maintenance.complete_task(
            MaintenanceTask.objects.get(), acting_user=bob, results={"Defrag": True}
        )


def test_the_overdue_report_lists_open_maintenance_past_its_date(plan, api, alice, bob):
    maintenance.open_due(SATURDAY)
    overdue = api(alice).get("/assets/maintenance/overdue").json()
    assert [(t["asset"]["name"], t["due_at"][:10]) for t in overdue] == [
        ("ACME-0001", "2026-01-05")
    ]
    task_id = overdue[0]["id"]
    done = api(alice).post(
        f"/assets/maintenance/tasks/{task_id}/complete", {"results": {"Clean": True}}
    )
    assert done.status_code == 200 and done.json()["status"] == "done"
    assert api(alice).get("/assets/maintenance/overdue").json() == []


def test_the_plans_api(api, alice, maria, laptop, teams):
    body = {
        "name": "Servers", "rrule": "FREQ=MONTHLY;BYDAY=1MO", "starts_at": "2026-01-05T09:00:00Z",
        "asset_ids": [laptop.pk], "team_id": teams["L2"].pk,
    }  # fmt: skip
    assert api(maria).post("/assets/maintenance/plans", body).status_code == 403
    created = api(alice).post("/assets/maintenance/plans", body)
    assert created.status_code == 201, created.content
    assert created.json()["checklist"] == maintenance.DEFAULT_CHECKLIST
    bad = api(alice).post("/assets/maintenance/plans", {**body, "rrule": "FREQ=SECONDLY"})
    assert bad.status_code == 422
    assert [p["name"] for p in api(alice).get("/assets/maintenance/plans").json()] == ["Servers"]


def test_the_maintenance_pages(plan, alice):
    maintenance.open_due(SATURDAY)
    client = Client()
    client.force_login(alice)
    page = client.get("/desk/assets/maintenance/")
    assert page.status_code == 200 and b"Laptop care" in page.content
    task = MaintenanceTask.objects.get()
    done = client.post(f"/desk/assets/maintenance/{task.pk}/", {"done": ["Clean"], "notes": "ok"})
    assert done.status_code == 302
    task.refresh_from_db()
    assert task.results["Clean"] is True and task.status == "done"
