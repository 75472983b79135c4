"""The one door every inbound message goes through (IMAP, SMTP/LMTP, raw-MIME API):
store the bytes and commit, then process in a background task."""

from __future__ import annotations

import hashlib
import re
from email import policy
from email.parser import BytesHeaderParser
from email.utils import parseaddr

from django.db import IntegrityError, transaction

from soporte.lib.db import insert_row

from .models import Mailbox, RawMessage, Source
from .tasks import process_raw

HEADER_BYTES = 262_144  # headers longer than this are not read here (the parser reads them)
_BLANK_LINE = re.compile(rb"\r?\n\r?\n")


def read_headers(raw: bytes) -> dict[str, str]:
    """Message-ID, From and Subject, read once and tolerantly: a broken header must not
    stop the message being stored (the parser reports it later)."""
    wanted = {"message-id": "", "from": "", "subject": ""}
    # Only the header block: the header parser would otherwise split the body into lines.
    end = _BLANK_LINE.search(raw, 0, HEADER_BYTES)
    try:
        block = raw[: end.end() if end else HEADER_BYTES]
        headers = BytesHeaderParser(policy=policy.compat32).parsebytes(block)
        for name in wanted:
            wanted[name] = str(headers.get(name) or "").replace("\x00", "").strip()
    except Exception:  # noqa: BLE001, S110 - storing comes first
        pass
    return wanted


def dedupe_key(raw: bytes, message_id: str | None = None) -> str:
    if message_id is None:
        message_id = read_headers(raw)["message-id"].strip("<>")
    basis = f"mid:{message_id}" if message_id else "sha:" + hashlib.sha256(raw).hexdigest()
    return hashlib.sha256(basis.encode("utf-8", "replace")).hexdigest()


def store_raw(
    raw: bytes, *, source: str, mailbox: Mailbox | None = None
) -> tuple[RawMessage, bool]:
    """Store one message; (stored row, True) or (the earlier copy, False) when the same
    message came before. Processing is scheduled after the commit."""
    headers = read_headers(raw)
    message_id = headers["message-id"].strip("<>")
    key = dedupe_key(raw, message_id)
    # Most mail is new: no read first; the unique key refuses a copy (below).
    sender = parseaddr(headers["from"])[1].lower()[:254]
    try:
        with transaction.atomic():
            stored = insert_row(
                RawMessage(
                    dedupe_key=key,
                    mail_id=message_id[:998],
                    sender=sender,
                    subject=headers["subject"][:998],
                    source=Source(source),
                    mailbox=mailbox,
                    raw=raw,
                    size=len(raw),
                )
            )
            process_raw.enqueue(stored.pk)
    except IntegrityError:
        # Delivered before (or twice at the same moment): the first copy stands.
        return RawMessage.objects.get(dedupe_key=key), False
    return stored, True
