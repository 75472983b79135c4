"""Markdown to safe HTML, and to plain text for the search index. No Django here.

CommonMark (markdown-it-py) with tables and strikethrough; raw HTML in the Markdown is
allowed through the parser and then cleaned by nh3 with the same allow-list as mail
(soporte.lib.html.sanitize_html): scripts, iframes, styles, event handlers and
javascript: links never survive.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from functools import lru_cache

from markdown_it import MarkdownIt

from soporte.lib.html import html_to_text, sanitize_html


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


def render(text: str) -> str:
    """Markdown as sanitized HTML."""
    if not text or not text.strip():
        return ""
    return sanitize_html(_parser().render(text))


def to_text(text: str) -> str:
    """Markdown as the plain text a reader sees (for search and snippets)."""
    return html_to_text(render(text))


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "same", "added", "removed" or "gap"
    text: str
    old: int | None  # line numbers, 1-based
    new: int | None


def diff(old: str, new: str, *, context: int = 3) -> list[DiffLine]:
    """The lines that changed from `old` to `new`, with `context` unchanged lines around
    each change; a "gap" line stands for unchanged lines left out."""
    a, b = old.splitlines(), new.splitlines()
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    lines: list[DiffLine] = []
    for group in matcher.get_grouped_opcodes(context):
        if lines:
            lines.append(DiffLine("gap", "…", None, None))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                lines += [DiffLine("same", a[i], i + 1, j1 + i - i1 + 1) for i in range(i1, i2)]
                continue
            if tag in ("replace", "delete"):
                lines += [DiffLine("removed", a[i], i + 1, None) for i in range(i1, i2)]
            if tag in ("replace", "insert"):
                lines += [DiffLine("added", b[j], None, j + 1) for j in range(j1, j2)]
    return lines


def unified_diff(old: str, new: str, old_name: str, new_name: str) -> str:
    """The change as a unified diff (for the API)."""
    lines = difflib.unified_diff(
        old.splitlines(), new.splitlines(), fromfile=old_name, tofile=new_name, lineterm=""
    )
    text = "\n".join(lines)
    return text + "\n" if text else ""
