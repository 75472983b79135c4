"""The flow pages: the desk list with outcomes, the editor and the YAML import (all or
nothing, errors naming the node), the "Troubleshoot" panel and the run page on a ticket,
and the portal: public flows, a solution that worked, and the new-ticket form filled in
with the path."""

from __future__ import annotations

import pytest
from django.test import Client

from soporte.flows import services
from soporte.flows.models import Flow, FlowRun, FlowVersion, Outcome
from soporte.tickets.models import EventKind, Message, Ticket

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def editor_post(flow: Flow, **overrides) -> dict:
    """The editor's form as the page sends it, for the flow's current version."""
    from soporte.flows.forms import NodeForm

    definition = flow.current().definition
    data = {
        "slug": flow.slug, "title": definition["title"],
        "description": definition["description"],
        "language": definition["language"], "version": flow.version,
        "nodes-TOTAL_FORMS": len(definition["nodes"]), "nodes-INITIAL_FORMS": 0,
    }  # fmt: skip
    if definition["public"]:
        data["public"] = "on"
    for index, node in enumerate(definition["nodes"]):
        for key, value in NodeForm.initial_for(node).items():
            if key == "start":
                if value:
                    data[f"nodes-{index}-start"] = "on"
            elif value is not None:
                data[f"nodes-{index}-{key}"] = value
    data.update(overrides)
    return data


def test_the_desk_list_shows_each_flows_outcomes(printer, alice, maria, walk):
    run = walk(services.start_run(printer, acting_user=maria), maria, "No")
    services.finish(run, acting_user=maria, outcome="solved")
    services.finish(services.start_run(printer, acting_user=alice), acting_user=alice,
                    outcome="abandoned")  # fmt: skip
    page = client_for(alice).get("/desk/flows/")
    assert page.status_code == 200
    html = page.content.decode()
    row = html[html.index(f'data-flow="{printer.slug}"') :].split("</tr>")[0]
    assert '<td class="solved">1</td>' in row and '<td class="abandoned">1</td>' in row
    assert "50 %" in row


def test_requesters_are_kept_out_of_the_desk_and_agents_out_of_the_editor(printer, maria, alice):
    assert client_for(maria).get("/desk/flows/").status_code == 403
    for url in ("/desk/flows/new/", "/desk/flows/import/", f"/desk/flows/{printer.slug}/edit/"):
        assert client_for(alice).get(url).status_code == 403
    response = client_for(alice).post(f"/desk/flows/{printer.slug}/archive/", {"archived": "1"})
    assert response.status_code == 403
    assert not Flow.objects.get().archived


def test_the_editor_saves_a_changed_node_as_a_new_version(printer, carol):
    data = editor_post(printer, **{"nodes-1-text": "Plug it in and switch it on."})
    response = client_for(carol).post(f"/desk/flows/{printer.slug}/edit/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    printer.refresh_from_db()
    assert printer.version == 2
    assert printer.current().tree().node("switch-on").text == "Plug it in and switch it on."


def test_the_editor_adds_a_node_and_refuses_an_unreachable_one(printer, carol):
    count = len(printer.current().definition["nodes"])
    orphan = {
        "nodes-TOTAL_FORMS": count + 1,
        f"nodes-{count}-id": "orphan",
        f"nodes-{count}-kind": "solution",
        f"nodes-{count}-text": "Nobody gets here.",
    }
    response = client_for(carol).post(
        f"/desk/flows/{printer.slug}/edit/", editor_post(printer, **orphan)
    )
    assert response.status_code == 422
    assert "Node &#x27;orphan&#x27;: unreachable" in response.content.decode()
    assert FlowVersion.objects.count() == 1
    # leading an answer to it makes it reachable
    orphan["nodes-4-answers"] = "Yes -> refill\nNo -> order-supplies\nNot sure -> orphan"
    response = client_for(carol).post(
        f"/desk/flows/{printer.slug}/edit/", editor_post(printer, **orphan)
    )
    assert response.status_code == 302
    assert Flow.objects.get().current().tree().node("orphan").text == "Nobody gets here."


def test_the_editor_makes_a_new_flow(carol):
    data = {
        "slug": "monitor", "title": "No picture", "language": "es",
        "nodes-TOTAL_FORMS": 2, "nodes-INITIAL_FORMS": 0,
        "nodes-0-id": "cable", "nodes-0-kind": "question", "nodes-0-start": "on",
        "nodes-0-text": "Is the cable in?", "nodes-0-answers": "No -> plug",
        "nodes-1-id": "plug", "nodes-1-kind": "solution", "nodes-1-text": "Plug it in.",
    }  # fmt: skip
    response = client_for(carol).post("/desk/flows/new/", data)
    assert response.status_code == 302
    flow = Flow.objects.get(slug="monitor")
    assert (flow.language, flow.public, flow.version) == ("es", False, 1)


def test_the_import_page_takes_a_file_and_refuses_broken_yaml(carol):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from soporte.flows.demo import EXAMPLES

    upload = SimpleUploadedFile("f.yaml", (EXAMPLES / "no-network.yaml").read_bytes())
    response = client_for(carol).post("/desk/flows/import/", {"file": upload})
    assert response.status_code == 302 and Flow.objects.filter(slug="no-network").exists()
    response = client_for(carol).post("/desk/flows/import/", {"yaml": "slug: [broken"})
    assert response.status_code == 400
    assert "could not be read" in response.content.decode()
    assert Flow.objects.count() == 1


def test_the_ticket_page_offers_troubleshooting_and_the_run_ends_in_a_note(
    printer, alice, l1_ticket
):
    client = client_for(alice)
    page = client.get(f"/desk/tickets/{l1_ticket.number}/")
    assert f"/desk/flows/tickets/{l1_ticket.number}/" in page.content.decode()
    choices = client.get(f"/desk/flows/tickets/{l1_ticket.number}/")
    assert printer.title in choices.content.decode()
    started = client.post(f"/desk/flows/tickets/{l1_ticket.number}/start/", {"flow": printer.slug})
    run = FlowRun.objects.get()
    assert started.status_code == 302 and started["Location"] == f"/desk/flows/runs/{run.pk}/"
    step = client.get(started["Location"]).content.decode()
    assert "Is the printer switched on" in step
    client.post(f"/desk/flows/runs/{run.pk}/answer/", {"choice": 0})
    client.post(f"/desk/flows/runs/{run.pk}/back/")
    client.post(f"/desk/flows/runs/{run.pk}/answer/", {"choice": 1})
    assert "power cable" in client.get(f"/desk/flows/runs/{run.pk}/").content.decode()
    done = client.post(f"/desk/flows/runs/{run.pk}/finish/", {"outcome": "solved"})
    assert done["Location"] == f"/desk/tickets/{l1_ticket.number}/"
    note = Message.objects.get(ticket=l1_ticket, kind="note")
    assert "— No" in note.body_text and "Yes" not in note.body_text


def test_another_agent_cannot_start_a_flow_on_a_ticket_they_cannot_see(printer, bob, l1_ticket):
    client = client_for(bob)
    assert client.get(f"/desk/flows/tickets/{l1_ticket.number}/").status_code == 404
    response = client.post(f"/desk/flows/tickets/{l1_ticket.number}/start/", {"flow": printer.slug})
    assert response.status_code == 404
    assert not FlowRun.objects.exists()


def test_the_portal_lists_public_flows_in_the_readers_language_first(
    printer, network_es, pedro, maria
):
    pedro.language = "es"
    pedro.save(update_fields=["language"])
    html = client_for(pedro).get("/help/troubleshoot/").content.decode()
    assert html.index("Sin conexión a la red") < html.index("Printer does not print")
    html = client_for(maria).get("/help/troubleshoot/").content.decode()
    assert html.index("Printer does not print") < html.index("Sin conexión a la red")


def test_a_requester_whose_problem_is_solved_says_so(printer, maria):
    client = client_for(maria)
    client.post("/help/troubleshoot/start/", {"flow": printer.slug})
    run = FlowRun.objects.get()
    client.post(f"/help/troubleshoot/runs/{run.pk}/answer/", {"choice": 1})
    html = client.get(f"/help/troubleshoot/runs/{run.pk}/").content.decode()
    assert "This solved it" in html and "Open a ticket" in html
    client.post(f"/help/troubleshoot/runs/{run.pk}/finish/", {"outcome": "solved"})
    run.refresh_from_db()
    assert run.outcome == Outcome.SOLVED and run.ticket is None
    assert not Ticket.objects.exists()


def test_a_requester_opens_a_ticket_filled_in_with_the_path(printer, maria, pedro, walk):
    client = client_for(maria)
    client.post("/help/troubleshoot/start/", {"flow": printer.slug})
    run = walk(FlowRun.objects.get(), maria, "Yes", "No error", "No")
    response = client.post(f"/help/troubleshoot/runs/{run.pk}/finish/", {"outcome": "escalated"})
    assert response["Location"] == f"/help/troubleshoot/runs/{run.pk}/ticket/"
    form = client.get(response["Location"]).content.decode()
    assert "Printer does not print" in form
    assert "Do other people&#x27;s documents print on it? — No" in form
    # Pedro cannot open the form of Maria's run
    assert client_for(pedro).get(response["Location"]).status_code == 404
    sent = client.post(
        response["Location"],
        {"subject": "Printer does not print", "body": "The path.\nDo others print? — No",
         "impact": "medium", "urgency": "medium"},
    )  # fmt: skip
    ticket = Ticket.objects.get()
    assert sent["Location"] == f"/portal/tickets/{ticket.number}/"
    assert (ticket.requester, ticket.subject) == (maria, "Printer does not print")
    run.refresh_from_db()
    assert run.ticket == ticket and run.outcome == Outcome.ESCALATED
    assert ticket.events.filter(kind=EventKind.FLOW_RUN).exists()


def test_a_requester_cannot_run_an_agents_only_flow_or_see_anothers_run(
    printer, carol, maria, marco
):
    services.set_archived(printer, acting_user=carol, archived=True)
    client = client_for(maria)
    assert client.post("/help/troubleshoot/start/", {"flow": printer.slug}).status_code == 404
    services.set_archived(printer, acting_user=carol, archived=False)
    client.post("/help/troubleshoot/start/", {"flow": printer.slug})
    run = FlowRun.objects.get()
    assert client_for(marco).get(f"/help/troubleshoot/runs/{run.pk}/").status_code == 404
    response = client_for(marco).post(f"/help/troubleshoot/runs/{run.pk}/answer/", {"choice": 0})
    assert response.status_code == 404
    assert FlowRun.objects.get().path == []


def test_page_text_from_flows_is_escaped(carol, maria):
    evil = """
slug: evil
title: "<script>alert(1)</script>"
public: true
nodes:
  - id: a
    start: true
    solution: "<img src=x onerror=alert(1)>"
"""
    services.import_flow(evil, acting_user=carol)
    client = client_for(maria)
    assert "<script>alert" not in client.get("/help/troubleshoot/").content.decode()
    client.post("/help/troubleshoot/start/", {"flow": "evil"})
    html = client.get(f"/help/troubleshoot/runs/{FlowRun.objects.get().pk}/").content.decode()
    assert "<img src=x" not in html and "&lt;img src=x" in html


def test_a_supervisor_sees_the_tree_the_editor_and_the_export(printer, carol):
    client = client_for(carol)
    tree = client.get(f"/desk/flows/{printer.slug}/").content.decode()
    assert 'id="node-technician"' in tree and "Escalate to L2:" in tree
    editor = client.get(f"/desk/flows/{printer.slug}/edit/")
    assert editor.status_code == 200
    html = editor.content.decode()
    assert 'name="nodes-TOTAL_FORMS" value="12"' in html  # 10 nodes and 2 empty ones
    assert "Yes -&gt; error-light" in html
    assert client.get("/desk/flows/new/").status_code == 200
    assert client.get("/desk/flows/import/").status_code == 200
    exported = client.get(f"/desk/flows/{printer.slug}/export.yaml")
    assert exported["Content-Type"] == "application/yaml"
    assert exported.content.decode() == services.export_flow(printer)


def test_an_unchanged_save_in_the_editor_adds_no_version(printer, carol):
    response = client_for(carol).post(f"/desk/flows/{printer.slug}/edit/", editor_post(printer))
    assert response.status_code == 302
    assert FlowVersion.objects.count() == 1
