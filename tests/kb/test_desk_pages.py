"""The knowledge base in the agent workspace: the list, the editor, versions, the
workflow buttons, the FAQ and categories pages."""

from __future__ import annotations

import pytest
from django.test import Client

from soporte.kb import services
from soporte.kb.models import Article, ArticleStatus, Category, FaqEntry, Section

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk():
    def client_for(user) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return client_for


def _form(article: Article, **changes) -> dict:
    data = {
        "title": article.title,
        "body": article.body,
        "section": article.section_id or "",
        "visibility": article.visibility,
        "tags": "",
        "review_by": "",
        "note": "",
        "version": article.version,
    }
    data.update(changes)
    return data


@pytest.mark.parametrize(
    "path",
    ["/desk/kb/", "/desk/kb/new/", "/desk/kb/faq/", "/desk/kb/categories/"],
)
def test_requesters_are_kept_out_of_the_desk(desk, maria, path):
    assert desk(maria).get(path).status_code == 403


def test_signed_out_people_are_sent_to_sign_in(printers):
    response = Client().get("/desk/kb/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_the_list_takes_a_fixed_number_of_queries(desk, write, alice,
                                                  django_assert_max_num_queries):  # fmt: skip
    for n in range(15):
        write(f"Guide {n}", "text")
    client = desk(alice)
    with django_assert_max_num_queries(4):
        response = client.get("/desk/kb/")
    assert response.status_code == 200
    assert response.content.decode().count('data-article="') == 15


def test_the_list_filters_by_status_and_words(desk, write, alice):
    write("Printer jam", "Open the tray")
    write("Printer draft", "Open the lid", status=ArticleStatus.DRAFT)
    page = desk(alice).get("/desk/kb/", {"status": "draft"}).content.decode()
    assert "Printer draft" in page and "Printer jam" not in page
    page = desk(alice).get("/desk/kb/", {"q": "tray"}).content.decode()
    assert "Printer jam" in page and "Printer draft" not in page


def test_the_list_shows_reviews_that_are_due(desk, write, alice):
    from datetime import timedelta

    from django.utils import timezone

    write("Overdue", review_by=timezone.localdate() - timedelta(days=1))
    write("Fresh", review_by=timezone.localdate() + timedelta(days=10))
    page = desk(alice).get("/desk/kb/", {"review": "due"}).content.decode()
    assert "Overdue" in page and "Fresh" not in page


def test_an_agent_writes_an_article_from_the_editor(desk, alice, printers):
    response = desk(alice).post(
        "/desk/kb/new/",
        {"title": "Toner", "body": "Shake **it**.", "language": "es", "section": printers.pk,
         "visibility": "public", "tags": "toner, Printers", "review_by": "", "note": ""},
    )  # fmt: skip
    article = Article.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/desk/kb/{article.pk}/"
    assert (article.language, article.status, article.body_html) == (
        "es", "draft", "<p>Shake <strong>it</strong>.</p>\n",
    )  # fmt: skip
    assert sorted(tag.name for tag in article.tags.all()) == ["printers", "toner"]


def test_the_live_preview_renders_safe_html(desk, alice):
    response = desk(alice).post("/desk/kb/preview/", {"body": "**Hi** <script>x()</script>"},
                                headers={"HX-Request": "true"})  # fmt: skip
    assert response.status_code == 200
    assert b"<strong>Hi</strong>" in response.content and b"<script" not in response.content


def test_the_editor_saves_a_new_version(desk, write, alice, bob):
    article = write("Printer jam", "Open the tray", status=ArticleStatus.DRAFT)
    response = desk(bob).post(f"/desk/kb/{article.pk}/", _form(article, body="Open tray 2",
                                                                note="Which tray"))  # fmt: skip
    assert response.status_code == 302
    article.refresh_from_db()
    assert (article.body, article.version, article.last_editor) == ("Open tray 2", 2, bob)


def test_a_stale_edit_keeps_the_typed_text_and_says_why(desk, write, alice, bob):
    article = write("Printer jam", "Open the tray", status=ArticleStatus.DRAFT)
    stale = _form(article, body="Alice's text")
    services.update_article(article, acting_user=bob, body="Bob's text")
    response = desk(alice).post(f"/desk/kb/{article.pk}/", stale)
    assert response.status_code == 409
    assert b"Alice&#x27;s text" in response.content or b"Alice's text" in response.content
    assert b"saved by someone else" in response.content
    article.refresh_from_db()
    assert article.body == "Bob's text"


def test_an_agent_cannot_change_a_published_article_from_the_editor(desk, write, alice):
    article = write("Printer jam", "Open the tray")
    page = desk(alice).get(f"/desk/kb/{article.pk}/").content.decode()
    assert "<fieldset disabled>" in page
    response = desk(alice).post(f"/desk/kb/{article.pk}/", _form(article, body="Sneaky"))
    assert response.status_code == 403
    article.refresh_from_db()
    assert article.body == "Open the tray"


def test_the_workflow_buttons_are_those_the_person_may_press(desk, write, alice, bob):
    article = write("Printer jam", status=ArticleStatus.IN_REVIEW)  # Alice wrote it
    mine = desk(alice).get(f"/desk/kb/{article.pk}/").content.decode()
    assert 'data-status="published"' not in mine and 'data-status="draft"' in mine
    theirs = desk(bob).get(f"/desk/kb/{article.pk}/").content.decode()
    assert 'data-status="published"' in theirs
    response = desk(bob).post(f"/desk/kb/{article.pk}/status/", {"status": "published"})
    assert response.status_code == 302
    article.refresh_from_db()
    assert article.status == ArticleStatus.PUBLISHED


def test_versions_show_a_diff_and_restore(desk, write, alice, bob):
    article = write("Printer jam", "Open the tray\nPull the paper", status=ArticleStatus.DRAFT)
    services.update_article(article, acting_user=bob, body="Open the lid\nPull the paper")
    client = desk(alice)
    listing = client.get(f"/desk/kb/{article.pk}/versions/").content.decode()
    assert 'data-version="1"' in listing and 'data-version="2"' in listing
    diff = client.get(f"/desk/kb/{article.pk}/versions/2/").content.decode()
    assert 'class="kb-diff-removed"' in diff and "Open the tray" in diff
    assert 'class="kb-diff-added"' in diff and "Open the lid" in diff
    response = client.post(f"/desk/kb/{article.pk}/versions/1/restore/", {"version": 2})
    assert response.status_code == 302
    article.refresh_from_db()
    assert (article.body, article.version) == ("Open the tray\nPull the paper", 3)


def test_a_translation_opens_in_the_editor(desk, write, alice):
    article = write("Printer jam")
    response = desk(alice).post(f"/desk/kb/{article.pk}/translate/", {"language": "es"})
    spanish = Article.objects.get(language="es")
    assert response["Location"] == f"/desk/kb/{spanish.pk}/"
    page = desk(alice).get(f"/desk/kb/{article.pk}/").content.decode()
    assert f'href="/desk/kb/{spanish.pk}/"' in page


def test_supervisors_arrange_categories_and_sections(desk, alice, carol):
    assert desk(alice).post("/desk/kb/categories/", {"category-name": "Network"}).status_code == 403
    desk(carol).post("/desk/kb/categories/", {"category-name": "Network"})
    network = Category.objects.get(name="Network")
    desk(carol).post("/desk/kb/categories/", {"section-category": network.pk,
                                               "section-name": "VPN"})  # fmt: skip
    assert Section.objects.filter(category=network, name="VPN").exists()


def test_agents_write_faq_entries_on_the_desk(desk, alice, printing):
    response = desk(alice).post(
        "/desk/kb/faq/",
        {"category": printing.pk, "language": "en", "question": "Toner?", "answer": "Shake it.",
         "visibility": "public", "position": 0},
    )  # fmt: skip
    assert response.status_code == 302
    entry = FaqEntry.objects.get()
    assert (entry.question, entry.published) == ("Toner?", False)
