"""The agents' problem pages and the ticket page's box: list with filters, new problem
from a ticket, edit with a version check, link and unlink, report to development and
"try again"; requesters get 403 everywhere; text is escaped."""

from __future__ import annotations

import pytest
from django.test import Client

from soporte.problems.models import BugReport, DeliveryStatus, Problem, ProblemStatus


@pytest.fixture
def desk():
    def client(user) -> Client:
        c = Client()
        c.force_login(user)
        return c

    return client


def test_the_list_filters_by_status_and_words(desk, alice, make_problem):
    make_problem(title="Printer blank pages")
    make_problem(title="VPN drops", status="known_error", workaround="Reconnect")
    page = desk(alice).get("/desk/problems/", {"status": "known_error"})
    assert page.status_code == 200
    assert b"VPN drops" in page.content and b"Printer blank" not in page.content
    page = desk(alice).get("/desk/problems/", {"q": "printer"})
    assert b"Printer blank" in page.content and b"VPN drops" not in page.content
    assert desk(alice).get("/desk/problems/", {"status": "nonsense"}).status_code == 400


@pytest.mark.parametrize("path", ["/desk/problems/", "/desk/problems/new/", "/desk/problems/{id}/"])
def test_requesters_are_refused(desk, maria, make_problem, path):
    problem = make_problem()
    assert desk(maria).get(path.format(id=problem.pk)).status_code == 403


def test_a_new_problem_from_a_ticket_starts_from_it_and_links_it(desk, alice, ticket):
    client = desk(alice)
    form = client.get("/desk/problems/new/", {"ticket": ticket.number})
    assert ticket.subject.encode() in form.content
    response = client.post(
        "/desk/problems/new/",
        {"ticket": ticket.number, "title": "Jams", "status": "investigating",
         "workaround_public": "on"},
    )  # fmt: skip
    problem = Problem.objects.get(title="Jams")
    assert response.status_code == 302 and response["Location"] == f"/desk/problems/{problem.pk}/"
    assert list(problem.tickets.all()) == [ticket]


def test_a_ticket_the_agent_does_not_see_cannot_seed_a_problem(desk, bob, alice, maria, teams,
                                                               make_ticket):  # fmt: skip
    theirs = make_ticket(acting_user=alice, requester=maria, team=teams["L1"])
    assert desk(bob).get("/desk/problems/new/", {"ticket": theirs.number}).status_code == 404


def test_editing_checks_the_version_and_the_workaround(desk, alice, make_problem):
    problem = make_problem()
    client = desk(alice)
    base = {"title": "Jams", "status": "known_error", "version": 1, "workaround": ""}
    assert client.post(f"/desk/problems/{problem.pk}/", base).status_code == 422
    saved = client.post(f"/desk/problems/{problem.pk}/", {**base, "workaround": "Tray 2"})
    assert saved.status_code == 302
    stale = client.post(f"/desk/problems/{problem.pk}/", {**base, "workaround": "Other"})
    assert stale.status_code == 409
    problem.refresh_from_db()
    assert (problem.status, problem.workaround) == (ProblemStatus.KNOWN_ERROR, "Tray 2")


def test_the_problem_page_links_and_unlinks_tickets(desk, alice, ticket, make_problem):
    problem = make_problem()
    client = desk(alice)
    client.post(f"/desk/problems/{problem.pk}/tickets/", {"number": ticket.number})
    page = client.get(f"/desk/problems/{problem.pk}/")
    assert f"#{ticket.number}".encode() in page.content
    client.post(f"/desk/problems/{problem.pk}/tickets/{ticket.number}/unlink/")
    assert not problem.tickets.exists()
    missing = client.post(f"/desk/problems/{problem.pk}/tickets/", {"number": 999999})
    assert missing.status_code == 404


def test_the_ticket_page_shows_the_known_errors_workaround_escaped(desk, alice, ticket,
                                                                   make_problem):  # fmt: skip
    make_problem(tickets=[ticket], status="known_error", workaround="<script>alert(1)</script>")
    page = desk(alice).get(f"/desk/tickets/{ticket.number}/")
    assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in page.content
    assert b"<script>alert(1)" not in page.content
    assert b"New problem from this ticket" in page.content


def test_similar_known_errors_offer_a_one_click_link(committed, desk, alice, make_ticket,
                                                     make_problem):  # fmt: skip
    with committed():
        vpn = make_problem(title="VPN drops", workaround="Reconnect", status="known_error")
    ticket = make_ticket(subject="VPN drops again", body="The VPN drops.")
    client = desk(alice)
    fragment = client.get(f"/desk/problems/tickets/{ticket.number}/similar/")
    assert b"VPN drops" in fragment.content
    client.post(f"/desk/problems/tickets/{ticket.number}/link/", {"problem": vpn.pk})
    assert list(vpn.tickets.all()) == [ticket]


def test_a_failed_report_shows_on_the_ticket_box_with_try_again(
    committed, desk, alice, ticket, make_problem, make_tracker, fake_trackers
):
    make_tracker("github")
    fake_trackers.failures = [404]
    problem = make_problem(tickets=[ticket])
    client = desk(alice)
    with committed():
        client.post(f"/desk/problems/{problem.pk}/report/")
    report = BugReport.objects.get(problem=problem)
    assert report.status == DeliveryStatus.FAILED
    page = client.get(f"/desk/tickets/{ticket.number}/")
    assert b"failure 404" in page.content and b"Try again" in page.content
    with committed():
        client.post(f"/desk/problems/reports/{report.pk}/retry/")
    report.refresh_from_db()
    problem.refresh_from_db()
    assert report.status == DeliveryStatus.SENT and problem.bug_key
    assert problem.bug_key.encode() in client.get(f"/desk/problems/{problem.pk}/").content


def test_the_admin_shows_the_trackers_variable_names_never_their_values(
    desk, ada, alice, make_tracker
):
    tracker = make_tracker("github")
    page = desk(ada).get(f"/admin/problems/tracker/{tracker.pk}/change/")
    assert page.status_code == 200
    assert b"PROBLEMS_TEST_TOKEN" in page.content
    assert f"/api/v1/problems/webhooks/{tracker.pk}".encode() in page.content
    assert b"tok-123" not in page.content and b"hook-secret" not in page.content
    assert desk(ada).get("/admin/problems/problem/").status_code == 200
    assert desk(alice).get("/admin/problems/tracker/").status_code == 302
