"""The agent and portal pages through the real test client: access, query counts, and
bad input answered with a 4xx page."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from soporte.tickets import services

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, response.content[:500]
    return len(queries)


def test_the_ticket_list_runs_the_same_queries_for_5_or_50_tickets(alice, teams, make_ticket):
    client = client_for(alice)
    for _ in range(5):
        make_ticket(acting_user=alice, team=teams["L1"], tags=["printer"])
    few = count_queries(client, "/desk/tickets/")
    for _ in range(45):
        make_ticket(acting_user=alice, team=teams["L1"], tags=["vpn", "printer"])
    many = count_queries(client, "/desk/tickets/")
    assert few == many
    assert many <= 12


def test_the_ticket_page_runs_the_same_queries_for_2_or_50_messages(alice, maria, ticket, tmp_path):
    client = client_for(alice)
    services.reply(ticket, acting_user=alice, body="first")
    few = count_queries(client, f"/desk/tickets/{ticket.number}/")
    for i in range(24):
        services.reply(ticket, acting_user=maria, body=f"more {i}")
        services.add_note(ticket, acting_user=alice, body=f"note {i}")
    many = count_queries(client, f"/desk/tickets/{ticket.number}/")
    assert few == many
    assert many <= 20


def test_the_portal_ticket_page_runs_constant_queries_and_hides_notes(alice, maria, ticket):
    client = client_for(maria)
    services.add_note(ticket, acting_user=alice, body="Internal: do not show")
    few = count_queries(client, f"/portal/tickets/{ticket.number}/")
    for i in range(20):
        services.reply(ticket, acting_user=alice, body=f"answer {i}")
    many = count_queries(client, f"/portal/tickets/{ticket.number}/")
    assert few == many
    assert b"do not show" not in client.get(f"/portal/tickets/{ticket.number}/").content


@pytest.mark.parametrize(
    "url",
    ["/desk/", "/desk/tickets/", "/desk/tickets/new/", "/desk/tickets/{n}/"],
)
def test_requesters_get_403_on_agent_pages(url, maria, ticket):
    response = client_for(maria).get(url.format(n=ticket.number))
    assert response.status_code == 403


@pytest.mark.parametrize("url", ["/desk/", "/desk/tickets/", "/portal/", "/portal/tickets/{n}/"])
def test_anonymous_visitors_are_sent_to_sign_in(url, ticket):
    response = Client().get(url.format(n=ticket.number))
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


def test_another_organizations_requester_gets_404_on_the_ticket_and_its_files(pedro, maria, ticket):
    client = client_for(pedro)
    assert client.get(f"/portal/tickets/{ticket.number}/").status_code == 404
    attachment_url = f"/files/{ticket.number}/1/"
    assert client.get(attachment_url).status_code == 404


def test_an_agent_outside_the_team_gets_404(bob, alice, teams, make_ticket):
    ticket = make_ticket(acting_user=alice, team=teams["L1"])
    assert client_for(bob).get(f"/desk/tickets/{ticket.number}/").status_code == 404


@pytest.mark.parametrize(
    "query",
    ["status=bogus", "cursor=%%%", "team=999999999999999999999", "sort=hack", "assignee=x' OR 1=1"],
)
def test_bad_list_filters_answer_400_not_500(query, alice):
    response = client_for(alice).get(f"/desk/tickets/?{query}")
    assert response.status_code == 400


def test_a_stale_compose_answers_409_and_keeps_the_text(alice, carol, ticket):
    client = client_for(alice)
    stale = ticket.version
    services.add_note(ticket, acting_user=carol, body="meanwhile")
    response = client.post(
        f"/desk/tickets/{ticket.number}/compose/",
        {"kind": "reply", "body": "my careful answer", "version": stale},
    )
    assert response.status_code == 409
    assert b"my careful answer" in response.content
    assert not ticket.messages.filter(body_text="my careful answer").exists()


def test_escalating_without_a_reason_is_refused(alice, teams, make_ticket):
    ticket = make_ticket(acting_user=alice, team=teams["L1"])
    response = client_for(alice).post(
        f"/desk/tickets/{ticket.number}/escalate/", {"reason": "", "version": ticket.version}
    )
    assert response.status_code == 422
    ticket.refresh_from_db()
    assert ticket.tier == "L1"


def test_an_executable_attached_in_the_portal_is_refused_and_nothing_is_saved(maria):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = client_for(maria)
    evil = SimpleUploadedFile("invoice.pdf", b"MZ\x90\x00" + b"\x00" * 100)
    response = client.post(
        "/portal/new/",
        {
            "subject": "Invoice",
            "body": "see file",
            "impact": "low",
            "urgency": "low",
            "files": evil,
        },
    )
    assert response.status_code == 415
    assert b"cannot be attached" in response.content or b"programs" in response.content
    assert not maria.requested_tickets.exists()


def test_pages_carry_a_content_security_policy_and_csrf_tokens(alice, ticket):
    response = client_for(alice).get(f"/desk/tickets/{ticket.number}/")
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert b"csrfmiddlewaretoken" in response.content


def test_bulk_assign_updates_only_visible_tickets(alice, bob, teams, make_ticket):
    mine = make_ticket(acting_user=alice, team=teams["L1"])
    hidden = make_ticket(acting_user=bob, team=teams["L2"])
    response = client_for(alice).post(
        "/desk/tickets/bulk/",
        {"action": "assign", "assignee": "me", "numbers": [mine.number, hidden.number]},
    )
    assert response.status_code == 302
    mine.refresh_from_db()
    hidden.refresh_from_db()
    assert mine.assignee == alice
    assert hidden.assignee is None


def test_saved_views_belong_to_their_agent(alice, carol):
    client = client_for(alice)
    client.post("/desk/views/", {"name": "Urgent", "query": "priority=P1&status=open"})
    assert alice.saved_views.get().query == "priority=P1&status=open"
    assert b"Urgent" in client.get("/desk/tickets/").content
    assert b"Urgent" not in client_for(carol).get("/desk/tickets/").content


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("get", "/api/v1/nope", 404), ("delete", "/api/v1/tickets", 405)],
)
def test_errors_under_api_are_json_even_before_the_api_answers(method, path, status, ada):
    client = client_for(ada)
    response = getattr(client, method)(path)
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert response.json()["detail"]
