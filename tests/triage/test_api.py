"""/api/v1/triage: what each endpoint answers (who may call it is in
tests/api/test_permission_matrix.py)."""

from __future__ import annotations

import pytest

from soporte.tickets import services as tickets
from soporte.tickets.models import Ticket
from soporte.triage.models import Incident, Suggestion, SuggestionStatus, TriageModel

PRINTER = "Hello, the printer jams on every page. Thanks!"


@pytest.fixture
def offered(trained, maria, committed, settings_row):
    """A printer ticket whose suggestions are all offered, none applied."""
    settings_row.auto_apply_threshold = 1.01
    settings_row.save()
    with committed():
        ticket = tickets.open_ticket(acting_user=maria, subject="Printer jams", body=PRINTER)
    ticket.refresh_from_db()
    return ticket


def test_an_agent_reads_the_suggestions_with_their_confidence(api, offered, alice):
    body = api(alice).get(f"/triage/tickets/{offered.number}").json()
    by_field = {s["field"]: s for s in body["suggestions"]}
    assert by_field["category"]["label"] == "Printers"
    assert 0 < by_field["category"]["confidence"] <= 1
    assert by_field["category"]["status"] == "pending"
    assert body["duplicate"] is None and body["incident"] is None
    # Similar tickets come from the history the agent may see, never the ticket itself.
    numbers = [s["number"] for s in body["similar"]]
    assert numbers and offered.number not in numbers
    assert all("printer" in s["subject"].lower() for s in body["similar"][:3])


def test_similar_tickets_are_only_those_the_agent_may_see(api, offered, bob, teams):
    """Bob (L2) sees the new ticket (no team yet) but of the history only his team's."""
    response = api(bob).get(f"/triage/tickets/{offered.number}")
    assert response.status_code == 200
    numbers = [s["number"] for s in response.json()["similar"]]
    assert numbers
    teams_seen = set(Ticket.objects.filter(number__in=numbers).values_list("team", flat=True))
    assert teams_seen <= {teams["L2"].pk, None}


def test_accepting_applies_the_value_and_answers_the_new_state(api, offered, alice, kinds):
    response = api(alice).post(
        f"/triage/tickets/{offered.number}/suggestions/category/accept",
        {"expected_version": offered.version},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["version"] == offered.version + 1
    assert {s["field"]: s["status"] for s in body["suggestions"]}["category"] == "accepted"
    offered.refresh_from_db()
    assert offered.category == kinds["Printers"]
    again = api(alice).post(f"/triage/tickets/{offered.number}/suggestions/category/accept", {})
    assert again.status_code == 409 and again.json()["detail"]


def test_a_stale_version_is_a_conflict(api, offered, alice):
    seen = offered.version
    tickets.update_ticket(offered, acting_user=alice, subject="Printer jams on floor 2")
    response = api(alice).post(
        f"/triage/tickets/{offered.number}/suggestions/team/accept", {"expected_version": seen}
    )
    assert response.status_code == 409
    assert Suggestion.objects.get(ticket=offered, field="team").status == "pending"


def test_rejecting_keeps_the_field_and_records_the_decision(api, offered, alice):
    response = api(alice).post(f"/triage/tickets/{offered.number}/suggestions/team/reject")
    assert response.status_code == 200 and response.json()["status"] == "rejected"
    assert Suggestion.objects.get(ticket=offered, field="team").decided_by == alice
    offered.refresh_from_db()
    assert offered.team is None


@pytest.mark.parametrize("field", ["tags", "status", "x" * 300])
def test_an_unknown_field_is_refused_as_bad_input(api, offered, alice, field):
    response = api(alice).post(f"/triage/tickets/{offered.number}/suggestions/{field}/accept")
    assert response.status_code == 422


def test_administrators_train_and_supervisors_read_the_metrics(api, history, ada, carol, committed):
    assert api(carol).get("/triage/model").json() == {
        "version": None, "trained_at": None, "samples": 0, "metrics": {}
    }  # fmt: skip
    with committed():
        response = api(ada).post("/triage/model/train")
    assert response.status_code == 202 and response.json()["job_id"]
    assert TriageModel.objects.get().version == 1
    body = api(carol).get("/triage/model").json()
    assert body["version"] == 1 and body["samples"] == len(history)
    assert set(body["metrics"]["overall"]) == {"category", "priority", "team"}


def test_a_probable_duplicate_is_merged_through_the_api(api, maria, alice, committed):
    with committed():
        first = tickets.open_ticket(acting_user=maria, subject="VPN drops", body="Every hour.")
        again = tickets.open_ticket(acting_user=maria, subject="VPN drops", body="Every hour!")
    body = api(alice).get(f"/triage/tickets/{again.number}").json()
    assert body["duplicate"]["original"] == first.number
    merged = api(alice).post(f"/triage/tickets/{again.number}/duplicate/merge")
    assert merged.status_code == 200 and merged.json()["number"] == first.number
    assert api(alice).post(f"/triage/tickets/{again.number}/duplicate/dismiss").status_code == 409


def test_supervisors_close_incidents_and_set_their_message(api, carol, alice, db):
    from django.utils import timezone

    now = timezone.now()
    incident = Incident.objects.create(
        title="Mail down", reason="text", first_ticket_at=now, last_ticket_at=now
    )
    listed = api(alice).get("/triage/incidents").json()
    assert [i["id"] for i in listed] == [incident.pk]
    response = api(carol).patch(
        f"/triage/incidents/{incident.pk}", {"status": "closed", "status_message": "Fixed."}
    )
    assert response.status_code == 200
    assert response.json()["status"] == "closed" and response.json()["status_message"] == "Fixed."
    assert api(alice).get("/triage/incidents", {"status": "open"}).json() == []
    assert api(carol).patch("/triage/incidents/999999", {}).status_code == 404
    assert api(carol).patch(f"/triage/incidents/{incident.pk}", {"status": "x"}).status_code == 422


def test_the_threshold_is_an_administrators_setting_with_bounds(api, ada):
    current = api(ada).get("/triage/settings").json()
    assert current["auto_apply_threshold"] == 0.9
    changed = api(ada).put("/triage/settings", {**current, "auto_apply_threshold": 0.75})
    assert changed.status_code == 200 and changed.json()["auto_apply_threshold"] == 0.75
    too_high = api(ada).put("/triage/settings", {**current, "storm_size": 1})
    assert too_high.status_code == 422
    assert api(ada).get("/triage/settings").json()["storm_size"] == current["storm_size"]


def test_a_suggestion_already_decided_shows_its_status(api, offered, alice):
    Suggestion.objects.filter(ticket=offered, field="team").update(status=SuggestionStatus.APPLIED)
    body = api(alice).get(f"/triage/tickets/{offered.number}").json()
    assert {s["field"]: s["status"] for s in body["suggestions"]}["team"] == "applied"
