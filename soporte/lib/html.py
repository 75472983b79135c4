"""Sanitize HTML from email and users (nh3, an allow-list) and turn text into safe HTML."""

from __future__ import annotations

import html
import re

import nh3

_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "col", "colgroup", "dd", "del",
    "div", "dl", "dt", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins",
    "kbd", "li", "ol", "p", "pre", "q", "s", "small", "span", "strong", "sub", "sup", "table",
    "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
}  # fmt: skip
_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "*": {"lang", "dir"},
}
# cid: keeps inline images of an email pointing at their attachment.
_SCHEMES = {"http", "https", "mailto", "tel", "cid"}
# Where lines end in the text of an HTML fragment, so "<p>a</p><p>b</p>" is not "ab".
_BLOCKS = re.compile(
    r"</?(?:p|div|li|tr|h[1-6]|blockquote|pre|table|ul|ol|dl|dt|dd|hr)\b[^>]*>", re.IGNORECASE
)
_LINE_BREAKS = re.compile(r"<br\b[^>]*>", re.IGNORECASE)
_CELL_ENDS = re.compile(r"</t[dh]\s*>", re.IGNORECASE)
_BLANK_LINES = re.compile(r"\n\s*\n\s*\n+")


def sanitize_html(value: str) -> str:
    """Keep formatting, drop scripts, styles, event handlers and dangerous URLs."""
    if not value:
        return ""
    return nh3.clean(
        value,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes=_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


def html_to_text(value: str) -> str:
    """The text content of an HTML fragment (tags dropped, entities decoded)."""
    value = _BLOCKS.sub(lambda match: "\n" + match.group(0) + "\n", value)
    value = _LINE_BREAKS.sub(lambda match: match.group(0) + "\n", value)
    value = _CELL_ENDS.sub(lambda match: match.group(0) + " ", value)
    text = html.unescape(nh3.clean(value, tags=set()))
    return _BLANK_LINES.sub("\n\n", text).strip()


def text_to_html(value: str) -> str:
    """Plain text as escaped HTML paragraphs, keeping line breaks."""
    paragraphs = [p for p in value.replace("\r\n", "\n").split("\n\n") if p.strip()]
    return "".join(
        "<p>" + html.escape(p.strip()).replace("\n", "<br>") + "</p>" for p in paragraphs
    )
