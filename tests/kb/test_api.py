"""The knowledge base through /api/v1/kb: the answers' shapes and the rules behind them
(who may call what is in tests/api/test_permission_matrix.py)."""

from __future__ import annotations

import pytest

from soporte.kb.models import Article, ArticleStatus, Visibility
from soporte.tickets import services as tickets

pytestmark = pytest.mark.django_db


def test_an_article_goes_from_draft_to_published_through_the_api(
    api, alice, bob, printers, committed
):
    with committed():
        created = api(alice).post(
            "/kb/articles",
            {"title": "VPN drops", "body": "Reconnect **twice**.", "section_id": printers.pk,
             "visibility": "public", "tags": ["vpn"]},
        )  # fmt: skip
    assert created.status_code == 201, created.content
    article = created.json()
    assert (article["status"], article["version"], article["tags"]) == ("draft", 1, ["vpn"])
    assert article["body_html"] == "<p>Reconnect <strong>twice</strong>.</p>\n"
    pk = article["id"]

    edited = api(alice).patch(f"/kb/articles/{pk}", {"body": "Reconnect.", "version": 1})
    assert edited.json()["version"] == 2
    stale = api(bob).patch(f"/kb/articles/{pk}", {"body": "Mine.", "version": 1})
    assert stale.status_code == 409

    api(alice).post(f"/kb/articles/{pk}/status", {"status": "in_review"})
    refused = api(alice).post(f"/kb/articles/{pk}/status", {"status": "published"})
    assert refused.status_code == 403
    published = api(bob).post(f"/kb/articles/{pk}/status", {"status": "published"})
    assert published.json()["status"] == "published"


def test_versions_have_a_diff_and_restore(api, alice, write):
    article = write("VPN", "line one\nline two", status=ArticleStatus.DRAFT)
    client = api(alice)
    client.patch(f"/kb/articles/{article.pk}", {"body": "line one\nline 2"})
    versions = client.get(f"/kb/articles/{article.pk}/versions").json()
    assert [v["number"] for v in versions] == [2, 1]
    assert versions[0]["author"] == "Alice"
    detail = client.get(f"/kb/articles/{article.pk}/versions/2").json()
    assert "-line two\n+line 2" in detail["diff"]
    restored = client.post(f"/kb/articles/{article.pk}/versions/1/restore", {"version": 2})
    assert (restored.json()["version"], restored.json()["body"]) == (3, "line one\nline two")


def test_a_search_through_the_api_is_scoped(api, write, acme, pedro, maria):
    write("Impresoras de Acme", "impresoras", visibility=Visibility.ORGANIZATIONS,
          organizations=[acme])  # fmt: skip
    write("Impresoras para todos", "impresoras")
    items = api(pedro).get("/kb/articles", {"q": "impresora"}).json()["items"]
    assert [item["title"] for item in items] == ["Impresoras para todos"]
    found = api(maria).get("/kb/articles", {"q": "impresora"}).json()["items"]
    assert {i["title"] for i in found} == {"Impresoras de Acme", "Impresoras para todos"}
    assert "<mark>" in found[0]["snippet"]


def test_an_empty_word_search_is_refused(api, maria):
    assert api(maria).get("/kb/articles", {"q": "?!"}).status_code == 422


def test_a_requester_does_not_see_organizations_or_drafts_of_variants(api, write, maria, acme):
    english = write("Printer", visibility=Visibility.ORGANIZATIONS, organizations=[acme])
    write("Impresora", language="es", translation_of=english, status=ArticleStatus.DRAFT)
    body = api(maria).get(f"/kb/articles/{english.pk}").json()
    assert body["organization_ids"] == [] and body["variants"] == []


def test_feedback_through_the_api_counts(api, write, maria):
    article = write("Printer")
    response = api(maria).post(f"/kb/articles/{article.pk}/feedback", {"helpful": True})
    assert response.json() == {"helpful": True, "comment": "", "helpful_yes": 1, "helpful_no": 0}


def test_exports_through_the_api(api, write, maria):
    article = write("Printer jam", "Open the tray.")
    client = api(maria)
    html = client.get(f"/kb/articles/{article.pk}/export")
    assert html["Content-Type"].startswith("text/html") and b"Open the tray." in html.content
    pdf = client.get(f"/kb/articles/{article.pk}/export", {"format": "pdf"})
    assert pdf.content.startswith(b"%PDF")
    assert client.get(f"/kb/articles/{article.pk}/export", {"format": "doc"}).status_code == 422


def test_the_faq_through_the_api(api, alice, carol, printing, maria):
    created = api(alice).post(
        "/kb/faq", {"category_id": printing.pk, "question": "Toner?", "answer": "Shake it."}
    )
    entry = created.json()
    assert created.status_code == 201 and entry["published"] is False
    assert api(maria).get("/kb/faq").json() == []
    assert api(alice).patch(f"/kb/faq/{entry['id']}", {"published": True}).status_code == 403
    api(carol).patch(f"/kb/faq/{entry['id']}", {"published": True})
    assert [e["question"] for e in api(maria).get("/kb/faq").json()] == ["Toner?"]


def test_a_ticket_becomes_an_article_and_counts_as_solved(
    api, make_ticket, alice, maria, teams, write, printers
):
    ticket = make_ticket(acting_user=alice, requester=maria, team=teams["L1"])
    tickets.resolve(ticket, acting_user=alice, resolution="Replaced the roller.")
    created = api(alice).post(f"/kb/tickets/{ticket.number}/article", {"section_id": printers.pk})
    assert created.status_code == 201
    assert "Replaced the roller." in created.json()["body"]
    guide = write("Printer jam", "roller")
    solved = api(alice).post(f"/kb/tickets/{ticket.number}/solved-with", {"article_id": guide.pk})
    assert solved.json() == {"ticket": ticket.number, "article_id": guide.pk, "tickets_solved": 1}
    assert api(alice).get(f"/kb/articles/{guide.pk}").json()["tickets_solved"] == 1


def test_suggestions_for_a_ticket(api, make_ticket, alice, teams, write):
    write("Printer jam", "The printer jams on every page")
    ticket = make_ticket(acting_user=alice, team=teams["L1"], subject="Printer jams")
    body = api(alice).get(f"/kb/tickets/{ticket.number}/suggestions").json()
    assert [a["title"] for a in body["articles"]] == ["Printer jam"]
    assert body["similar_tickets"] == []


def test_categories_and_sections(api, carol, maria):
    category = api(carol).post("/kb/categories", {"name": "Network"}).json()
    api(carol).post(f"/kb/categories/{category['id']}/sections", {"name": "VPN"})
    assert api(carol).post("/kb/categories", {"name": "network"}).status_code == 409
    listed = api(maria).get("/kb/categories").json()
    assert [(c["name"], [s["name"] for s in c["sections"]]) for c in listed] == [
        ("Network", ["VPN"])
    ]


def test_a_publish_without_a_section_is_refused(api, carol):
    pk = api(carol).post("/kb/articles", {"title": "Unfiled"}).json()["id"]
    response = api(carol).post(f"/kb/articles/{pk}/status", {"status": "published"})
    assert response.status_code == 422
    assert Article.objects.get(pk=pk).status == ArticleStatus.DRAFT
