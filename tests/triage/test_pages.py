"""The triage pages: the ticket box with one-click decisions, the incident banner, and
the model and incidents page for supervisors (settings and training for admins)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from soporte.tickets import services as tickets
from soporte.triage.models import (
    DuplicateFlag,
    Incident,
    IncidentStatus,
    Suggestion,
    SuggestionStatus,
    TriageModel,
)

PRINTER = "Hello, the printer jams on every page. Thanks!"


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def offered(trained, maria, committed, settings_row):
    settings_row.auto_apply_threshold = 1.01
    settings_row.save()
    with committed():
        ticket = tickets.open_ticket(acting_user=maria, subject="Printer jams", body=PRINTER)
    return ticket


def test_the_ticket_page_loads_the_box_and_the_box_offers_each_suggestion(offered, alice):
    client = client_for(alice)
    page = client.get(f"/desk/tickets/{offered.number}/")
    assert page.status_code == 200
    assert f"/desk/triage/tickets/{offered.number}/" in page.content.decode()
    box = client.get(f"/desk/triage/tickets/{offered.number}/")
    html = box.content.decode()
    assert box.status_code == 200
    assert "Printers" in html and "confidence" in html
    assert f"/desk/triage/tickets/{offered.number}/category/accept/" in html
    assert "Similar tickets" in html


def test_one_click_applies_a_suggestion_and_returns_to_the_ticket(offered, alice, kinds):
    response = client_for(alice).post(f"/desk/triage/tickets/{offered.number}/category/accept/")
    assert response.status_code == 302 and response.url == f"/desk/tickets/{offered.number}/"
    offered.refresh_from_db()
    assert offered.category == kinds["Printers"]


def test_a_rejected_suggestion_is_no_longer_offered(offered, alice):
    client = client_for(alice)
    client.post(f"/desk/triage/tickets/{offered.number}/team/reject/")
    assert Suggestion.objects.get(ticket=offered, field="team").status == SuggestionStatus.REJECTED
    html = client.get(f"/desk/triage/tickets/{offered.number}/").content.decode()
    assert f"/desk/triage/tickets/{offered.number}/team/accept/" not in html
    # A second click shows why nothing happened, with no error page.
    again = client.post(f"/desk/triage/tickets/{offered.number}/team/reject/", follow=True)
    assert again.status_code == 200 and "already handled" in again.content.decode()


def test_forms_need_their_csrf_token(offered, alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.post(f"/desk/triage/tickets/{offered.number}/team/reject/").status_code == 403
    assert Suggestion.objects.get(ticket=offered, field="team").status == SuggestionStatus.PENDING


def test_requesters_and_outsiders_get_nothing(offered, maria, pedro, bob, teams):
    assert client_for(maria).get(f"/desk/triage/tickets/{offered.number}/").status_code == 403
    assert (
        client_for(pedro).post(f"/desk/triage/tickets/{offered.number}/team/accept/").status_code
        == 403
    )
    tickets.update_ticket(offered, acting_user=bob, team=teams["L1"])
    assert client_for(bob).get(f"/desk/triage/tickets/{offered.number}/").status_code == 404
    assert Client().get(f"/desk/triage/tickets/{offered.number}/").status_code == 302


def test_a_flagged_duplicate_is_merged_with_one_click(maria, alice, committed):
    with committed():
        first = tickets.open_ticket(acting_user=maria, subject="VPN drops", body="Every hour.")
        again = tickets.open_ticket(acting_user=maria, subject="VPN drops", body="Every hour!")
    assert DuplicateFlag.objects.filter(ticket=again, original=first).exists()
    client = client_for(alice)
    html = client.get(f"/desk/triage/tickets/{again.number}/").content.decode()
    assert f"Merge into #{first.number}" in html
    response = client.post(f"/desk/triage/tickets/{again.number}/duplicate/merge/")
    assert response.status_code == 302 and response.url == f"/desk/tickets/{first.number}/"
    again.refresh_from_db()
    assert again.merged_into == first


@pytest.fixture
def incident(db):
    now = timezone.now()
    return Incident.objects.create(
        title="Mail <b>down</b>", reason="text", first_ticket_at=now, last_ticket_at=now,
        ticket_count=5,
    )  # fmt: skip


def test_agents_see_the_banner_of_open_incidents_escaped(incident, alice, maria):
    html = client_for(alice).get("/desk/triage/banner/").content.decode()
    assert "Mail &lt;b&gt;down&lt;/b&gt;" in html and "5 tickets" in html
    assert 'hx-get="/desk/triage/banner/"' in client_for(alice).get("/desk/").content.decode()
    assert client_for(maria).get("/desk/triage/banner/").status_code == 403
    incident.status = IncidentStatus.CLOSED
    incident.save()
    assert "Mail" not in client_for(alice).get("/desk/triage/banner/").content.decode()


def test_supervisors_follow_incidents_and_admins_train(
    history, incident, carol, ada, alice, committed
):
    assert client_for(alice).get("/desk/triage/").status_code == 403
    page = client_for(carol).get("/desk/triage/").content.decode()
    assert "No model yet" in page and "Mail &lt;b&gt;down&lt;/b&gt;" in page
    assert "Train now" not in page
    assert client_for(carol).post("/desk/triage/train/").status_code == 403
    with committed():
        assert client_for(ada).post("/desk/triage/train/").status_code == 302
    assert TriageModel.objects.count() == 1
    page = client_for(carol).get("/desk/triage/").content.decode()
    assert "Macro-F1" in page and "Version 1" in page
    response = client_for(carol).post(
        f"/desk/triage/incidents/{incident.pk}/",
        {"status": "closed", "status_message": "Fixed at 10:05."},
    )
    assert response.status_code == 302
    incident.refresh_from_db()
    assert (incident.status, incident.status_message) == ("closed", "Fixed at 10:05.")


def test_an_administrator_sets_the_threshold_and_bad_values_are_refused(ada, carol, settings_row):
    fields = {
        "enabled": "on", "auto_apply_threshold": "0.7", "duplicate_hours": "12",
        "duplicate_similarity": "0.8", "storm_size": "4", "storm_minutes": "20",
        "storm_similarity": "0.3",
    }  # fmt: skip
    assert client_for(carol).post("/desk/triage/settings/", fields).status_code == 403
    assert client_for(ada).post("/desk/triage/settings/", fields).status_code == 302
    settings_row.refresh_from_db()
    assert (settings_row.auto_apply_threshold, settings_row.storm_size) == (0.7, 4)
    refused = client_for(ada).post("/desk/triage/settings/", {**fields, "storm_size": "1"})
    assert refused.status_code == 422 and "storm_size" in refused.content.decode()
    settings_row.refresh_from_db()
    assert settings_row.storm_size == 4
