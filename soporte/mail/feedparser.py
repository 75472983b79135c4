"""The standard library's MIME parser (compat32), without its costliest step for bulk mail.

For each multipart, email.feedparser compiles a regular expression for the part's
boundary; boundaries are unique per message, so Python's pattern cache never helps and
compiling it was a fifth of parsing a typical message. Here the same parser (the very
code of FeedParser._parsegen) runs with a boundary matcher that gives the same matches
without a regular expression of its own. Should the standard library's code change
shape, the stock parser is used instead (FAST is then False).
"""

from __future__ import annotations

import re
import types
from email import feedparser
from email import policy as email_policy
from email.message import Message
from email.parser import BytesParser

_PREFIX = "(?P<sep>"
_SUFFIX = r")(?P<end>--)?(?P<ws>[ \t]*)(?P<linesep>\r\n|\r|\n)?$"
# What follows the separator in a boundary line, matched from the separator's end: with
# the literal separator checked first, the same matches as the stdlib's whole pattern.
_AFTER_SEPARATOR = re.compile(_SUFFIX[1:])


class _Boundary:
    """A compiled boundary pattern's `match`, for one separator ("--" + boundary)."""

    __slots__ = ("separator",)

    def __init__(self, separator: str):
        self.separator = separator

    def match(self, line: str) -> re.Match[str] | None:
        if not line.startswith(self.separator):
            return None
        return _AFTER_SEPARATOR.match(line, len(self.separator))


class _BoundaryRe:
    """The `re` that the copied _parsegen sees: its compile() is of a boundary pattern
    built as _PREFIX + escape(separator) + _SUFFIX (escape keeps it literal); anything
    else is the real module's."""

    @staticmethod
    def escape(text: str) -> str:
        return text

    @staticmethod
    def compile(pattern: str) -> _Boundary:
        return _Boundary(pattern[len(_PREFIX) : -len(_SUFFIX)])

    def __getattr__(self, name: str) -> object:
        return getattr(re, name)


def _copied_parsegen() -> types.FunctionType | None:
    stock = feedparser.FeedParser._parsegen  # type: ignore[attr-defined]  # private, read on purpose
    code = stock.__code__
    if _SUFFIX not in code.co_consts or _PREFIX not in code.co_consts:
        return None
    namespace = {**vars(feedparser), "re": _BoundaryRe()}
    return types.FunctionType(code, namespace, stock.__name__, stock.__defaults__)


_parsegen = _copied_parsegen()
FAST = _parsegen is not None


class _FeedParser(feedparser.FeedParser):
    if _parsegen is not None:
        _parsegen = _parsegen


_COMPAT = email_policy.compat32


def parse_bytes(data: bytes, *, headersonly: bool = False) -> Message:
    """BytesParser(policy=compat32).parsebytes(data, headersonly), the same message."""
    if not FAST:
        return BytesParser(policy=_COMPAT).parsebytes(data, headersonly=headersonly)
    parser = _FeedParser(policy=_COMPAT)
    if headersonly:
        parser._set_headersonly()  # type: ignore[attr-defined]  # as Parser.parse does
    # As BytesParser does: bytes as ASCII with surrogates, so no byte is lost.
    parser.feed(data.decode("ASCII", errors="surrogateescape"))
    return parser.close()
