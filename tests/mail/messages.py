"""Test emails built with the stdlib email package, for the parser and processing tests.

build(subject="Printer", body="It prints blank pages.")
build(html="<p>Hi</p>", body=None, attachments=[("a.pdf", PDF, "application/pdf")])
build(body="Café".encode("cp1252"), charset="utf-8")  # bytes as given: a wrong label
build(headers={"Subject": "=?iso-8859-1?q?caf=E9?="})  # headers written raw
bounce(build(), recipient="nobody@acme.example")       # a Postfix-style DSN
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from email.mime.message import MIMEMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.parser import BytesParser

from soporte.mail.parse import ParsedMail

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02" + b"\x00" * 16
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF\n"
DATE = "Tue, 05 Mar 2024 10:00:00 +0100"

# (name, payload, content type) or (name, payload, content type, content id): the second
# is an inline image, put beside the HTML in a multipart/related.
Attachment = tuple[str, bytes, str] | tuple[str, bytes, str, str]


def build(
    *,
    subject: str = "Printer on fire",
    body: str | bytes | None = "It prints blank pages.",
    html: str | bytes | None = None,
    attachments: Iterable[Attachment] = (),
    headers: Mapping[str, str | bytes | None] | None = None,
    charset: str = "utf-8",
    encoding: str | None = None,
    sender: str = "María López <maria@acme.example>",
    to: str = "support@soporte.example",
    message_id: str | None = None,
) -> bytes:
    """An email as bytes (CRLF line ends).

    body, html: text, encoded in `charset` with the transfer `encoding` ("7bit", "8bit",
    "quoted-printable", "base64"; None lets the email package choose); bytes are sent
    as they are, labelled `charset` (to build mislabelled parts).
    attachments: "message/rfc822" payloads are attached as messages.
    headers: written raw at the top, replacing the builder's own (None removes one);
    str values go out as UTF-8.
    """
    headers = dict(headers or {})
    message = EmailMessage(policy=policy.SMTP)
    if message_id is None:
        digest = hashlib.sha256(repr((subject, body, html, sender)).encode()).hexdigest()
        message_id = f"<{digest[:24]}@acme.example>"
    defaults = {
        "From": sender,
        "To": to,
        "Subject": subject,
        "Date": DATE,
        "Message-ID": message_id,
    }
    overridden = {name.lower() for name in headers}
    for name, value in defaults.items():
        if name.lower() not in overridden:
            message[name] = value

    inline = [a for a in attachments if len(a) == 4]
    files = [a for a in attachments if len(a) == 3]
    if body is not None:
        _set_text(message, body, "plain", charset, encoding)
        if html is not None:
            alternative = EmailMessage(policy=policy.SMTP)
            _set_text(alternative, html, "html", charset, encoding)
            message.make_alternative()
            message.attach(alternative)
    elif html is not None:
        _set_text(message, html, "html", charset, encoding)
    html_part = _html_part(message)
    for name, payload, content_type, content_id in inline:  # type: ignore[misc]
        maintype, subtype = content_type.split("/")
        target = html_part if html_part is not None else message
        target.add_related(
            payload, maintype, subtype, cid=f"<{content_id}>", filename=name, disposition="inline"
        )
    for name, payload, content_type in files:  # type: ignore[misc]
        if content_type == "message/rfc822":
            enclosed = BytesParser(policy=policy.SMTP).parsebytes(payload)
            message.add_attachment(enclosed, filename=name)
        else:
            maintype, subtype = content_type.split("/")
            message.add_attachment(payload, maintype, subtype, filename=name)
    if body is None and html is None and not files and not inline:
        message.set_content("")

    if "MIME-Version" not in message:
        message["MIME-Version"] = "1.0"
    for name in headers:
        del message[name]
    raw = message.as_bytes()
    top = b"".join(
        name.encode("ascii")
        + b": "
        + (value if isinstance(value, bytes) else value.encode())
        + b"\r\n"
        for name, value in headers.items()
        if value is not None
    )
    return top + raw


def _set_text(
    part: EmailMessage, content: str | bytes, subtype: str, charset: str, encoding: str | None
) -> None:
    if isinstance(content, bytes):
        part.set_content(content, "text", subtype, cte=encoding or "8bit")
        part.set_param("charset", charset)
    else:
        part.set_content(content, subtype=subtype, charset=charset, cte=encoding)


def _html_part(message: EmailMessage) -> EmailMessage | None:
    for part in message.walk():
        if part.get_content_type() == "text/html":
            return part  # type: ignore[return-value]
    return None


def bounce(
    original: bytes,
    *,
    recipient: str = "nobody@acme.example",
    action: str = "failed",
    status: str = "5.1.1",
    headers_only: bool = False,
    sender: str = "MAILER-DAEMON@mx.soporte.example (Mail Delivery System)",
) -> bytes:
    """A delivery status notification for `original`, shaped like Postfix's: a
    multipart/report with the explanation, the message/delivery-status report, and the
    original (whole as message/rfc822, or its headers as text/rfc822-headers)."""
    report = MIMEMultipart("report", report_type="delivery-status")
    report["From"] = sender
    report["To"] = "support@soporte.example"
    report["Subject"] = "Undelivered Mail Returned to Sender"
    report["Date"] = DATE
    report["Message-ID"] = "<20240305090001.4F1B2C3D4E@mx.soporte.example>"
    report["Auto-Submitted"] = "auto-replied"
    report.preamble = "This is a MIME-encapsulated message."

    notification = MIMEText(
        "This is the mail system at host mx.soporte.example.\n\n"
        "I'm sorry to have to inform you that your message could not\n"
        "be delivered to one or more recipients.\n\n"
        f"<{recipient}>: host mx.acme.example said: 550 {status} <{recipient}>:\n"
        "    Recipient address rejected: User unknown in local recipient table\n",
        "plain",
        "us-ascii",
    )
    notification["Content-Description"] = "Notification"
    report.attach(notification)

    per_message = Message()
    per_message["Reporting-MTA"] = "dns; mx.soporte.example"
    per_message["X-Postfix-Queue-ID"] = "4F1B2C3D4E"
    per_message["Arrival-Date"] = DATE
    per_recipient = Message()
    per_recipient["Final-Recipient"] = f"rfc822; {recipient}"
    per_recipient["Original-Recipient"] = f"rfc822;{recipient}"
    per_recipient["Action"] = action
    per_recipient["Status"] = status
    per_recipient["Remote-MTA"] = "dns; mx.acme.example"
    per_recipient["Diagnostic-Code"] = f"smtp; 550 {status} <{recipient}>: User unknown"
    delivery_status = Message()
    delivery_status["Content-Description"] = "Delivery report"
    delivery_status["Content-Type"] = "message/delivery-status"
    delivery_status.attach(per_message)
    delivery_status.attach(per_recipient)
    report.attach(delivery_status)

    if headers_only:
        head = original.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]
        enclosed: Message = MIMEText(head.decode("ascii", "replace") + "\n", "rfc822-headers")
        enclosed["Content-Description"] = "Undelivered Message Headers"
    else:
        enclosed = MIMEMessage(message_from_bytes(original))
        enclosed["Content-Description"] = "Undelivered Message"
    report.attach(enclosed)
    return report.as_bytes(policy=policy.compat32.clone(linesep="\r\n"))


def storage_problems(mail: ParsedMail) -> list[str]:
    """What a database would refuse in a ParsedMail: NUL characters and lone surrogates
    in any text, empty attachment names, naive dates."""
    problems = []
    texts: list[tuple[str, object]] = [
        (name, getattr(mail, name))
        for name in (
            "message_id", "in_reply_to", "subject", "from_name", "from_address", "reply_to",
            "text", "html", "bounced_message_id", "auto_reply_reason", "bounce_action",
        )
    ]  # fmt: skip
    for name in ("references", "to", "cc", "bounced_recipients"):
        texts += [(f"{name}[{i}]", value) for i, value in enumerate(getattr(mail, name))]
    for i, attachment in enumerate(mail.attachments):
        texts += [
            (f"attachments[{i}].filename", attachment.filename),
            (f"attachments[{i}].content_type", attachment.content_type),
            (f"attachments[{i}].content_id", attachment.content_id),
        ]
        if not attachment.filename:
            problems.append(f"attachments[{i}] has no file name")
        if not isinstance(attachment.payload, bytes):
            problems.append(f"attachments[{i}].payload is not bytes")
    for name, value in texts:
        if not isinstance(value, str):
            problems.append(f"{name} is not a str: {value!r}")
        elif "\x00" in value:
            problems.append(f"{name} has a NUL")
        else:
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                problems.append(f"{name} has a lone surrogate")
    if mail.date is not None and mail.date.tzinfo is None:
        problems.append("date is naive")
    return problems
