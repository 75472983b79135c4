"""Raw email bytes -> ParsedMail. Pure: no Django, no I/O, never trusts the input.

The stdlib parser (compat32: it stores header values raw, where policy.default would
build header objects the code below never reads) finds the structure; the few headers
that need it (From, To, Cc, Subject) are decoded with policy.default's header classes
unless they are plain ASCII; everything else goes through lenient decoders of our own,
because mail in the wild is mislabelled: a part declared UTF-8 that is windows-1252, an
encoded word split in the middle of a character, raw 8-bit headers. Text is never
dropped for being badly encoded: undecodable bytes fall back to windows-1252, one by one.
Every str field is free of NUL characters and of lone surrogates, so any database
accepts it.
"""

from __future__ import annotations

import base64
import codecs
import copy
import functools
import mimetypes
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy as email_policy
from email.headerregistry import BaseHeader, HeaderRegistry
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime
from typing import Any, ClassVar
from urllib.parse import unquote, unquote_to_bytes

from soporte.lib.files import safe_filename
from soporte.lib.html import html_to_text, sanitize_html

from .feedparser import parse_bytes

__all__ = [
    "InternalParseError",
    "ParseError",
    "ParsedAttachment",
    "ParsedMail",
    "parse",
]

# Longer ids are cut: the same cut applies to the id we store and to the references of
# a reply, so threading still matches.
MAX_ID_LENGTH = 255
# Deeper MIME nesting than this is never legitimate; deeper parts are ignored.
MAX_DEPTH = 40
# At least one of these makes the bytes an email; "Received:" alone is a truncated one.
_MESSAGE_HEADERS = frozenset(
    {
        "from", "sender", "reply-to", "to", "cc", "subject", "date", "message-id",
        "in-reply-to", "references", "mime-version", "content-type",
    }
)  # fmt: skip


@dataclass(frozen=True)
class ParsedAttachment:
    filename: str  # safe_filename()'d, never empty
    content_type: str  # "type/subtype", lower case
    payload: bytes
    content_id: str  # without <>, "" if none
    inline: bool  # True when the HTML body shows it (an <img src="cid:...">)


@dataclass(frozen=True)
class AuthenticationResults:
    server: str  # the authserv-id, lower case
    results: tuple[tuple[str, str], ...]  # (method, result), lower case: ("dmarc", "fail")

    def result(self, method: str) -> str:
        """The first result reported for `method`, "" when there is none."""
        return next((result for name, result in self.results if name == method), "")


@dataclass(frozen=True)
class ParsedMail:
    message_id: str  # without <>, "" if missing
    in_reply_to: str  # the first id, without <>
    references: tuple[str, ...]  # ids without <>, in order, without repeats
    subject: str  # decoded, whitespace collapsed, "" if none
    from_name: str
    from_address: str  # lower-cased addr-spec, "" if unparseable
    reply_to: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    date: datetime | None  # aware
    text: str  # text/plain, else the text of the HTML; lines end in "\n"
    html: str  # sanitized
    attachments: tuple[ParsedAttachment, ...]
    is_auto_reply: bool  # never answer it automatically
    is_bounce: bool  # a delivery status notification
    bounced_message_id: str  # of the message that bounced, "" otherwise
    size: int  # len(raw)
    # Why is_auto_reply is set, e.g. "precedence: bulk"; "" when it is not.
    auto_reply_reason: str = ""
    # For a bounce: the first "Action:" of its report (failed, delayed, delivered,
    # relayed, expanded) and the recipients it reports on.
    bounce_action: str = ""
    bounced_recipients: tuple[str, ...] = ()
    # The languages the sender's client declared (Content-Language, then
    # Accept-Language), as lower-case primary tags in order: ("es", "en").
    languages: tuple[str, ...] = ()
    # Each Authentication-Results header (RFC 8601), topmost first: who checked, and the
    # result of each method. Facts only: which server to believe is the caller's choice.
    authentication: tuple[AuthenticationResults, ...] = ()


class ParseError(ValueError):
    """The bytes are not a usable email; str(error) says why (for the quarantine)."""


class InternalParseError(ParseError):
    """The parser failed on these bytes: a bug to fix. The message is quarantined like
    any other unparseable one, so it can be retried once the parser is fixed."""


def parse(raw: bytes) -> ParsedMail:
    """Parse an RFC 5322 message. Raises ParseError when the bytes are not an email."""
    data = bytes(raw)
    try:
        return _parse(data)
    except ParseError:
        raise
    except RecursionError as error:
        raise ParseError("the message is nested too deeply to read") from error
    except Exception as error:
        raise InternalParseError(f"the parser failed: {type(error).__name__}: {error}") from error


# -- the message --------------------------------------------------------------------


_COMPAT = email_policy.compat32


class _HeaderFactory(HeaderRegistry):
    """policy.default's header factory, made fast enough for bulk mail: the header
    classes are made once (the stdlib makes a new class on every call), and within one
    message each header value is parsed once (the parser reads Content-Type several
    times per part). Header objects are immutable, so sharing them is safe."""

    _classes: ClassVar[dict[type, type]] = {}

    def __init__(self) -> None:
        super().__init__()
        self._parsed: dict[tuple[str, str], Any] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        cls = self.registry.get(name.lower(), self.default_class)
        made = self._classes.get(cls)
        if made is None:
            made = self._classes[cls] = type("_" + cls.__name__, (cls, self.base_class), {})
        return made

    def __call__(self, name: str, value: str) -> BaseHeader:
        key = (name.lower(), value)
        header = self._parsed.get(key)
        if header is None:
            header = self._parsed[key] = super().__call__(name, value)
        return header


def _parse(data: bytes) -> ParsedMail:
    """1. Parse the structure (compat32); 2. refuse what has no email headers; 3. read
    the headers; 4. walk the parts for bodies and attachments; 5. recognise
    auto-replies and bounces."""
    if not data.strip():
        raise ParseError("the message is empty")
    # compat32 splits the same structure as policy.default (both feed the stdlib
    # FeedParser), but without parsing each part's headers into objects on the way,
    # a third of the parse time; every header is read raw below.
    message: Message = parse_bytes(data)
    headers = _Headers(message)
    if not headers.names & _MESSAGE_HEADERS:
        if not headers.names:
            raise ParseError("no email headers: the bytes do not start with a header section")
        raise ParseError("no email headers (From, To, Subject, Date, Message-ID...) found")

    senders = _addresses(headers, "from") or _addresses(headers, "sender")
    from_name, from_address = senders[0] if senders else ("", "")
    reply_to = _addresses(headers, "reply-to")
    content_type, params = _content_type(message)

    body = _Body(linesep=b"\r\n" if b"\r\n" in data[:4096] else b"\n")
    _walk(message, body, depth=0)
    html_source = "\n".join(body.html)
    text = "\n\n".join(_trim(t) for t in body.text if t.strip())
    if not text.strip() and html_source:
        text = html_to_text(_without_head(html_source))
    cids = _referenced_cids(html_source)
    attachments = tuple(
        ParsedAttachment(
            filename=a.filename,
            content_type=a.content_type,
            payload=a.payload,
            content_id=a.content_id,
            inline=bool(a.content_id) and a.content_id.lower() in cids,
        )
        for a in body.attachments
    )

    report_type = params.get("report-type", "").lower()
    is_bounce = (content_type == "multipart/report" and report_type == "delivery-status") or (
        _is_mailer_daemon(from_address) and bool(body.delivery_status)
    )
    status = "\n".join(body.delivery_status)
    reason = _clean(_text_of(_auto_reply_reason(headers, from_address, content_type, report_type)))
    return ParsedMail(
        message_id=_first_id(headers.get("message-id")),
        in_reply_to=_first_id(headers.get("in-reply-to")),
        references=_ids(" ".join(headers.get_all("references"))),
        subject=_collapse(_unstructured(headers, "subject")),
        from_name=from_name,
        from_address=from_address,
        reply_to=reply_to[0][1] if reply_to else "",
        to=_unique(address for _name, address in _addresses(headers, "to")),
        cc=_unique(address for _name, address in _addresses(headers, "cc")),
        date=_date(headers.get("date")),
        text=_clean(_trim(text)),
        html=_clean(sanitize_html(_without_head(html_source))).strip(),
        attachments=attachments,
        is_auto_reply=bool(reason),
        is_bounce=is_bounce,
        bounced_message_id=(body.original_ids[0] if body.original_ids else "") if is_bounce else "",
        size=len(data),
        auto_reply_reason=reason,
        bounce_action=_dsn_field(status, "action").lower() if is_bounce else "",
        bounced_recipients=_dsn_recipients(status) if is_bounce else (),
        languages=_languages(headers),
        authentication=tuple(map(_authentication, headers.get_all("authentication-results"))),
    )


_LANGUAGE_TAG = re.compile(r"[a-z]{2,3}(?=$|[-_;])")


def _languages(headers: _Headers) -> tuple[str, ...]:
    """The primary tags, Content-Language first: "es-ES, en-US;q=0.8" -> ("es", "en")."""
    said = ",".join(headers.get_all("content-language") + headers.get_all("accept-language"))
    tags = (_LANGUAGE_TAG.match(tag.strip().lower()) for tag in said.split(","))
    return _unique(tag.group() for tag in tags if tag)


_COMMENT = re.compile(r"\([^()]*\)")
_RESULT = re.compile(r"([a-z0-9-]+)(?:/\d+)?\s*=\s*([a-z]+)")


def _authentication(value: str) -> AuthenticationResults:
    """One Authentication-Results header: "mx.example; dkim=pass header.d=acme.example;
    spf=fail (sender not allowed) smtp.mailfrom=..." -> its server and results."""
    text = _clean(_unfold(value)).lower()
    for _ in range(5):  # comments may nest; a few passes take them all
        text = _COMMENT.sub(" ", text)
    server, *resinfo = text.split(";")
    results = [_RESULT.match(part.strip()) for part in resinfo]
    return AuthenticationResults(
        server=(server.split() or [""])[0],
        results=tuple((found.group(1), found.group(2)) for found in results if found),
    )


class _Headers:
    """Raw header values by lower-cased name, as the parser found them (not decoded)."""

    def __init__(self, part: Message, factory: _HeaderFactory | None = None):
        self.factory = factory or _HeaderFactory()
        self._values: dict[str, list[str]] = {}
        for name, value in part.raw_items():
            key = _clean(str(name)).strip().lower()
            self._values.setdefault(key, []).append(value if isinstance(value, str) else "")
        self.names = frozenset(self._values)

    def get(self, name: str) -> str:
        values = self._values.get(name)
        return values[0] if values else ""

    def get_all(self, name: str) -> list[str]:
        return self._values.get(name, [])

    def __contains__(self, name: str) -> bool:
        return name in self._values


# -- the parts ----------------------------------------------------------------------


@dataclass
class _Attachment:
    filename: str
    content_type: str
    payload: bytes
    content_id: str


@dataclass
class _Body:
    linesep: bytes
    text: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    attachments: list[_Attachment] = field(default_factory=list)
    delivery_status: list[str] = field(default_factory=list)
    # Message-IDs of the messages enclosed whole or as headers (a bounce's original).
    original_ids: list[str] = field(default_factory=list)

    def child(self) -> _Body:
        return _Body(linesep=self.linesep)

    def absorb(self, other: _Body, *, text: bool, html: bool) -> None:
        if text:
            self.text.extend(other.text)
        if html:
            self.html.extend(other.html)
        self.attachments.extend(other.attachments)
        self.delivery_status.extend(other.delivery_status)
        self.original_ids.extend(other.original_ids)


_DSN_TYPES = frozenset({"message/delivery-status", "message/global-delivery-status"})
# The headers of a bounced message (message/rfc822-headers and message/global-headers
# are read as messages, and handled as such).
_HEADER_TYPES = frozenset({"text/rfc822-headers"})


def _walk(part: Message, body: _Body, depth: int) -> None:
    """Collect the bodies and attachments of a part and of the parts inside it."""
    if depth > MAX_DEPTH:
        return
    content_type, params = _content_type(part)
    if part.is_multipart():
        children = [p for p in part.get_payload() if isinstance(p, Message)]
        if content_type in _DSN_TYPES:
            _add_delivery_status(part, children, body)
        elif content_type.startswith("message/"):
            if children:
                _add_enclosed_message(part, children[0], body)
        elif content_type == "multipart/alternative":
            _walk_alternative(children, body, depth)
        else:
            for child in children:
                _walk(child, body, depth + 1)
        return
    if content_type.startswith("multipart/"):
        # A multipart the parser could not split (no boundary): read it as text.
        content_type = "text/plain"
    _add_leaf(part, content_type, params, body, top=depth == 0)


def _walk_alternative(children: list[Message], body: _Body, depth: int) -> None:
    """The alternatives say the same thing: the first with text gives the text, the
    last with HTML (the richest) the HTML; attachments of all of them are kept."""
    results = []
    for child in children:
        result = body.child()
        _walk(child, result, depth + 1)
        results.append(result)
    with_text = [r for r in results if any(t.strip() for t in r.text)]
    with_html = [r for r in results if any(h.strip() for h in r.html)]
    for result in results:
        body.absorb(
            result,
            text=bool(with_text) and result is with_text[0],
            html=bool(with_html) and result is with_html[-1],
        )


def _add_leaf(
    part: Message, content_type: str, params: dict[str, str], body: _Body, *, top: bool
) -> None:
    disposition, disposition_params = _parameters(_raw_header(part, "content-disposition"))
    filename = _decode_parameter(disposition_params.get("filename") or params.get("name") or "")
    data = _payload_bytes(part)
    is_attachment = disposition == "attachment" or (bool(filename.strip()) and not top)
    if content_type in ("text/plain", "text/html") and not is_attachment:
        charset = params.get("charset")
        if content_type == "text/html":
            body.html.append(_decode(data, charset or _meta_charset(data)))
        else:
            text = _decode(data, charset)
            if params.get("format", "").lower() == "flowed":
                text = _unflow(text, delsp=params.get("delsp", "").lower() == "yes")
            body.text.append(text)
        return
    if content_type in _HEADER_TYPES:
        enclosed = parse_bytes(data, headersonly=True)
        found = _first_id(_Headers(enclosed).get("message-id"))
        if found:
            body.original_ids.append(found)
    body.attachments.append(
        _Attachment(
            filename=_attachment_name(filename, content_type),
            content_type=content_type,
            payload=data,
            content_id=_content_id(part),
        )
    )


def _add_enclosed_message(part: Message, enclosed: Message, body: _Body) -> None:
    """A forwarded or bounced message: kept whole as a .eml attachment."""
    data = _message_bytes(enclosed, body.linesep)
    encoding = _raw_header(part, "content-transfer-encoding").strip().lower()
    if encoding in ("base64", "quoted-printable"):
        # Not allowed for message/rfc822, but sent anyway: the parser read the encoded
        # text as a message without headers, so decode it and read it again.
        holder = Message()
        holder["Content-Transfer-Encoding"] = encoding
        holder.set_payload(data.lstrip(b"\r\n").decode("ascii", "surrogateescape"))
        data = _payload_bytes(holder)
        enclosed = parse_bytes(data)
    headers = _Headers(enclosed)
    found = _first_id(headers.get("message-id"))
    if found:
        body.original_ids.append(found)
    _disposition, disposition_params = _parameters(_raw_header(part, "content-disposition"))
    _content, params = _content_type(part)
    name = _decode_parameter(disposition_params.get("filename") or params.get("name") or "")
    if not name.strip():
        name = _collapse(_unstructured(headers, "subject"))[:100] or "forwarded-message"
    if not name.lower().endswith(".eml"):
        name += ".eml"
    body.attachments.append(
        _Attachment(safe_filename(name), "message/rfc822", data, _content_id(part))
    )


def _add_delivery_status(part: Message, blocks: list[Message], body: _Body) -> None:
    """The machine-readable report of a DSN: a list of header blocks."""
    lines = []
    for block in blocks:
        for name, value in block.raw_items():
            lines.append(f"{name}: {_unfold(value) if isinstance(value, str) else ''}")
        # message/global-delivery-status is read as one message: its other blocks are
        # that message's body.
        rest = b"" if block.is_multipart() else _payload_bytes(block).strip(b"\r\n")
        lines.append(_decode(rest, None) + "\n" if rest.strip() else "")
    status = _clean(_decode(_to_bytes("\n".join(lines)), None))
    body.delivery_status.append(status)
    body.attachments.append(
        _Attachment(
            filename="delivery-status.txt",
            content_type="message/delivery-status",
            payload=status.encode("utf-8"),
            content_id=_content_id(part),
        )
    )


def _payload_bytes(part: Message) -> bytes:
    """The part's content with its transfer encoding undone."""
    try:
        data = part.get_payload(decode=True)
    except Exception:
        try:
            data = _compat(part).get_payload(decode=True)
        except Exception:
            data = None  # a part without any payload at all
    return data if isinstance(data, bytes) else b""


def _compat(part: Message) -> Message:
    """A view of one part that reads its headers with compat32 (no parsing)."""
    view = copy.copy(part)
    view.policy = _COMPAT
    return view


def _message_bytes(message: Message, linesep: bytes) -> bytes:
    """A parsed message as bytes again: headers and encoded bodies as received. (The
    stdlib generator re-derives boundaries and raises on some it parsed itself.)"""
    out = bytearray()
    for name, value in message.raw_items():
        out += _to_bytes(f"{name}: {value if isinstance(value, str) else ''}") + linesep
    out += linesep
    if not message.is_multipart():
        # The payload as the parser stored it (get_payload() would decode 8-bit text).
        payload = getattr(message, "_payload", None)
        if isinstance(payload, str):
            out += _to_bytes(payload)
        elif isinstance(payload, bytes):
            out += payload
        return bytes(out)
    children = [p for p in message.get_payload() if isinstance(p, Message)]
    content_type, params = _content_type(message)
    if not content_type.startswith("multipart/"):
        for child in children:  # message/rfc822, or the blocks of a delivery report
            out += _message_bytes(child, linesep)
        return bytes(out)
    # The boundary the (raw) Content-Type written above declares.
    boundary = _to_bytes(params.get("boundary", "")) or b"=_boundary"
    if isinstance(message.preamble, str):
        out += _to_bytes(message.preamble) + linesep
    for child in children:
        out += b"--" + boundary + linesep + _message_bytes(child, linesep) + linesep
    out += b"--" + boundary + b"--" + linesep
    if isinstance(message.epilogue, str):
        out += _to_bytes(message.epilogue)
    return bytes(out)


def _content_type(part: Message) -> tuple[str, dict[str, str]]:
    raw = _raw_header(part, "content-type")
    value, params = _parameters(raw)
    match = _MIME_TYPE.match(value)
    if match:
        return match.group(0).lower(), params
    try:
        default = part.get_default_type()
    except Exception:
        default = "text/plain"
    return default, params


_MIME_TYPE = re.compile(r"[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+", re.IGNORECASE)


def _raw_header(part: Message, name: str) -> str:
    for key, value in part.raw_items():
        if isinstance(key, str) and key.strip().lower() == name:
            return _unfold(value) if isinstance(value, str) else ""
    return ""


def _content_id(part: Message) -> str:
    value = _clean(_text_of(_raw_header(part, "content-id"))).strip()
    return value.strip("<>").strip()[:MAX_ID_LENGTH]


def _attachment_name(filename: str, content_type: str) -> str:
    name = _clean(filename).strip()
    if not name:
        name = _DEFAULT_NAMES.get(content_type, "")
    if not name:
        stem = "image" if content_type.startswith("image/") else "attachment"
        name = stem + (_EXTENSIONS.get(content_type) or _guess_extension(content_type))
    return safe_filename(name)


_DEFAULT_NAMES = {
    "text/calendar": "invite.ics",
    "application/ics": "invite.ics",
    "text/rfc822-headers": "original-headers.txt",
    "message/rfc822-headers": "original-headers.txt",
    "message/global-headers": "original-headers.txt",
    "message/delivery-status": "delivery-status.txt",
    "message/global-delivery-status": "delivery-status.txt",
    "message/disposition-notification": "disposition-notification.txt",
    "application/pgp-signature": "signature.asc",
    "application/pgp-encrypted": "pgp-encrypted.asc",
    "application/pkcs7-signature": "smime.p7s",
    "application/x-pkcs7-signature": "smime.p7s",
    "application/pkcs7-mime": "smime.p7m",
    "application/x-pkcs7-mime": "smime.p7m",
    "application/ms-tnef": "winmail.dat",
}
_EXTENSIONS = {
    "text/plain": ".txt",
    "text/html": ".html",
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
    "application/pdf": ".pdf",
    "message/rfc822": ".eml",
}


@functools.lru_cache(maxsize=256)
def _guess_extension(content_type: str) -> str:
    return mimetypes.guess_extension(content_type, strict=False) or ""


# -- parameters (Content-Type, Content-Disposition) ----------------------------------


_PARAMETER_TOKEN = re.compile(r'"(?:\\.|[^"\\])*"|;|[^;"]+|"', re.DOTALL)
_SECTION = re.compile(r"^([^*]+)\*(\d+)?(\*)?$")


def _parameters(raw: str) -> tuple[str, dict[str, str]]:
    """A header's main value (lower case) and its parameters, RFC 2231 included."""
    segments = [""]
    for token in _PARAMETER_TOKEN.findall(raw):
        if token == ";":
            segments.append("")
        else:
            segments[-1] += token
    value = segments[0].strip().lower()
    plain: dict[str, str] = {}
    sections: dict[str, dict[int, tuple[str, bool]]] = {}
    for segment in segments[1:]:
        name, sep, val = segment.partition("=")
        name = name.strip().lower()
        if not sep or not name:
            continue
        val = val.strip()
        if len(val) >= 2 and val[0] == val[-1] == '"':
            # Only \" and \\ are unescaped: Windows paths come with bare backslashes.
            val = re.sub(r'\\(["\\])', r"\1", val[1:-1])
        section = _SECTION.match(name)
        if section:
            index = int(section.group(2)) if section.group(2) else 0
            sections.setdefault(section.group(1), {}).setdefault(
                index, (val, section.group(3) is not None or section.group(2) is None)
            )
        else:
            plain.setdefault(name, val.replace("\x00", ""))
    for name, parts in sections.items():
        plain[name] = _rfc2231(parts)
    return value, plain


def _rfc2231(parts: dict[int, tuple[str, bool]]) -> str:
    """Join the sections of an RFC 2231 parameter and decode it (charset'lang'%XX)."""
    charset: str | None = None
    data = b""
    first = min(parts)
    for index in sorted(parts):
        value, encoded = parts[index]
        if index == first and encoded and value.count("'") >= 2:
            charset, _language, value = value.split("'", 2)
        if encoded:
            data += unquote_to_bytes(_to_bytes(value))
        else:
            data += _to_bytes(value)
    return _decode(data, charset or None)


def _decode_parameter(value: str) -> str:
    """A parameter value as text: raw 8-bit bytes and (non-standard, but what Outlook
    and Gmail send) RFC 2047 encoded words are decoded."""
    return _collapse(_decode_words(value)) if value else ""


# -- header values --------------------------------------------------------------------


_LOSSY = re.compile("[\ufffd\ud800-\udfff]")


def _unstructured(headers: _Headers, name: str) -> str:
    """Decode a free-text header (Subject): policy.default, unless it raises or has to
    give up on some bytes, then the lenient decoder."""
    raw = headers.get(name)
    if not raw:
        return ""
    if raw.isascii() and "=?" not in raw:
        # Nothing to decode: policy.default would give back the unfolded text.
        return _clean(_unfold(raw))
    try:
        value = str(headers.factory(name, _unfold(raw)))
    except Exception:
        value = None
    if value is None or _LOSSY.search(value):
        value = _decode_words(raw)
    return _clean(value)


def _addresses(headers: _Headers, name: str) -> list[tuple[str, str]]:
    """(display name, lower-cased address) of every valid mailbox in the headers."""
    found: list[tuple[str, str]] = []
    for raw in headers.get_all(name):
        pairs: list[tuple[str, str]] | None
        simple = _SIMPLE_MAILBOX.match(raw) if raw.isascii() and "=?" not in raw else None
        if simple:
            # The common "Name <a@b>" or "a@b": the same pair policy.default would give,
            # without its full RFC 5322 parser (the costliest part of reading a mail).
            name_words, address = simple.group(1) or "", simple.group(2) or simple.group(3)
            found.append((_collapse(name_words), address.lower()))
            continue
        try:
            parsed = headers.factory(name, _unfold(raw))
            pairs = [(a.display_name, a.addr_spec) for a in getattr(parsed, "addresses", ())]
            if any(_LOSSY.search(n) or _LOSSY.search(a) for n, a in pairs):
                pairs = None
        except Exception:
            pairs = None
        if pairs is None:
            pairs = [(_decode_words(n), _text_of(a)) for n, a in getaddresses([_unfold(raw)])]
        for display_name, address in pairs:
            address = _clean(address).strip().lower()
            if _ADDRESS.match(address):
                found.append((_collapse(_clean(display_name)), address))
    return found


_ADDRESS = re.compile(r'^[^\s@<>(),;:"\[\]\\]+@[^\s@<>(),;:"\[\]\\]+$')
# One mailbox of atoms only: an optional display name of atext words, then the address
# in <>, or the bare address; dot-atoms on both sides of the @ (no quotes, comments,
# groups, encoded words or lists, which take the full parser).
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_DOT_ATOM = rf"{_ATOM}(?:\.{_ATOM})*"
_SIMPLE_MAILBOX = re.compile(
    rf"\s*(?:((?:{_ATOM}[ \t\r\n]+)*{_ATOM})?[ \t\r\n]*<({_DOT_ATOM}@{_DOT_ATOM})>"
    rf"|({_DOT_ATOM}@{_DOT_ATOM}))\s*\Z"
)


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


_BRACKETED_ID = re.compile(r"<([^<>\s]+)>")


def _ids(raw: str) -> tuple[str, ...]:
    """Message-IDs without <>, in order, without repeats."""
    value = _clean(_text_of(_unfold(raw)))
    found = _BRACKETED_ID.findall(value)
    if not found:
        # Ids written without brackets: words that look like id-left@id-right.
        found = [w.strip("<>,;") for w in value.split() if "@" in w]
    return _unique(i[:MAX_ID_LENGTH] for i in found if i.strip("<>,;"))


def _first_id(raw: str) -> str:
    found = _ids(raw)
    return found[0] if found else ""


def _date(raw: str) -> datetime | None:
    value = _clean(_text_of(_unfold(raw))).strip()
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed.tzinfo is None:
        # "-0000": the zone is unknown, which RFC 5322 says to read as UTC.
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


_ENCODED_WORD = re.compile(rb"=\?([^?\s]+)\?([qQbB])\?([^?]*)\?=")


def _decode_words(raw: str) -> str:
    """Decode RFC 2047 encoded words leniently: adjacent words of one charset are joined
    before decoding (a character may be split across two), words may hold spaces, bad
    base64 is repaired, and text outside the words may be raw 8-bit."""
    data = _to_bytes(_unfold(raw))
    chunks: list[tuple[bytes, str | None]] = []  # (bytes, charset) or (raw bytes, None)
    position = 0
    for match in _ENCODED_WORD.finditer(data):
        between = data[position : match.start()]
        # Whitespace between two encoded words is not text (RFC 2047, 6.2).
        if between and not (between.isspace() and chunks and chunks[-1][1] is not None):
            chunks.append((between, None))
        charset = match.group(1).split(b"*", 1)[0].decode("ascii", "replace").lower()
        if match.group(2) in (b"b", b"B"):
            decoded = _base64(match.group(3))
        else:
            decoded = re.sub(
                rb"=([0-9A-Fa-f]{2})",
                lambda m: bytes([int(m.group(1), 16)]),
                match.group(3).replace(b"_", b" "),
            )
        if chunks and chunks[-1][1] == charset:
            chunks[-1] = (chunks[-1][0] + decoded, charset)
        else:
            chunks.append((decoded, charset))
        position = match.end()
    rest = data[position:]
    if rest:
        chunks.append((rest, None))
    return _clean("".join(_decode(chunk, charset) for chunk, charset in chunks))


def _base64(data: bytes) -> bytes:
    data = re.sub(rb"[^A-Za-z0-9+/]", b"", data)
    if len(data) % 4 == 1:
        data = data[:-1]
    return base64.b64decode(data + b"=" * (-len(data) % 4))


def _unfold(value: str) -> str:
    return value.replace("\r\n", "").replace("\n", "").replace("\r", "")


def _collapse(value: str) -> str:
    return " ".join(value.split())


def _text_of(value: str) -> str:
    """A raw header value (8-bit bytes kept as surrogates by the parser) as text."""
    if _LOSSY.search(value):
        return _decode(_to_bytes(value), None)
    return value


# -- auto-replies and bounces -----------------------------------------------------------


_AUTO_HEADERS = ("x-autoreply", "x-autorespond", "x-autoresponse", "x-autoreply-from",
                 "x-mail-autoreply")  # fmt: skip
_BULK_PRECEDENCE = frozenset({"bulk", "junk", "list", "auto_reply", "auto-reply"})
# X-Auto-Response-Suppress values that only ask to suppress receipts and reports.
_RECEIPT_SUPPRESSION = frozenset({"rn", "nrn", "dr", "ndr"})


def _auto_reply_reason(
    headers: _Headers, from_address: str, content_type: str, report_type: str
) -> str:
    """Why a message must not be answered automatically (RFC 3834, and what RT, Zammad
    and osTicket check), or "" when it may be."""
    submitted = _token(headers.get("auto-submitted"))
    if "auto-submitted" in headers and submitted != "no":
        return f"auto-submitted: {submitted or 'present'}"
    for name in _AUTO_HEADERS:
        if name in headers and _token(headers.get(name)) not in ("no", "false", "0"):
            return name
    for name in ("precedence", "x-precedence"):
        precedence = _token(headers.get(name))
        if precedence in _BULK_PRECEDENCE:
            return f"{name}: {precedence}"
    if "x-auto-response-suppress" in headers:
        values = set(re.split(r"[\s,;]+", _clean(headers.get("x-auto-response-suppress")).lower()))
        values.discard("")
        if not values or not values <= _RECEIPT_SUPPRESSION:
            return "x-auto-response-suppress"
    if _token(headers.get("x-fc-machinegenerated")) == "true":
        return "x-fc-machinegenerated"
    if content_type == "multipart/report":
        return f"report: {report_type or 'unknown'}"
    if _is_mailer_daemon(from_address):
        return "from: " + from_address.partition("@")[0]
    if "return-path" in headers and _collapse(headers.get("return-path")) in ("<>", "< >"):
        return "return-path: <>"
    return ""


def _token(raw: str) -> str:
    """The first word of a header value, lower case: "auto-replied; x=y" -> "auto-replied"."""
    words = re.split(r"[\s;(]+", _clean(_text_of(_unfold(raw))).strip().lower(), maxsplit=1)
    return words[0] if words else ""


def _is_mailer_daemon(address: str) -> bool:
    return address.partition("@")[0] in ("mailer-daemon", "postmaster")


def _dsn_field(status: str, name: str) -> str:
    match = re.search(rf"^{name}:[ \t]*([^\r\n]*)", status, re.IGNORECASE | re.MULTILINE)
    return _collapse(match.group(1)) if match else ""


def _dsn_recipients(status: str) -> tuple[str, ...]:
    found = []
    for match in re.finditer(
        r"^(?:final|original)-recipient:[^;\r\n]*;[ \t]*([^\s]+)",
        status,
        re.IGNORECASE | re.MULTILINE,
    ):
        address = match.group(1).strip("<>").lower()
        if _ADDRESS.match(address):
            found.append(address)
    return _unique(found)


# -- text -------------------------------------------------------------------------------


def _decode(data: bytes, charset: str | None) -> str:
    """Bytes in a declared charset as text, never failing and never losing text.

    1. Unknown, absent, ASCII or UTF-8: UTF-8, each undecodable byte read as windows-1252
       (so a windows-1252 part labelled UTF-8 reads right, and a UTF-8 one with a few
       bad bytes keeps the rest).
    2. A Latin single-byte charset: if the bytes are valid UTF-8 with non-ASCII in
       them, the label is wrong (it almost always is, then); else the charset.
    3. Any other charset; when the bytes do not fit it, UTF-8, else the charset with
       replacement characters.
    """
    codec = _codec(charset)
    if codec in (None, "utf-8", "ascii"):
        text = data.decode("utf-8", _FALLBACK)
    elif codec in _LATIN:
        if not data.isascii() and _is_utf8(data):
            text = data.decode("utf-8")
        else:
            text = data.decode(codec, _FALLBACK)
    else:
        try:
            text = data.decode(codec)
        except (UnicodeError, LookupError, ValueError, TypeError):
            text = data.decode("utf-8", _FALLBACK) if _is_utf8(data) else _replace(data, codec)
    return _clean(text.removeprefix("\ufeff"))


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _replace(data: bytes, codec: str) -> str:
    try:
        return data.decode(codec, "replace")
    except (UnicodeError, LookupError, ValueError, TypeError):
        return data.decode("utf-8", _FALLBACK)


# Labels that name a smaller charset than the one senders really use.
_SUPERSETS = {
    "latin_1": "cp1252",
    "iso8859_1": "cp1252",
    "iso8859_9": "cp1254",
    "iso8859_11": "cp874",
    "tis_620": "cp874",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "euc_kr": "cp949",
    "ksc5601": "cp949",
    "shift_jis": "cp932",
    "big5": "big5hkscs",
    "utf_8_sig": "utf-8",
    "utf_8": "utf-8",
}
# Codecs that are not charsets, or that decode escapes rather than text.
_NOT_CHARSETS = frozenset({"idna", "punycode", "unicode_escape", "raw_unicode_escape",
                           "undefined", "mbcs", "oem"})  # fmt: skip
_LATIN = frozenset({"cp1252", "cp1250", "cp1254", "iso8859_2", "iso8859_15", "iso8859_3",
                    "iso8859_4", "iso8859_9", "iso8859_10", "iso8859_13", "iso8859_14",
                    "iso8859_16"})  # fmt: skip
_FALLBACK = "soporte.windows-1252"


@functools.lru_cache(maxsize=512)
def _codec(charset: str | None) -> str | None:
    """The Python codec for a MIME charset label, None when unknown or not a charset."""
    if not charset:
        return None
    label = charset.strip().strip("\"'").lower()
    label = re.sub(r"-[ie]$", "", label)  # iso-8859-8-i
    if label in ("", "unknown-8bit", "x-unknown", "default", "x-user-defined"):
        return None
    if label.startswith("ks_c_5601"):
        label = "cp949"
    try:
        info = codecs.lookup(label)
    except (LookupError, ValueError, TypeError):
        return None
    name = info.name.replace("-", "_")
    if not getattr(info, "_is_text_encoding", True) or name in _NOT_CHARSETS:
        return None
    if name == "ascii":
        return "ascii"
    return _SUPERSETS.get(name, name)


def _windows_1252(error: UnicodeError) -> tuple[str, int]:
    """Error handler: read the bytes a decoder rejected as windows-1252 (the five bytes
    it leaves undefined as Latin-1), so no text is lost."""
    if not isinstance(error, UnicodeDecodeError):
        raise error
    chunk = error.object[error.start : error.end]
    return "".join(_CP1252[byte] for byte in chunk), error.end


def _cp1252_char(byte: int) -> str:
    try:
        return bytes([byte]).decode("cp1252")
    except UnicodeDecodeError:
        return chr(byte)


_CP1252 = [_cp1252_char(byte) for byte in range(256)]
codecs.register_error(_FALLBACK, _windows_1252)


def _to_bytes(value: str) -> bytes:
    """A parser's str back to the bytes it came from (8-bit bytes are surrogates)."""
    try:
        return value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        value = re.sub("[\ud800-\udc7f\udd00-\udfff]", "\ufffd", value)
        return value.encode("utf-8", "surrogateescape")


_SURROGATE = re.compile("[\ud800-\udfff]")


def _clean(value: str) -> str:
    """No NUL (PostgreSQL refuses it) and no lone surrogates (no database stores them)."""
    if "\x00" in value:
        value = value.replace("\x00", "")
    if _SURROGATE.search(value):
        value = _SURROGATE.sub("\ufffd", value)
    return value


def _trim(text: str) -> str:
    """Lines end in "\\n"; leading blank lines and trailing whitespace go."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return re.sub(r"^(?:[ \t]*\n)+", "", text).rstrip()


def _unflow(text: str, *, delsp: bool) -> str:
    """Undo format=flowed (RFC 3676): a line ending in a space continues on the next."""
    lines: list[str] = []
    depths: list[int] = []
    continues = False
    for line in text.replace("\r\n", "\n").split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        content = line[depth:]
        if content.startswith(" "):
            content = content[1:]  # space-stuffing
        flowed = content.endswith(" ") and content != "-- "
        if flowed and delsp:
            content = content[:-1]
        if continues and lines and depths[-1] == depth:
            lines[-1] += content
        else:
            lines.append(">" * depth + (" " if depth and content else "") + content)
            depths.append(depth)
        continues = flowed
    return "\n".join(lines)


def _meta_charset(data: bytes) -> str | None:
    match = re.search(rb"<meta[^>]{0,200}?charset=[\"']?([A-Za-z0-9_.:-]+)", data[:4096], re.I)
    return match.group(1).decode("ascii") if match else None


def _without_head(html: str) -> str:
    """The document without its <head> (a <title> would otherwise become body text)."""
    lower = html.lower()
    start = lower.find("<head")
    if start == -1 or lower[start + 5 : start + 6] not in (">", " ", "\t", "\n", "\r", "/"):
        return html
    end = lower.find("</head", start)
    if end == -1:
        return html
    close = lower.find(">", end)
    return html[:start] + html[close + 1 if close != -1 else len(html) :]


_CID = re.compile(r"""cid:([^\s"'<>)]+)""", re.IGNORECASE)


def _referenced_cids(html: str) -> set[str]:
    return {unquote(cid).strip("<>").lower() for cid in _CID.findall(html)}
