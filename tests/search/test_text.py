"""The pure text pipeline: folding, stemming in two languages, queries, snippets."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from soporte.search.text import (
    MAX_WORD,
    STOPWORDS,
    fold,
    fts5_match,
    guess_language,
    index_text,
    parse_query,
    snippet,
    stems,
    words,
)


def matches(query_text: str, document_text: str) -> bool:
    """What both backends do: every query word has a stem among the document's stems."""
    indexed = set(index_text(document_text).split())
    query = parse_query(query_text)
    return bool(query) and all(indexed.intersection(term) for term in query.terms)


@pytest.mark.parametrize(
    ("query", "document"),
    [
        ("impresora", "Las impresoras del piso 2 no imprimen"),
        ("impresoras", "La impresora no imprime"),
        ("contrasena", "Olvidé mi contraseña"),
        ("CONTRASEÑA", "olvidé mi contraseña"),
        ("contraseña", "CONTRASENA CADUCADA"),
        ("printers", "The printer is jammed"),
        ("printer", "All printers are offline"),
        ("conexión", "sin conexion a la red"),
        ("Straße", "strasse"),
        ("0x80070005", "Windows Update fails with 0x80070005"),
    ],
)
def test_a_word_finds_its_other_forms(query, document):
    assert matches(query, document)


@pytest.mark.parametrize(
    ("query", "document"),
    [
        ("impresora", "The printer is jammed"),
        ("vpn", "La impresora no imprime"),
        ("printer toner", "The printer is jammed"),
    ],
)
def test_unrelated_words_do_not_match(query, document):
    assert not matches(query, document)


def test_folding_lowers_case_and_drops_accents():
    assert fold("CONTRASEÑA Canción Ñandú") == "contrasena cancion nandu"
    assert words("¿Dónde está_el «archivo»?") == ["donde", "esta", "el", "archivo"]


def test_each_word_gets_its_english_and_spanish_stem():
    assert stems("impresoras") == ("impresora", "impresor")
    assert stems("printer") == ("printer", "print")
    assert stems("vpn") == ("vpn",)
    assert stems("win10") == ("win10",)


def test_stopwords_are_not_searched_for():
    query = parse_query("the printer of la oficina de ventas")
    assert query.words == ("printer", "oficina", "ventas")
    assert not parse_query("de la the")


@pytest.mark.parametrize(
    "text",
    [
        '"printer',
        "printer*",
        "-printer",
        "printer -jam",
        "NEAR(printer jam)",
        "printer NEAR/2 jam",
        "(printer",
        "title:printer",
        "body:jam OR rowid:1",
        "printer AND",
        "NOT printer",
        "'; DROP TABLE search_document; --",
        "^printer",
        "printer + jam",
        "{printer}",
        "printer:*",
        "a & b | !c <-> d",
        'print"er',
        "\\x00\x00",
    ],
)
def test_query_syntax_is_never_passed_through(text):
    expression = fts5_match(parse_query(text))
    # Only quoted stems joined by AND / OR in parentheses.
    assert re.fullmatch(r'(\("[a-z0-9]+"( OR "[a-z0-9]+")*\)( AND )?)*', expression), expression


@given(st.text(max_size=300))
def test_any_text_parses_into_quoted_words(text):
    query = parse_query(text)
    expression = fts5_match(query)
    assert expression.count('"') == 2 * sum(len(term) for term in query.terms)


def test_a_snippet_escapes_the_text_and_marks_the_hits():
    html = snippet(
        'Hola: la <b>impresora</b> "grande" no imprime & las impresoras nuevas tampoco.',
        parse_query("impresora"),
    )
    assert html == (
        "Hola: la &lt;b&gt;<mark>impresora</mark>&lt;/b&gt; &quot;grande&quot; no imprime "
        "&amp; las <mark>impresoras</mark> nuevas tampoco."
    )


def test_a_snippet_starts_near_the_first_hit_of_a_long_text():
    text = " ".join(f"word{i}" for i in range(200)) + " the printer jams " + "filler " * 100
    html = snippet(text, parse_query("printer"), size=10)
    assert html.startswith("…") and html.endswith(" …")
    assert "<mark>printer</mark>" in html
    assert len(html) < 150


def test_a_snippet_without_hits_is_the_start_of_the_text():
    assert snippet("<i>hi</i>\n\nthere", parse_query("printer")) == "&lt;i&gt;hi&lt;/i&gt; there"


@given(st.text(max_size=200), st.text(max_size=40))
def test_a_snippet_never_holds_markup_other_than_mark(text, query):
    html = snippet(text, parse_query(query))
    assert "<" not in html.replace("<mark>", "").replace("</mark>", "")


def _indexed_word_by_word(text: str) -> str:
    """index_text as its docstring says: the whole text folded and cut into words, the
    stems of each word kept unless it is a stopword or overlong."""
    kept = [word for word in words(text) if len(word) <= MAX_WORD and word not in STOPWORDS]
    return " ".join(" ".join(stems(word)) for word in kept)


@pytest.mark.parametrize(
    "text",
    [
        "Canciones cancio\u0301nes CAFE\u0301 \u0301cafe",  # accents composed, decomposed, stray
        "ΣΟΦΙΑ σοφιας ΑΣ",  # Greek capital and final sigma
        "½ x²\u00a0y\u2003z\u3000全角 ＡＢＣ",  # compatibility forms, odd spaces
        "\ufdfa and \ufb01le",  # ligatures that decompose into several words
        "foo_bar, baz-qux.\tline\nnext\x1cgroup\x85line\u2028sep",
        "Straße İstanbul ǅemal",
        "the a la de " + "x" * 61 + " win10",
        "",
    ],
)
def test_a_text_is_indexed_as_folding_it_whole_would_index_it(text):
    assert index_text(text) == _indexed_word_by_word(text)


@given(st.text(max_size=300))
def test_any_text_is_indexed_as_folding_it_whole_would_index_it(text):
    """index_text works token by token, each whitespace-separated token on its own."""
    assert index_text(text) == _indexed_word_by_word(text)


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Hola, la impresora del segundo piso no imprime y el correo está caído.", "es"),
        ("ESTÁ CAÍDO EL SERVIDOR DESDE LAS NUEVE, POR FAVOR, ¿QUÉ HAGO CON LOS ARCHIVOS?", "es"),
        ("Hello, the printer on the second floor does not print and my email is down.", "en"),
        # Too few common words, or both languages alike: no guess.
        ("VPN down", ""),
        ("ok gracias", ""),
        ("The VPN no funciona y the printer está down with the cable de red", ""),
        ("", ""),
    ],
)
def test_the_language_is_guessed_only_when_the_common_words_clearly_say_it(text, language):
    assert guess_language(text) == language


def test_the_guess_reads_only_the_start_of_a_long_text():
    spanish = "el servidor no responde y los usuarios de la oficina " * 20  # > GUESS_CHARS
    assert guess_language(spanish + "the and of with " * 2000) == "es"
