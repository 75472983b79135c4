"""Problems through the API and the services: agents record, edit and link; requesters
are refused; a known error needs a workaround; similar known errors are found by the
ticket's words; requesters see only a public workaround."""

from __future__ import annotations

import pytest

from soporte.problems import panels, services
from soporte.problems.models import ProblemStatus
from soporte.tickets.models import EventKind


def test_an_agent_records_a_problem_with_tickets_and_assets(api, alice, ticket, types_laptop):
    response = api(alice).post(
        "/problems",
        {"title": "Blank pages", "root_cause": "Driver", "ticket_numbers": [ticket.number],
         "asset_ids": [types_laptop.pk]},
    )  # fmt: skip
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["ticket_numbers"] == [ticket.number]
    assert data["asset_ids"] == [types_laptop.pk]
    assert data["created_by"] == "alice"
    event = ticket.events.get(kind=EventKind.PROBLEM_LINKED)
    assert "Blank pages" in event.data["summary"]


@pytest.mark.parametrize("person", ["maria", "pedro"])
def test_requesters_cannot_read_or_record_problems(api, request, make_problem, person):
    user = request.getfixturevalue(person)
    problem = make_problem()
    assert api(user).get("/problems").status_code == 403
    assert api(user).get(f"/problems/{problem.pk}").status_code == 403
    assert api(user).post("/problems", {"title": "x"}).status_code == 403


def test_a_known_error_needs_a_workaround(api, alice, make_problem):
    problem = make_problem()
    response = api(alice).patch(f"/problems/{problem.pk}", {"status": "known_error"})
    assert response.status_code == 422
    response = api(alice).patch(
        f"/problems/{problem.pk}", {"status": "known_error", "workaround": "Use tray 2"}
    )
    assert response.status_code == 200
    assert response.json()["status"] == "known_error"


def test_a_stale_version_is_refused(api, alice, bob, make_problem):
    problem = make_problem()
    response = api(bob).patch(f"/problems/{problem.pk}", {"title": "Bob's", "version": 1})
    assert response.status_code == 200
    stale = api(alice).patch(f"/problems/{problem.pk}", {"title": "Alice's", "version": 1})
    assert stale.status_code == 409
    assert api(alice).get(f"/problems/{problem.pk}").json()["title"] == "Bob's"


def test_linking_and_unlinking_write_the_tickets_history(api, alice, ticket, make_problem):
    problem = make_problem()
    client = api(alice)
    linked = client.post(f"/problems/{problem.pk}/tickets", {"number": ticket.number})
    assert linked.status_code == 201
    assert client.delete(f"/problems/{problem.pk}/tickets/{ticket.number}").status_code == 204
    assert client.delete(f"/problems/{problem.pk}/tickets/{ticket.number}").status_code == 404
    kinds = list(ticket.events.values_list("kind", flat=True))
    assert kinds.count(EventKind.PROBLEM_LINKED) == 1
    assert kinds.count(EventKind.PROBLEM_UNLINKED) == 1


def test_an_agent_cannot_link_a_ticket_outside_his_queues(api, bob, alice, maria, teams,
                                                          make_ticket, make_problem):  # fmt: skip
    theirs = make_ticket(acting_user=alice, requester=maria, team=teams["L1"])
    problem = make_problem()
    response = api(bob).post(f"/problems/{problem.pk}/tickets", {"number": theirs.number})
    assert response.status_code == 404
    assert not problem.tickets.exists()


def test_the_list_filters_by_status_and_words(api, alice, make_problem):
    make_problem(title="Printer blank pages")
    make_problem(title="VPN drops", status="known_error", workaround="Reconnect")
    client = api(alice)
    known = client.get("/problems", {"status": "known_error"}).json()["items"]
    titles = [p["title"] for p in known]
    assert titles == ["VPN drops"]
    titles = [p["title"] for p in client.get("/problems", {"q": "printer"}).json()["items"]]
    assert titles == ["Printer blank pages"]


def test_similar_known_errors_are_found_by_the_tickets_words(
    committed, alice, make_ticket, make_problem
):
    with committed():
        vpn = make_problem(title="VPN drops every ten minutes", workaround="Reconnect",
                           status=ProblemStatus.KNOWN_ERROR)  # fmt: skip
        make_problem(title="VPN slow", workaround="Wait", status=ProblemStatus.INVESTIGATING)
        make_problem(title="Printer jams", workaround="Tray 2", status=ProblemStatus.KNOWN_ERROR)
    ticket = make_ticket(subject="My VPN drops", body="The VPN connection drops all the time.")
    assert services.similar_known_errors(alice, ticket) == [vpn]
    services.link_ticket(vpn, ticket, acting_user=alice)
    assert services.similar_known_errors(alice, ticket) == []


def test_requesters_see_only_a_known_errors_public_workaround(alice, maria, ticket, make_problem):
    make_problem(tickets=[ticket], title="Investigating", workaround="Not yet")
    make_problem(tickets=[ticket], title="Private", workaround="Internal trick",
                 status=ProblemStatus.KNOWN_ERROR, workaround_public=False)  # fmt: skip
    public = make_problem(tickets=[ticket], title="Known", workaround="Use tray 2",
                          root_cause="SECRET cause", status=ProblemStatus.KNOWN_ERROR)  # fmt: skip
    template, context = panels.portal_panel(ticket, maria)
    assert [p.pk for p in context["problems"]] == [public.pk]
    from django.template.loader import render_to_string

    html = render_to_string(template, {"panel": context})
    assert "Use tray 2" in html
    assert "SECRET" not in html and "Internal trick" not in html and "Not yet" not in html


def test_the_agents_ticket_box_is_for_agents_only(alice, maria, ticket, make_problem):
    make_problem(tickets=[ticket])
    assert panels.problems_panel(ticket, maria) is None
    _template, context = panels.problems_panel(ticket, alice)
    assert len(context["problems"]) == 1


def test_the_demo_records_a_known_error_linked_to_a_ticket(alice, maria):
    from soporte.problems import demo

    demo.load({"people": {"ana": alice, "maria": maria}})
    known = services.visible_problems(alice).get(status=ProblemStatus.KNOWN_ERROR)
    assert known.workaround and known.tickets.count() == 1
