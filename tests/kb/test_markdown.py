"""Markdown becomes safe HTML: formatting kept, scripts and dangerous links gone."""

from __future__ import annotations

import pytest

from soporte.kb import markdown


def test_formatting_is_kept():
    html = markdown.render(
        "# Title\n\nSome **bold** and `code`.\n\n- one\n- two\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"
    )
    assert "<h1>Title</h1>" in html
    assert "<strong>bold</strong>" in html
    assert "<code>code</code>" in html
    assert "<li>one</li>" in html
    assert "<td>1</td>" in html


@pytest.mark.parametrize(
    ("text", "forbidden"),
    [
        pytest.param("<script>alert(1)</script>", ["<script", "alert(1)"], id="script"),
        pytest.param('<iframe src="https://evil.example"></iframe>', ["<iframe", "evil"],
                     id="iframe"),
        # The Markdown link is not made at all: its text stays, as harmless text.
        pytest.param("[click](javascript:alert(1))", ["<a", "href"], id="markdown link"),
        pytest.param('<a href="javascript:alert(1)">x</a>', ["javascript:"], id="html link"),
        pytest.param('<img src="x" onerror="alert(1)">', ["onerror"], id="event handler"),
        pytest.param("<style>body{display:none}</style>", ["<style", "display:none"],
                     id="style"),
        pytest.param('<a href="data:text/html,<script>">x</a>', ["data:"], id="data link"),
        pytest.param("<object data='x'></object><embed src='y'>", ["<object", "<embed"],
                     id="object and embed"),
    ],
)  # fmt: skip
def test_dangerous_markup_is_removed(text, forbidden):
    html = markdown.render(text)
    for piece in forbidden:
        assert piece not in html


def test_safe_links_stay_and_do_not_leak_the_referrer():
    html = markdown.render("[docs](https://docs.example/printers)")
    assert 'href="https://docs.example/printers"' in html
    assert "noopener" in html


def test_empty_text_renders_nothing():
    assert markdown.render("  \n ") == ""


def test_the_text_for_the_index_has_no_markup():
    assert markdown.to_text("## Steps\n\n1. Open **the tray**") == "Steps\n\nOpen the tray"


def test_a_diff_shows_changed_lines_with_context():
    old = "\n".join(f"line {n}" for n in range(1, 21))
    new = old.replace("line 10", "line ten")
    lines = markdown.diff(old, new, context=1)
    kinds = [(line.kind, line.text) for line in lines]
    assert kinds == [
        ("same", "line 9"),
        ("removed", "line 10"),
        ("added", "line ten"),
        ("same", "line 11"),
    ]
    assert lines[1].old == 10 and lines[2].new == 10


def test_a_diff_of_distant_changes_has_a_gap():
    old = "\n".join(f"line {n}" for n in range(1, 41))
    new = old.replace("line 2\n", "line two\n").replace("line 38", "line 38!")
    kinds = [line.kind for line in markdown.diff(old, new, context=1)]
    assert "gap" in kinds
