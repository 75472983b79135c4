"""The one door every inbound message goes through (IMAP, SMTP/LMTP, raw-MIME API):
store the bytes and commit, then process in a background task."""

from __future__ import annotations

import hashlib
from email import policy
from email.parser import BytesHeaderParser
from email.utils import parseaddr

from django.db import IntegrityError, transaction

from .models import Mailbox, RawMessage, Source


def _header(raw: bytes, name: str) -> str:
    # Headers only, tolerant: a broken header must not stop the message being stored.
    try:
        headers = BytesHeaderParser(policy=policy.compat32).parsebytes(raw[:262_144])
        value = headers.get(name) or ""
        return str(value).replace("\x00", "").strip()
    except Exception:  # noqa: BLE001 - storing comes first; the parser reports later
        return ""


def dedupe_key(raw: bytes) -> str:
    message_id = _header(raw, "Message-ID").strip().strip("<>")
    basis = f"mid:{message_id}" if message_id else "sha:" + hashlib.sha256(raw).hexdigest()
    return hashlib.sha256(basis.encode("utf-8", "replace")).hexdigest()


def store_raw(
    raw: bytes, *, source: str, mailbox: Mailbox | None = None
) -> tuple[RawMessage, bool]:
    """Store one message; (stored row, True) or (the earlier copy, False) when the same
    message came before. Processing is scheduled after the commit."""
    key = dedupe_key(raw)
    existing = RawMessage.objects.filter(dedupe_key=key).first()
    if existing is not None:
        return existing, False
    sender = parseaddr(_header(raw, "From"))[1].lower()[:254]
    try:
        with transaction.atomic():
            stored = RawMessage.objects.create(
                dedupe_key=key,
                mail_id=_header(raw, "Message-ID").strip().strip("<>")[:998],
                sender=sender,
                subject=_header(raw, "Subject")[:998],
                source=Source(source),
                mailbox=mailbox,
                raw=raw,
                size=len(raw),
            )
            transaction.on_commit(lambda: _schedule(stored.pk))
    except IntegrityError:
        # Delivered twice at the same moment: the other copy won.
        return RawMessage.objects.get(dedupe_key=key), False
    return stored, True


def _schedule(raw_id: int) -> None:
    from .tasks import process_raw

    process_raw.delay(raw_id)
