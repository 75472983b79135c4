"""HTML from email and users: nh3 keeps formatting and drops anything that runs."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from soporte.lib.html import html_to_text, sanitize_html, text_to_html


def test_scripts_are_dropped_with_their_content():
    clean = sanitize_html("<p>Hi</p><script>alert('x')</script>")
    assert "script" not in clean
    assert "alert" not in clean
    assert clean == "<p>Hi</p>"


def test_style_blocks_and_attributes_are_dropped():
    clean = sanitize_html('<style>body{display:none}</style><p style="color:red">Hi</p>')
    assert clean == "<p>Hi</p>"


@pytest.mark.parametrize(
    "payload",
    [
        '<img src="x" onerror="alert(1)">',
        "<img src=x onerror=alert(1)>",
        '<p onclick="steal()">Hi</p>',
        '<a href="https://ok.example" onmouseover="x()">ok</a>',
        '<div onload="x()">x</div>',
    ],
)
def test_event_handlers_are_dropped(payload):
    clean = sanitize_html(payload)
    assert "on" not in clean.replace("noopener", "").replace("nofollow", "")
    assert "alert" not in clean
    assert "steal" not in clean


@pytest.mark.parametrize(
    "href",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        " javascript:alert(1)",
        "java\tscript:alert(1)",
        "java&#x09;script:alert(1)",
        "&#106;avascript:alert(1)",
        "vbscript:msgbox(1)",
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    ],
)
def test_dangerous_link_urls_are_dropped(href):
    clean = sanitize_html(f'<a href="{href}">click</a>')
    assert "href" not in clean
    assert "click" in clean


def test_data_urls_are_dropped_from_images():
    assert "src" not in sanitize_html('<img src="data:image/svg+xml;base64,PHN2Zz4=">')


@pytest.mark.parametrize(
    "dangerous",
    [
        '<iframe src="https://evil.example"></iframe>',
        '<object data="x.swf"></object>',
        '<embed src="x.swf">',
        '<form action="https://evil.example"><input name="password"></form>',
        '<meta http-equiv="refresh" content="0;url=https://evil.example">',
        '<base href="https://evil.example/">',
        '<link rel="stylesheet" href="https://evil.example/x.css">',
        "<svg><script>alert(1)</script></svg>",
    ],
)
def test_active_elements_are_dropped(dangerous):
    clean = sanitize_html(dangerous)
    for word in ("iframe", "object", "embed", "form", "input", "meta", "base", "link", "svg"):
        assert f"<{word}" not in clean
    assert "evil.example" not in clean
    assert "alert" not in clean


def test_formatting_is_kept():
    html = (
        "<h2>Steps</h2><p>Press <b>Ctrl</b>+<i>Alt</i> then <strong>Del</strong>, "
        "see <code>ipconfig</code>:</p><ol><li>one</li><li>two</li></ol>"
        "<blockquote>quoted</blockquote><pre>pre</pre><table><tbody><tr>"
        '<td colspan="2">cell</td></tr></tbody></table><br><hr>'
    )
    assert sanitize_html(html) == html


def test_safe_links_are_kept_and_get_a_safe_rel():
    clean = sanitize_html('<a href="https://kb.example/article/7" title="KB">KB 7</a>')
    assert clean == (
        '<a href="https://kb.example/article/7" title="KB" rel="noopener noreferrer nofollow">'
        "KB 7</a>"
    )


@pytest.mark.parametrize(
    "url", ["mailto:help@example.org", "tel:+34900000000", "http://example.org/"]
)
def test_mail_phone_and_web_links_are_kept(url):
    assert f'href="{url}"' in sanitize_html(f'<a href="{url}">x</a>')


def test_inline_email_images_keep_their_cid_url():
    clean = sanitize_html('<img src="cid:logo@mail" alt="logo">')
    assert clean == '<img src="cid:logo@mail" alt="logo">'


def test_comments_are_stripped():
    assert sanitize_html("<p>a<!-- secret --></p>") == "<p>a</p>"


def test_empty_input_gives_empty_output():
    assert sanitize_html("") == ""


@given(st.text(max_size=300))
def test_sanitized_html_never_contains_a_script_tag(value):
    clean = sanitize_html(value).lower()
    assert "<script" not in clean
    assert "javascript:" not in clean


@given(st.text(max_size=200))
def test_sanitizing_is_idempotent(value):
    once = sanitize_html(value)
    assert sanitize_html(once) == once


# -- text <-> html --------------------------------------------------------------------


def test_html_to_text_drops_tags_and_decodes_entities():
    assert html_to_text("<p>Tom &amp; Jerry &lt;3</p>") == "Tom & Jerry <3"


def test_html_to_text_drops_script_content():
    assert html_to_text("<script>alert(1)</script><p>Hello</p>") == "Hello"


def test_html_to_text_keeps_paragraphs_and_lines_apart():
    text = html_to_text("<p>Hello</p><p>World</p>line<br>two<ul><li>a</li><li>b</li></ul>")
    words = text.split()
    assert words == ["Hello", "World", "line", "two", "a", "b"]
    assert "Hello\n" in text


def test_text_to_html_escapes_and_keeps_line_breaks():
    html = text_to_html("Hi <b>there</b>\nline two\n\n\nnext & last")
    assert html == "<p>Hi &lt;b&gt;there&lt;/b&gt;<br>line two</p><p>next &amp; last</p>"


def test_text_to_html_of_blank_text_is_empty():
    assert text_to_html("   \n\n  ") == ""


@given(st.text(max_size=300))
def test_text_to_html_makes_no_markup_but_paragraphs_and_line_breaks(value):
    html = text_to_html(value)
    rest = html.replace("<p>", "").replace("</p>", "").replace("<br>", "")
    assert "<" not in rest
    assert ">" not in rest
