"""parse() on mutated mail: a ParsedMail whose text any database stores, or a
ParseError; never another exception and never the parser's own failure.

SOPORTE_FUZZ_EXAMPLES raises the number of cases per test (200 by default; the long
run uses 100,000).
"""

from __future__ import annotations

import base64
import os
import re
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from soporte.mail.parse import InternalParseError, ParseError, parse

from .messages import PDF, PNG, bounce, build, storage_problems

EXAMPLES = int(os.environ.get("SOPORTE_FUZZ_EXAMPLES", "200"))
SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "mail-samples"

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def check(raw: bytes) -> None:
    try:
        mail = parse(raw)
    except InternalParseError as error:
        raise AssertionError(str(error)) from error.__cause__
    except ParseError as error:
        assert str(error)
        return
    assert storage_problems(mail) == []
    assert mail.size == len(raw)


def _seeds() -> list[bytes]:
    forwarded = build(subject="Inner", attachments=[("a.pdf", PDF, "application/pdf")])
    seeds = [
        build(),
        build(body="Ñandú “ok” €", charset="windows-1252", encoding="quoted-printable"),
        build(body="Ñandú".encode("cp1252"), charset="utf-8", encoding="8bit"),
        build(body="Принтер", charset="koi8-r", encoding="base64"),
        build(
            body="See the logo",
            html='<p><img src="cid:logo@x"></p><script>x()</script>',
            attachments=[
                ("logo.png", PNG, "image/png", "logo@x"),
                ("Informe de situación.pdf", PDF, "application/pdf"),
                ("fwd", forwarded, "message/rfc822"),
            ],
        ),
        build(body=None, html="<html><head><title>t</title></head><p>Hola</p></html>"),
        build(
            headers={
                "Subject": b"=?utf-8?q?Se=C3?= =?utf-8?b?sWFs?= =?iso-8859-1?q?caf=E9?=",
                "From": "Jos\xe9 <jose@acme.example>".encode("latin-1"),
                "References": "<a@b> <c@d>",
                "Auto-Submitted": "auto-replied",
            }
        ),
        bounce(build(message_id="<orig@soporte.example>")),
        bounce(build(), headers_only=True),
        (
            b"From: maria@acme.example\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
            b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
            b"--b\r\nContent-Type: text/plain; charset=utf-8; format=flowed\r\n\r\n"
            b"wrapped \r\nline\r\n> quoted\r\n-- \r\nsig\r\n"
            b"--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment;"
            b" filename*0*=utf-8''Informe%20; filename*1*=situaci%C3%B3n.pdf\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.b64encode(PDF) + b"\r\n"
            b"--b\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            + base64.b64encode(build(subject="b64"))
            + b"\r\n--b\r\nContent-Type: text/calendar; method=REQUEST\r\n\r\nBEGIN:VCALENDAR\r\n"
            b"--b--\r\n"
        ),
    ]
    if SAMPLES.is_dir():
        seeds += [path.read_bytes() for path in sorted(SAMPLES.glob("*.eml"))]
    return seeds


SEEDS = _seeds()
TOKENS = [
    b"\x00", b"\r", b"\n", b"\r\n", b"\r\n\r\n", b"\r\n ", b"\t", b"=?", b"?=", b"=?utf-8?q?",
    b"=?utf-8?b?", b"=C3", b"=", b"--", b'"', b"'", b";", b":", b"<", b">", b"@", b"%", b"*",
    b"\\", b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xef\xbb\xbf", b"cid:", b"<head>",
    b"Content-Type: multipart/mixed; boundary=b\r\n", b"\r\n--b\r\n", b"\r\n--b--\r\n",
    b"Content-Type: message/rfc822\r\n\r\n", b"Content-Transfer-Encoding: base64\r\n",
    b"filename*0*=", b"filename*=x''%", b"begin 644 a\r\n", b"From ", b">From ",
]  # fmt: skip
CHARSETS = [
    b"utf-8", b"UTF8", b"us-ascii", b"iso-8859-1", b"iso-8859-15", b"windows-1252", b"utf-16",
    b"utf-16-le", b"utf-32", b"utf-7", b"shift_jis", b"iso-2022-jp", b"gb2312", b"big5",
    b"koi8-r", b"ks_c_5601-1987", b"x-unknown", b"unknown-8bit", b"rot13", b"zlib", b"hex",
    b"base64", b"idna", b"punycode", b"unicode_escape", b"undefined", b"", b'"', b"\xff",
    b"utf-8?q?", b"cp65001",
]  # fmt: skip
ENCODINGS = [b"base64", b"quoted-printable", b"7bit", b"8bit", b"binary", b"x-uuencode",
             b"BASE64", b"", b"garbage", b"\xff"]  # fmt: skip
TYPES = [
    b"text/plain", b"text/html", b"multipart/mixed", b"multipart/alternative",
    b"multipart/related", b"multipart/report; report-type=delivery-status", b"message/rfc822",
    b"message/delivery-status", b"message/global-delivery-status", b"text/rfc822-headers",
    b"application/octet-stream", b"image/png", b"text/calendar", b"x", b"/", b"text/",
]  # fmt: skip


def _position(draw, data: bytearray) -> int:
    return draw(st.integers(0, len(data)))


def flip(draw, data: bytearray) -> bytearray:
    for _ in range(draw(st.integers(1, 8))):
        if data:
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return data


def truncate(draw, data: bytearray) -> bytearray:
    return data[: _position(draw, data)]


def insert(draw, data: bytearray) -> bytearray:
    piece = draw(st.sampled_from(TOKENS) | st.binary(max_size=24))
    at = _position(draw, data)
    return data[:at] + piece * draw(st.integers(1, 3)) + data[at:]


def delete(draw, data: bytearray) -> bytearray:
    start = _position(draw, data)
    return data[:start] + data[start + draw(st.integers(1, 200)) :]


def duplicate_header(draw, data: bytearray) -> bytearray:
    end = data.find(b"\n\n") if b"\r\n\r\n" not in data else data.find(b"\r\n\r\n")
    head = bytes(data[: end if end > 0 else len(data)])
    lines = head.splitlines(keepends=True)
    if not lines:
        return data
    line = draw(st.sampled_from(lines))
    if not line.endswith(b"\n"):
        line += b"\r\n"
    at = sum(len(x) for x in lines[: draw(st.integers(0, len(lines)))])
    return data[:at] + line * draw(st.integers(1, 50)) + data[at:]


def change_boundary(draw, data: bytearray) -> bytearray:
    found = re.findall(rb'boundary="?([^";\r\n]+)', bytes(data))
    if not found:
        return data
    old = draw(st.sampled_from(found))
    new = draw(st.sampled_from([b"", b"-", b'"', b"b", b" x"]) | st.binary(max_size=12))
    if draw(st.booleans()):
        return bytearray(bytes(data).replace(old, new))
    return bytearray(bytes(data).replace(old, new, 1))


def change_charset(draw, data: bytearray) -> bytearray:
    return _replace_values(draw, data, rb"(charset=)\"?[^\";\r\n]*\"?", CHARSETS)


def change_encoding(draw, data: bytearray) -> bytearray:
    return _replace_values(draw, data, rb"(Content-Transfer-Encoding:[ \t]*)[^\r\n]*", ENCODINGS)


def change_type(draw, data: bytearray) -> bytearray:
    return _replace_values(draw, data, rb"(Content-Type:[ \t]*)[^;\r\n]*", TYPES)


def _replace_values(draw, data: bytearray, pattern: bytes, choices: list[bytes]) -> bytearray:
    matches = list(re.finditer(pattern, bytes(data), re.IGNORECASE))
    if not matches:
        return data
    match = draw(st.sampled_from(matches))
    value = match.group(1) + draw(st.sampled_from(choices))
    return data[: match.start()] + value + data[match.end() :]


MUTATIONS = [flip, truncate, insert, delete, duplicate_header, change_boundary,
             change_charset, change_encoding, change_type]  # fmt: skip


@st.composite
def mutated_mail(draw) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 5))):
        data = draw(st.sampled_from(MUTATIONS))(draw, data)
    return bytes(data)


@FUZZ
@given(mutated_mail())
def test_mutated_mail_parses_or_raises_parse_error(raw):
    check(raw)


@FUZZ
@given(st.binary(max_size=4096))
def test_random_bytes_parse_or_raise_parse_error(raw):
    check(raw)


@FUZZ
@given(
    subject=st.binary(max_size=200),
    sender=st.binary(max_size=120),
    ids=st.binary(max_size=120),
    body=st.binary(max_size=600),
    charset=st.sampled_from([c.decode("latin-1") for c in CHARSETS if c.isascii() and c]),
    encoding=st.sampled_from(["8bit", "base64", "quoted-printable"]),
    html=st.booleans(),
)
def test_random_headers_and_bodies_in_random_charsets(
    subject, sender, ids, body, charset, encoding, html
):
    headers = {
        "Subject": subject.replace(b"\r", b"").replace(b"\n", b""),
        "From": sender.replace(b"\r", b"").replace(b"\n", b""),
        "References": ids.replace(b"\r", b"").replace(b"\n", b""),
    }
    raw = build(
        headers=headers,
        body=None if html else body,
        html=body if html else None,
        charset=charset,
        encoding=encoding,
    )
    check(raw)


@FUZZ
@given(st.sampled_from(SEEDS), st.integers(0, 10_000))
def test_every_truncation_of_a_seed_parses_or_raises_parse_error(seed, cut):
    check(seed[: cut % (len(seed) + 1)])
