"""Flows through their services: import/export as YAML (validated, all or nothing),
versions that keep old runs readable, runs on tickets recorded as internal notes with a
FLOW_RUN event, escalation to a tier, and each flow's outcomes."""

from __future__ import annotations

from datetime import timedelta

import pytest
import yaml

from soporte.flows import services
from soporte.flows.demo import EXAMPLES, load_examples
from soporte.flows.models import Flow, FlowRun, FlowVersion, Outcome
from soporte.lib.errors import BadRequest, Conflict, InvalidInput, NotFound, PermissionDenied
from soporte.tickets.models import EventKind, Message

pytestmark = pytest.mark.django_db

SMALL = """
slug: vpn
title: VPN drops
nodes:
  - id: start
    start: true
    question: Does it drop every 10 minutes?
    answers:
      - answer: "Yes"
        next: gateway
      - answer: "No"
        next: reconnect
  - id: gateway
    escalate: L3
    text: Gateway timeout.
  - id: reconnect
    solution: Reconnect.
"""


def stored() -> tuple[int, int, int]:
    return Flow.objects.count(), FlowVersion.objects.count(), FlowRun.objects.count()


# -- YAML ------------------------------------------------------------------------------


def test_every_example_round_trips_export_then_import_unchanged(carol):
    flows = load_examples(carol)
    assert {flow.language for flow in flows} == {"en", "es"}
    for flow in flows:
        text = services.export_flow(flow)
        again, changed = services.import_flow(text, acting_user=carol)
        assert (again.pk, changed, again.version) == (flow.pk, False, 1)
        assert yaml.safe_load(text) == FlowVersion.objects.get(flow=flow).definition
        assert services.export_flow(again) == text


def test_importing_the_same_slug_again_with_changes_adds_a_version(carol):
    flow, _ = services.import_flow(SMALL, acting_user=carol)
    flow, changed = services.import_flow(SMALL.replace("Reconnect.", "Reconnect twice."),
                                         acting_user=carol)  # fmt: skip
    assert changed and flow.version == 2
    assert "Reconnect twice." in services.export_flow(flow)
    assert FlowVersion.objects.filter(flow=flow).count() == 2


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("slug: [unclosed", BadRequest),
        ("a: b\n\tc: d", BadRequest),
        (b"\xff\xfe bad bytes", BadRequest),
        ("!!python/object/apply:os.system ['true']", BadRequest),
        ("just text", InvalidInput),
        (SMALL.replace("next: gateway", "next: nowhere"), InvalidInput),
        (SMALL.replace("    solution: Reconnect.", "    question: Again?"), InvalidInput),
    ],
)
def test_bad_yaml_is_refused_and_nothing_stored_changes(carol, text, error):
    services.import_flow(SMALL, acting_user=carol)
    before = stored()
    with pytest.raises(error) as caught:
        services.import_flow(text, acting_user=carol)
    assert caught.value.message
    assert stored() == before
    assert Flow.objects.get().version == 1


def test_a_validation_error_names_the_node(carol):
    with pytest.raises(InvalidInput) as caught:
        services.import_flow(SMALL.replace("next: gateway", "next: nowhere"), acting_user=carol)
    assert "Node 'start'" in caught.value.message and "nowhere" in caught.value.message


def test_too_large_yaml_is_refused(carol):
    with pytest.raises(services.TooLarge):
        services.import_flow("#" * (services.MAX_YAML_BYTES + 1), acting_user=carol)


def test_only_supervisors_import(alice, maria, carol, ada):
    for person in (alice, maria):
        with pytest.raises(PermissionDenied):
            services.import_flow(SMALL, acting_user=person)
    assert services.import_flow(SMALL, acting_user=ada)[0].slug == "vpn"
    assert not Flow.objects.filter(created_by__in=[alice, maria]).exists()


def test_a_solution_may_point_only_at_a_published_article(carol, alice):
    from soporte.kb import services as kb
    from soporte.kb.models import Category, Section

    section = Section.objects.create(category=Category.objects.create(name="Net"), name="VPN")
    article = kb.create_article(
        acting_user=alice, title="VPN", body="Reconnect.", section=section, visibility="public"
    )
    with_article = SMALL.replace("solution: Reconnect.", f"article: {article.pk}")
    with pytest.raises(InvalidInput) as caught:
        services.import_flow(with_article, acting_user=carol)
    assert "Node 'reconnect'" in caught.value.message
    kb.transition_article(article, acting_user=carol, status="published")
    flow, _ = services.import_flow(with_article, acting_user=carol)
    assert flow.current().tree().node("reconnect").article == article.pk


def test_the_editor_cannot_change_a_flows_slug_or_save_over_a_newer_version(carol):
    flow, _ = services.import_flow(SMALL, acting_user=carol)
    data = flow.current().definition
    with pytest.raises(InvalidInput):
        services.save_flow({**data, "slug": "other"}, acting_user=carol, flow=flow)
    services.save_flow({**data, "title": "VPN v2"}, acting_user=carol, flow=flow)
    with pytest.raises(Conflict):
        services.save_flow({**data, "title": "VPN v3"}, acting_user=carol, flow=flow,
                           expected_version=1)  # fmt: skip
    with pytest.raises(Conflict):
        services.save_flow(data, acting_user=carol, create=True)
    assert Flow.objects.get().title == "VPN v2"


# -- runs on tickets -------------------------------------------------------------------


def test_an_agent_runs_a_flow_on_a_ticket_to_a_solution_and_the_path_becomes_a_note(
    printer, alice, teams, l1_ticket, walk
):
    ticket = l1_ticket
    run = services.start_run(printer, acting_user=alice, ticket=ticket)
    run = walk(run, alice, "Yes", "Paper jam")
    assert services.current_node(run).kind == "solution"
    run = services.finish(run, acting_user=alice, outcome="solved")
    assert run.outcome == Outcome.SOLVED and run.finished_at
    note = Message.objects.get(ticket=ticket, kind="note")
    assert note.internal
    assert "Printer does not print" in note.body_text
    assert "Is the printer switched on, with its display lit? — Yes" in note.body_text
    assert "Paper jam" in note.body_text and "torn paper" in note.body_text
    event = ticket.events.get(kind=EventKind.FLOW_RUN)
    assert event.data["outcome"] == "solved" and "solved" in event.data["summary"]


def test_an_escalation_leaf_escalates_the_ticket_to_its_tier(
    printer, alice, teams, l1_ticket, walk
):
    ticket = l1_ticket
    run = walk(services.start_run(printer, acting_user=alice, ticket=ticket), alice,
               "Yes", "No error", "No")  # fmt: skip
    with pytest.raises(Conflict):
        services.finish(run, acting_user=alice, outcome="solved")
    services.finish(run, acting_user=alice, outcome="escalated")
    ticket.refresh_from_db()
    assert (ticket.tier, ticket.team) == ("L2", teams["L2"])
    assert ticket.events.filter(kind=EventKind.ESCALATED).count() == 1
    assert "technician" in ticket.events.get(kind=EventKind.ESCALATED).data["reason"]


def test_back_undoes_the_last_answer(printer, alice, walk):
    run = walk(services.start_run(printer, acting_user=alice), alice, "Yes", "Paper jam")
    run = services.back(run, acting_user=alice)
    assert run.node == "error-light" and len(run.path) == 1
    run = services.back(run, acting_user=alice)
    with pytest.raises(Conflict):
        services.back(run, acting_user=alice)


def test_only_the_runner_answers_and_a_finished_run_is_closed(printer, alice, bob, walk):
    run = services.start_run(printer, acting_user=alice)
    with pytest.raises(PermissionDenied):
        services.answer(run, acting_user=bob, choice=0)
    with pytest.raises(InvalidInput):
        services.answer(run, acting_user=alice, choice=7)
    services.finish(run, acting_user=alice, outcome="abandoned")
    with pytest.raises(Conflict):
        services.answer(run, acting_user=alice, choice=0)


def test_an_agent_cannot_run_a_flow_on_a_ticket_they_cannot_work(printer, bob, l1_ticket):
    ticket = l1_ticket
    with pytest.raises(NotFound):
        services.start_run(printer, acting_user=bob, ticket=ticket)
    assert not FlowRun.objects.exists()


def test_requesters_run_public_flows_only_and_not_archived_ones(printer, maria, carol):
    run = services.start_run(printer, acting_user=maria)
    assert run.channel == "portal"
    flow, _ = services.import_flow(SMALL, acting_user=carol)  # not public
    with pytest.raises(NotFound):
        services.start_run(flow, acting_user=maria)
    services.set_archived(printer, acting_user=carol, archived=True)
    with pytest.raises(NotFound):
        services.start_run(printer, acting_user=maria)


def test_editing_a_flow_keeps_its_runs_readable(printer, carol, maria, walk):
    run = walk(services.start_run(printer, acting_user=maria), maria, "Yes")
    data = printer.current().definition
    data["nodes"] = [n for n in data["nodes"] if n["id"] not in ("error-light",)]
    data["nodes"][0]["answers"][0]["next"] = "switch-on"
    data["nodes"] = [
        n for n in data["nodes"] if n["id"] in ("power", "switch-on")
    ]  # everything past the first question is gone
    printer, changed = services.save_flow(data, acting_user=carol, flow=printer)
    assert changed and printer.version == 2
    run = FlowRun.objects.get(pk=run.pk)
    assert services.current_node(run).id == "error-light"  # answered against version 1
    run = walk(run, maria, "Paper jam")
    assert services.finish(run, acting_user=maria, outcome="solved").result.startswith("Open")
    assert run.path[0]["question"].startswith("Is the printer switched on")


def test_a_requester_may_open_a_ticket_from_a_solution_that_did_not_help(printer, maria, walk):
    run = walk(services.start_run(printer, acting_user=maria), maria, "No")
    assert services.allowed_outcomes(run, services.current_node(run)) == [
        "solved", "escalated", "abandoned",
    ]  # fmt: skip
    run = services.finish(run, acting_user=maria, outcome="escalated")
    draft = services.ticket_draft(run)
    assert draft["subject"] == "Printer does not print"
    assert "Is the printer switched on, with its display lit? — No" in draft["body"]
    assert "power cable" in draft["body"]


# -- outcomes --------------------------------------------------------------------------


def test_stats_count_each_outcome_and_stale_runs_as_abandoned(printer, alice, maria, walk):
    solved = walk(services.start_run(printer, acting_user=maria), maria, "No")
    services.finish(solved, acting_user=maria, outcome="solved")
    escalated = walk(services.start_run(printer, acting_user=maria), maria, "No")
    services.finish(escalated, acting_user=maria, outcome="escalated")
    services.finish(services.start_run(printer, acting_user=alice), acting_user=alice,
                    outcome="abandoned")  # fmt: skip
    stale = services.start_run(printer, acting_user=maria)
    FlowRun.objects.filter(pk=stale.pk).update(
        started_at=stale.started_at - services.ABANDONED_AFTER - timedelta(minutes=1)
    )
    services.start_run(printer, acting_user=maria)  # still going
    stats = services.stats_of(printer)
    assert (stats.total, stats.solved, stats.escalated, stats.abandoned, stats.in_progress) == (
        5, 1, 1, 2, 1,
    )  # fmt: skip
    assert stats.solved_percent == 25


def test_flows_in_the_persons_language_come_first(printer, network_es):
    both = Flow.objects.all()
    assert [f.slug for f in services.in_language_first(both, "es")] == [
        "sin-conexion", "printer-not-printing",
    ]  # fmt: skip
    assert services.in_language_first(both, "en")[0].slug == "printer-not-printing"


def test_example_files_are_valid_yaml_the_validator_accepts():
    from soporte.flows.graph import parse

    for path in EXAMPLES.glob("*.yaml"):
        assert parse(yaml.safe_load(path.read_text())).nodes


def test_the_demo_loads_the_examples_as_the_supervisor(carol):
    from soporte.flows import demo as flows_demo
    from soporte.tickets import demo

    assert flows_demo.load in demo._extras
    flows_demo.load({"people": {"supervisor": carol}})
    assert set(Flow.objects.values_list("slug", flat=True)) == {
        "printer-not-printing", "no-network", "sin-conexion",
    }  # fmt: skip
    assert set(Flow.objects.values_list("created_by", flat=True)) == {carol.pk}
