"""/api/v1/flows: who reads which flows, YAML import (400 unreadable, 422 invalid,
nothing changed) and export, a run from start to finish, and the outcomes."""

from __future__ import annotations

import pytest
import yaml

from soporte.flows import services
from soporte.flows.models import Flow, FlowRun, FlowVersion
from soporte.tickets.models import EventKind

pytestmark = pytest.mark.django_db

AGENTS_ONLY = """
slug: reset-password
title: Password reset
language: en
public: false
nodes:
  - id: locked
    start: true
    question: Is the account locked?
    answers:
      - answer: "Yes"
        next: unlock
  - id: unlock
    escalate: L2
"""


@pytest.fixture
def internal(carol) -> Flow:
    return services.import_flow(AGENTS_ONLY, acting_user=carol)[0]


def test_requesters_list_public_flows_and_agents_all_with_outcomes(
    api, printer, network_es, internal, maria, alice
):
    listed = api(maria).get("/flows").json()
    assert {f["slug"] for f in listed} == {"printer-not-printing", "sin-conexion"}
    assert all(f["stats"] is None for f in listed)
    agents = api(alice).get("/flows").json()
    assert {f["slug"] for f in agents} == {"printer-not-printing", "sin-conexion", internal.slug}
    assert all(f["stats"]["runs"] == 0 for f in agents)
    assert api(maria).get("/flows/reset-password").status_code == 404
    assert api(alice).get("/flows/reset-password").json()["definition"]["slug"] == internal.slug


def test_the_list_puts_the_asked_language_first(api, printer, network_es, maria):
    assert api(maria).get("/flows", {"language": "es"}).json()[0]["slug"] == "sin-conexion"
    assert api(maria).get("/flows", {"language": "en"}).json()[0]["slug"] == printer.slug


def test_import_then_export_gives_back_the_same_flow(api, carol):
    created = api(carol).post("/flows/import", {"yaml": AGENTS_ONLY})
    assert created.status_code == 201, created.content
    assert created.json()["changed"] is True
    exported = api(carol).get("/flows/reset-password/export")
    assert exported.status_code == 200 and exported["Content-Type"] == "application/yaml"
    assert yaml.safe_load(exported.content) == created.json()["flow"]["definition"]
    again = api(carol).post("/flows/import", {"yaml": exported.content.decode()})
    assert again.json()["changed"] is False and again.json()["flow"]["version"] == 1


@pytest.mark.parametrize(
    ("text", "status", "words"),
    [
        ("slug: [oops", 400, "could not be read"),
        ("- just\n- a list", 422, "mapping"),
        (AGENTS_ONLY.replace("next: unlock", "next: gone"), 422, "Node 'locked'"),
        (AGENTS_ONLY + "  - id: stray\n    solution: Never reached.\n", 422, "Node 'stray'"),
    ],
)
def test_bad_yaml_gets_a_clear_4xx_and_changes_nothing(api, carol, internal, text, status, words):
    before = (Flow.objects.count(), FlowVersion.objects.count())
    response = api(carol).post("/flows/import", {"yaml": text})
    assert response.status_code == status
    assert words in response.json()["detail"]
    assert (Flow.objects.count(), FlowVersion.objects.count()) == before


def test_an_agent_runs_a_flow_on_a_ticket_through_the_api(api, printer, alice, l1_ticket):
    client = api(alice)
    run = client.post(f"/flows/{printer.slug}/runs", {"ticket": l1_ticket.number})
    assert run.status_code == 201, run.content
    run = run.json()
    assert run["node"]["id"] == "power" and run["ticket"] == l1_ticket.number
    run = client.post(f"/flows/runs/{run['id']}/answer", {"answer": 1}).json()
    assert run["node"]["kind"] == "solution" and run["allowed_outcomes"] == ["solved", "abandoned"]
    assert run["path"] == [
        {"node": "power", "question": printer.current().definition["nodes"][0]["question"],
         "answer": "No"},
    ]  # fmt: skip
    done = client.post(f"/flows/runs/{run['id']}/finish", {"outcome": "solved"}).json()
    assert done["outcome"] == "solved" and done["node"] is None
    assert l1_ticket.events.filter(kind=EventKind.FLOW_RUN).exists()
    stats = client.get(f"/flows/{printer.slug}/stats").json()
    assert (stats["runs"], stats["solved"], stats["solved_percent"]) == (1, 1, 100)


def test_runs_are_private_to_their_runner_and_the_tickets_agents(
    api, printer, alice, bob, maria, marco, carol, l1_ticket
):
    mine = api(maria).post(f"/flows/{printer.slug}/runs", {}).json()
    assert api(marco).get(f"/flows/runs/{mine['id']}").status_code == 404
    assert api(alice).get(f"/flows/runs/{mine['id']}").status_code == 404
    assert api(marco).post(f"/flows/runs/{mine['id']}/answer", {"answer": 0}).status_code == 404
    on_ticket = api(alice).post(f"/flows/{printer.slug}/runs", {"ticket": l1_ticket.number}).json()
    assert api(bob).get(f"/flows/runs/{on_ticket['id']}").status_code == 404
    assert api(carol).get(f"/flows/runs/{on_ticket['id']}").status_code == 200
    assert api(carol).post(f"/flows/runs/{on_ticket['id']}/back").status_code == 403


def test_requesters_cannot_run_a_flow_on_a_ticket(api, printer, maria, l1_ticket):
    response = api(maria).post(f"/flows/{printer.slug}/runs", {"ticket": l1_ticket.number})
    assert response.status_code == 403
    assert not FlowRun.objects.exists()


def test_unknown_outcomes_and_answers_are_422(api, printer, alice):
    run = api(alice).post(f"/flows/{printer.slug}/runs", {}).json()
    assert api(alice).post(f"/flows/runs/{run['id']}/finish", {"outcome": "won"}).status_code == 422
    assert api(alice).post(f"/flows/runs/{run['id']}/answer", {"answer": 9}).status_code == 422
    assert api(alice).post(f"/flows/runs/{run['id']}/answer", {"answer": -1}).status_code == 422
