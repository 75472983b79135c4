"""Who reads which article, on the help center's pages and through the API, and in
which language."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import Client

from soporte.kb import policy, queries
from soporte.kb.models import ArticleStatus, Visibility

pytestmark = pytest.mark.django_db

PEOPLE = ("nobody", "maria", "marco", "pedro", "alice", "carol")


@pytest.fixture
def articles(write, acme):
    """One article of each kind, by title."""
    made = [
        write("Public guide", "for everyone"),
        write("Acme guide", "for acme", visibility=Visibility.ORGANIZATIONS, organizations=[acme]),
        write("Runbook", "for agents", visibility=Visibility.AGENTS),
        write("Draft guide", "not yet", status=ArticleStatus.DRAFT),
        write("In review guide", "almost", status=ArticleStatus.IN_REVIEW),
        write("Archived guide", "old", status=ArticleStatus.ARCHIVED),
    ]
    return {article.title: article for article in made}


READS = {
    #                 nobody maria marco pedro alice carol
    "Public guide":    (1,    1,    1,    1,    1,    1),
    "Acme guide":      (0,    1,    1,    0,    1,    1),
    "Runbook":         (0,    0,    0,    0,    1,    1),
    "Draft guide":     (0,    0,    0,    0,    1,    1),
    "In review guide": (0,    0,    0,    0,    1,    1),
    "Archived guide":  (0,    0,    0,    0,    1,    1),
}  # fmt: skip


def _person(request, name):
    return AnonymousUser() if name == "nobody" else request.getfixturevalue(name)


@pytest.mark.parametrize("name", PEOPLE)
def test_visible_articles_and_can_read_agree_for_everyone(request, articles, name):
    person = _person(request, name)
    listed = set(policy.visible_articles(person).values_list("title", flat=True))
    column = PEOPLE.index(name)
    expected = {title for title, row in READS.items() if row[column]}
    assert listed == expected
    for title, article in articles.items():
        assert policy.can_read(person, article) == (title in expected), title


@pytest.mark.parametrize("name", PEOPLE)
def test_the_article_page_answers_404_to_those_who_may_not_read_it(request, articles, name):
    person = _person(request, name)
    client = Client()
    if name != "nobody":
        client.force_login(person)
    column = PEOPLE.index(name)
    for title, article in articles.items():
        response = client.get(f"/help/articles/{article.pk}/")
        assert response.status_code == (200 if READS[title][column] else 404), title
        if response.status_code == 404:
            assert article.body.encode() not in response.content


@pytest.mark.parametrize("name", PEOPLE[1:])
def test_the_api_lists_and_reads_what_the_person_may_read(request, api, articles, name):
    person = _person(request, name)
    client = api(person)
    column = PEOPLE.index(name)
    listed = {item["title"] for item in client.get("/kb/articles", {"limit": 100}).json()["items"]}
    expected = {title for title, row in READS.items() if row[column]}
    assert listed == expected
    for title, article in articles.items():
        status = client.get(f"/kb/articles/{article.pk}").status_code
        assert status == (200 if title in expected else 404), title


def test_the_api_is_for_signed_in_people(api, articles):
    assert api().get("/kb/articles").status_code == 401


def test_the_help_center_home_lists_what_the_reader_may_read(articles, maria, pedro):
    client = Client()
    client.force_login(pedro)
    page = client.get("/help/").content.decode()
    assert "Public guide" in page and "Acme guide" not in page and "Runbook" not in page
    client.force_login(maria)
    assert "Acme guide" in client.get("/help/").content.decode()


def test_the_home_page_takes_a_fixed_number_of_queries(write, maria, django_assert_max_num_queries):
    for n in range(12):
        write(f"Guide {n}", "text")
    client = Client()
    client.force_login(maria)
    with django_assert_max_num_queries(8):
        assert client.get("/help/").status_code == 200


def test_an_article_page_counts_one_view_per_session(articles, maria):
    article = articles["Public guide"]
    client = Client()
    client.force_login(maria)
    client.get(f"/help/articles/{article.pk}/")
    client.get(f"/help/articles/{article.pk}/")
    other = Client()
    other.get(f"/help/articles/{article.pk}/")
    article.refresh_from_db()
    assert article.views == 2


def test_an_article_shows_its_sanitized_html(write, maria):
    article = write("Tricky", "Hello <script>alert(1)</script> **world**")
    client = Client()
    client.force_login(maria)
    page = client.get(f"/help/articles/{article.pk}/").content.decode()
    assert "<strong>world</strong>" in page
    assert "alert(1)" not in page


# -- languages --------------------------------------------------------------------------


@pytest.fixture
def bilingual(write):
    english = write("Reset your password", "Go to the account page.")
    spanish = write("Restablecer la contraseña", "Vaya a la cuenta.", language="es",
                    translation_of=english)  # fmt: skip
    return english, spanish


def test_the_home_page_shows_each_article_in_the_readers_language(bilingual, maria):
    client = Client()
    client.force_login(maria)
    assert "Reset your password" in client.get("/help/").content.decode()
    assert "Restablecer" not in client.get("/help/").content.decode()
    maria.language = "es"
    maria.save(update_fields=["language"])
    page = client.get("/help/").content.decode()
    assert "Restablecer la contraseña" in page and "Reset your password" not in page


def test_signed_out_readers_get_their_browsers_language(bilingual):
    page = Client(headers={"accept-language": "es"}).get("/help/").content.decode()
    assert "Restablecer la contraseña" in page


def test_an_article_links_to_its_other_languages(bilingual, maria):
    english, spanish = bilingual
    client = Client()
    client.force_login(maria)
    page = client.get(f"/help/articles/{english.pk}/").content.decode()
    assert f'href="/help/articles/{spanish.pk}/"' in page
    assert 'hreflang="es"' in page


def test_an_unpublished_translation_is_not_offered(write, maria):
    english = write("Reset your password", "text")
    write("Restablecer", "texto", language="es", translation_of=english,
          status=ArticleStatus.DRAFT)  # fmt: skip
    assert queries.variants(maria, english) == []
    assert queries.tree(maria, "es")[0].sections[0].articles == [english]


def test_an_article_only_in_the_other_language_is_still_listed(write, maria):
    only_spanish = write("Solo en español", "texto", language="es")
    assert queries.tree(maria, "en")[0].sections[0].articles == [only_spanish]


# -- exports ----------------------------------------------------------------------------


def test_an_article_exports_as_html_with_its_text(write, maria):
    article = write("Printer jam", "Open **tray 2**.")
    client = Client()
    client.force_login(maria)
    response = client.get(f"/help/articles/{article.pk}/export.html")
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="printer-jam.html"'
    html = response.content.decode()
    assert "<title>Printer jam</title>" in html and "<strong>tray 2</strong>" in html
    assert "<style>" in html and "<link" not in html  # self-contained


def test_an_article_exports_as_pdf(write, maria):
    article = write("Contraseña olvidada", "Pasos:\n\n1. Abra **la cuenta**\n2. Pulse “olvidé”")
    client = Client()
    client.force_login(maria)
    response = client.get(f"/help/articles/{article.pk}/export.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert _pages(response.content) == 1


def _pages(pdf: bytes) -> int:
    import re

    return len(re.findall(rb"/Type\s*/Page(?!s)\b", pdf))


def test_a_category_exports_as_a_manual_of_what_the_reader_may_read(write, acme, pedro, printing):
    write("Printer jam", "Open the tray.")
    write("Acme printers", "Acme only.", visibility=Visibility.ORGANIZATIONS, organizations=[acme])
    write("Runbook", "Agents only.", visibility=Visibility.AGENTS)
    client = Client()
    client.force_login(pedro)
    html = client.get(f"/help/categories/{printing.pk}/manual.html").content.decode()
    assert "Printer jam" in html and "Acme only" not in html and "Agents only" not in html
    pdf = client.get(f"/help/categories/{printing.pk}/manual.pdf").content
    assert pdf.startswith(b"%PDF")
    assert _pages(pdf) == 2  # the title page, and the one article Pedro may read


def test_an_unknown_export_format_is_404(write, maria):
    article = write("Printer jam")
    client = Client()
    client.force_login(maria)
    assert client.get(f"/help/articles/{article.pk}/export.docx").status_code == 404


def test_a_pdf_never_fetches_images(write, monkeypatch):
    import socket

    from soporte.kb import export

    def refuse(*args, **kwargs):
        raise AssertionError("the PDF tried to fetch something")

    article = write(
        "Pictures",
        "See ![the tray](https://images.example/tray.png) "
        '<img src="http://10.0.0.1/x.png" alt="inside">',
    )
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    assert export.to_pdf(export.Manual(article.title, "", [article])).startswith(b"%PDF")
    html = export._pdf_html(article)
    assert "<img" not in html and "[the tray]" in html and "[inside]" in html


def test_a_pdf_of_rich_text_renders(write):
    from soporte.kb import export

    article = write(
        "Everything",
        "# One\n\n## Two\n\n> quoted\n\n- a\n  - nested\n\n1. first\n\n```\ncode\n```\n\n"
        "| a | b |\n|---|---|\n| 1 | 2 |\n\n---\n\n<kbd>Ctrl</kbd> ~~old~~ <span>x</span> "
        "emoji 🖨️ and ñ, ü, €",
    )
    assert export.to_pdf(export.Manual(article.title, "", [article])).startswith(b"%PDF")


def test_without_unicode_fonts_a_pdf_falls_back_to_latin_1(write, monkeypatch):
    from soporte.kb import export

    monkeypatch.setattr(export, "FONT_DIRS", [])
    article = write("Contraseña “olvidada”", "Pasos — 1, 2 → 3")
    assert export.to_pdf(export.Manual(article.title, "", [article])).startswith(b"%PDF")
