"""Articles and tickets: a draft from a resolved ticket, "solved with", the box on the
agent's ticket page, and tickets the help center saved (deflections)."""

from __future__ import annotations

import pytest
from django.test import Client

from soporte.kb import queries, services
from soporte.kb.models import Deflection, LinkKind, Outcome, TicketLink, Visibility
from soporte.lib.errors import Conflict, NotFound, PermissionDenied
from soporte.search import services as search
from soporte.tickets import services as tickets

pytestmark = pytest.mark.django_db


@pytest.fixture
def resolved(make_ticket, alice, maria, teams):
    ticket = make_ticket(
        acting_user=maria,
        subject="Printer on floor 2 jams",
        body="Every page jams.\nSince Monday.",
    )
    tickets.update_ticket(ticket, acting_user=alice, team=teams["L1"])
    tickets.resolve(ticket, acting_user=alice, resolution="Replaced the pickup roller.")
    ticket.refresh_from_db()
    return ticket


# -- a draft from a ticket ------------------------------------------------------------


def test_a_resolved_ticket_becomes_a_prefilled_draft_linked_both_ways(resolved, alice, printers):
    article = services.create_article_from_ticket(resolved, acting_user=alice, section=printers)
    assert article.status == "draft" and article.owner == alice
    assert article.title == "Printer on floor 2 jams"
    assert "## Problem" in article.body and "> Every page jams." in article.body
    assert "## Solution\n\nReplaced the pickup roller." in article.body
    assert article.visibility == Visibility.AGENTS  # nothing leaks before someone edits it
    link = TicketLink.objects.get(ticket=resolved)
    assert (link.article, link.kind) == (article, LinkKind.CREATED_FROM)
    assert article.versions.get().note == f"Written from ticket #{resolved.number}"


def test_an_open_ticket_is_not_written_up_yet(make_ticket, alice):
    with pytest.raises(Conflict, match="not resolved"):
        services.create_article_from_ticket(make_ticket(acting_user=alice), acting_user=alice)


def test_a_ticket_is_written_up_once(resolved, alice):
    services.create_article_from_ticket(resolved, acting_user=alice)
    with pytest.raises(Conflict, match="already has an article"):
        services.create_article_from_ticket(resolved, acting_user=alice)


def test_internal_notes_stay_out_of_the_draft(resolved, alice):
    tickets.add_note(resolved, acting_user=alice, body="INTERNAL: the supplier is slow")
    article = services.create_article_from_ticket(resolved, acting_user=alice)
    assert "INTERNAL" not in article.body


@pytest.mark.parametrize(("person", "error"), [("maria", PermissionDenied), ("bob", NotFound)])
def test_only_agents_who_work_the_ticket_write_it_up(request, resolved, person, error):
    """Maria is not an agent; Bob's team does not see the ticket."""
    with pytest.raises(error):
        services.create_article_from_ticket(resolved, acting_user=request.getfixturevalue(person))


def test_the_desk_button_writes_the_draft_and_opens_the_editor(resolved, alice, printers):
    client = Client()
    client.force_login(alice)
    response = client.post(f"/desk/kb/tickets/{resolved.number}/article/",
                           {"section": printers.pk})  # fmt: skip
    article = TicketLink.objects.get(ticket=resolved).article
    assert response.status_code == 302 and response["Location"] == f"/desk/kb/{article.pk}/"
    assert article.section == printers


# -- solved with -------------------------------------------------------------------------


def test_articles_count_the_tickets_solved_with_them(write, make_ticket, alice, carol):
    article = write("Printer jam")
    for _ in range(3):
        services.mark_solved_with(make_ticket(acting_user=alice), article, acting_user=alice)
    ticket = make_ticket(acting_user=alice)
    services.mark_solved_with(ticket, article, acting_user=alice)
    services.mark_solved_with(ticket, article, acting_user=carol)  # twice counts once
    assert queries.solved_count(article) == 4
    [row] = queries.with_counts(type(article).objects.filter(pk=article.pk))
    assert row.solved_count == 4
    services.unmark_solved_with(ticket, article, acting_user=alice)
    assert queries.solved_count(article) == 3


def test_only_published_articles_solve_tickets(write, make_ticket, alice):
    draft = write("Printer jam", status="draft")
    with pytest.raises(Conflict):
        services.mark_solved_with(make_ticket(acting_user=alice), draft, acting_user=alice)


def test_requesters_do_not_mark_solutions(write, ticket, maria):
    with pytest.raises(PermissionDenied):
        services.mark_solved_with(ticket, write("Printer jam"), acting_user=maria)


def test_the_ticket_page_loads_the_knowledge_base_box(resolved, write, alice, make_ticket):
    """The box is loaded by htmx; its content suggests articles and similar tickets."""
    guide = write("Printer jams", "Replace the pickup roller when every page jams.")
    other = make_ticket(acting_user=alice, subject="Jams on floor 3", body="Printer jams")
    tickets.resolve(other, acting_user=alice, resolution="Cleaned the roller")
    search.index_ticket(other.pk)
    search.index_ticket(resolved.pk)
    client = Client()
    client.force_login(alice)
    page = client.get(f"/desk/tickets/{resolved.number}/").content.decode()
    assert f'hx-get="/desk/kb/tickets/{resolved.number}/"' in page
    box = client.get(f"/desk/kb/tickets/{resolved.number}/").content.decode()
    assert "Printer jams" in box and f"#{other.number} Jams on floor 3" in box
    assert "Create article from this ticket" in box
    response = client.post(f"/desk/kb/tickets/{resolved.number}/solved/", {"article": guide.pk})
    assert response.status_code == 302
    assert queries.solved_count(guide) == 1
    box = client.get(f"/desk/kb/tickets/{resolved.number}/").content.decode()
    assert "Solved with:" in box


def test_similar_tickets_are_only_those_the_agent_sees(make_ticket, alice, carol, teams):
    mine = make_ticket(acting_user=alice, subject="Zanahoria printer", team=teams["L1"])
    theirs = make_ticket(acting_user=alice, subject="Zanahoria printer too", team=teams["L3"])
    tickets.resolve(theirs, acting_user=carol, resolution="Cleaned the roller")
    search.index_ticket(theirs.pk)
    search.index_ticket(mine.pk)
    assert queries.similar_resolved_tickets(alice, mine) == []
    assert [t.number for t in queries.similar_resolved_tickets(carol, mine)] == [theirs.number]


# -- deflection ----------------------------------------------------------------------------


def test_opening_a_suggestion_and_saying_it_solved_the_problem_counts(write, maria):
    article = write("Printer jam", "Open the tray")
    client = Client()
    client.force_login(maria)
    box = client.get("/help/suggest/", {"subject": "printer jams", "body": ""}).content.decode()
    assert f"/help/articles/{article.pk}/?from=suggestion" in box
    page = client.get(f"/help/articles/{article.pk}/", {"from": "suggestion", "q": "printer"})
    assert b"This solved my problem" in page.content
    deflection = Deflection.objects.get(article=article, user=maria)
    assert (deflection.outcome, deflection.query) == (Outcome.VIEWED, "printer")
    client.post(f"/help/deflections/{deflection.pk}/solved/")
    deflection.refresh_from_db()
    assert deflection.outcome == Outcome.SOLVED
    assert queries.deflected_count(article) == 1


def test_leaving_the_new_ticket_page_after_a_suggestion_counts(write, maria):
    article = write("Printer jam")
    client = Client()
    client.force_login(maria)
    client.get(f"/help/articles/{article.pk}/", {"from": "suggestion"})
    assert client.post("/help/deflections/left/").status_code == 204
    assert Deflection.objects.get().outcome == Outcome.LEFT


def test_opening_a_ticket_anyway_is_no_deflection(write, maria, make_ticket):
    article = write("Printer jam")
    services.open_suggestion(article, acting_user=maria)
    services.leave_ticket_form(acting_user=maria)
    make_ticket(acting_user=maria)
    assert Deflection.objects.get().outcome == Outcome.TICKET_OPENED
    assert queries.deflected_count(article) == 0


def test_agents_reading_suggestions_are_not_deflections(write, alice):
    assert services.open_suggestion(write("Printer jam"), acting_user=alice) is None


def test_nobody_confirms_someone_elses_deflection(write, maria, marco):
    deflection = services.open_suggestion(write("Printer jam"), acting_user=maria)
    client = Client()
    client.force_login(marco)
    assert client.post(f"/help/deflections/{deflection.pk}/solved/").status_code == 404


def test_the_suggestions_are_what_the_requester_may_read(write, acme, pedro):
    write("Acme printer guide", "printer", visibility=Visibility.ORGANIZATIONS,
          organizations=[acme])  # fmt: skip
    client = Client()
    client.force_login(pedro)
    assert b"Acme printer guide" not in client.get("/help/suggest/", {"subject": "printer"}).content
