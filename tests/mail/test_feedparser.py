"""soporte.mail.feedparser gives the very messages the standard library's parser gives."""

from __future__ import annotations

from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest

from soporte.mail import feedparser

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "mail-samples"


def _shape(message) -> tuple:
    """Everything parsing decides: the text back, and each part's type, preamble,
    epilogue and defects."""
    return (
        message.as_string(),
        [
            (
                part.get_content_type(),
                part.preamble,
                part.epilogue,
                [type(defect).__name__ for defect in part.defects],
            )
            for part in message.walk()
        ],
    )


def _same_as_stdlib(data: bytes) -> None:
    for headersonly in (False, True):
        stock = BytesParser(policy=policy.compat32).parsebytes(data, headersonly=headersonly)
        ours = feedparser.parse_bytes(data, headersonly=headersonly)
        assert _shape(ours) == _shape(stock)


def test_the_fast_path_is_in_use_on_this_python():
    # False means the standard library's parser changed shape and the stock one runs:
    # correct, only slower; look at _copied_parsegen for the new shape.
    assert feedparser.FAST


def _nested(boundary: str) -> bytes:
    message = EmailMessage()
    message["Subject"] = "Printer"
    message.set_content("Plain text\n")
    message.add_alternative("<p>HTML</p>", subtype="html")
    message.add_attachment(b"%PDF-1.4 data", maintype="application", subtype="pdf")
    message.set_boundary(boundary)
    return message.as_bytes()


@pytest.mark.parametrize(
    "boundary",
    ["simple", "with.dots+plus(paren)?", "a*b[c]^$", "=_Part_1_2.3", "ends--"],
)
def test_boundaries_with_regular_expression_characters_split_the_same_parts(boundary):
    data = _nested(boundary)
    _same_as_stdlib(data)
    parts = [p.get_content_type() for p in feedparser.parse_bytes(data).walk()]
    assert parts == [
        "multipart/mixed",
        "multipart/alternative",
        "text/plain",
        "text/html",
        "application/pdf",
    ]


@pytest.mark.parametrize(
    "body",
    [
        # Boundary lines with trailing blanks, CRLF, a missing close, a close with no
        # newline, a line that only starts like the boundary, doubled boundaries.
        b"--XX \t\r\nContent-Type: text/plain\r\n\r\none\r\n--XX--",
        b"--XX\nContent-Type: text/plain\n\none\n--XXY not a boundary\n--XX\n--XX\n\ntwo\n",
        b"preamble\n--XX\n\none\n",
        b"--XX\n\none\n--XX--\nepilogue\n",
        b"--XX\r\n\r\none\r\n--XX--   \r\n",
    ],
)
def test_odd_boundary_lines_parse_the_same(body):
    _same_as_stdlib(b'Content-Type: multipart/mixed; boundary="XX"\nSubject: s\n\n' + body)


def test_the_shared_samples_parse_the_same():
    if not SAMPLES.is_dir():
        pytest.skip(f"{SAMPLES} is absent (the shared mail samples live outside the project)")
    samples = sorted(path for path in SAMPLES.glob("*.eml"))
    assert samples
    for path in samples:
        _same_as_stdlib(path.read_bytes())
