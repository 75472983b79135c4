"""The SMTP/LMTP receiver (aiosmtpd): every accepted message goes through
`inbound.store_raw`, and the sender hears 250 only once it is committed.

Answers: 250 after the commit (also for a message received before), 552 when the
message is larger than MAIL_MAX_BYTES, 451 when storing failed, so the sending MTA
keeps the message and retries: nothing is lost.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session
from django.conf import settings
from django.db import connections

from .inbound import store_raw
from .models import Source

logger = logging.getLogger(__name__)

# What aiosmtpd answers by itself for too much data (after DATA, or a declared SIZE).
_AIOSMTPD_TOO_BIG = (
    "552 Error: Too much mail data",
    "552 Error: message size exceeds fixed maximum message size",
)


def too_big(limit: int) -> str:
    return f"552 5.3.4 Message too big: this server accepts messages up to {limit} bytes"


class Receiver:
    """aiosmtpd handler storing each message once, whatever the number of recipients."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        if len(raw) > self.max_bytes:
            status = too_big(self.max_bytes)
        else:
            try:
                # The ORM is synchronous: run it off the event loop.
                raw_id, created = await asyncio.to_thread(_store, raw)
            except Exception:
                logger.exception("Storing a message from %s failed", session.peer)
                status = "451 4.3.0 Temporary failure storing the message; try again later"
            else:
                detail = "stored" if created else "already received"
                status = f"250 2.0.0 OK: {detail} as message {raw_id}"
        if isinstance(server, LMTP):
            # LMTP answers once per recipient; the message itself is stored once.
            return "\r\n".join([status] * max(1, len(envelope.rcpt_tos)))
        return status


def _store(raw: bytes) -> tuple[int, bool]:
    try:
        stored, created = store_raw(raw, source=Source.SMTP)
        return stored.pk, created
    finally:
        # Runs in a pool thread: its connection is not left open behind it.
        connections.close_all()


class _ClearRefusals:
    """Words aiosmtpd's own size refusals for a person, and answers an LMTP refusal
    after DATA once per recipient as RFC 2033 requires."""

    # Be lenient with senders writing lines longer than RFC 5321's 1000 octets; the
    # message size stays bounded by data_size_limit.
    line_length_limit = 64 * 1024

    data_size_limit: int | None
    envelope: Envelope | None

    async def push(self, status: Any) -> None:
        if isinstance(status, str) and status in _AIOSMTPD_TOO_BIG:
            clear = too_big(self.data_size_limit or 0)
            after_data = status == _AIOSMTPD_TOO_BIG[0]
            if isinstance(self, LMTP) and after_data and self.envelope is not None:
                status = "\r\n".join([clear] * max(1, len(self.envelope.rcpt_tos)))
            else:
                status = clear
        await super().push(status)  # type: ignore[misc]


class SMTPServer(_ClearRefusals, SMTP):
    pass


class LMTPServer(_ClearRefusals, LMTP):
    pass


class ReceiverController(Controller):
    """Runs the receiver in a thread: `start()`, then `stop()`."""

    def __init__(
        self, *, host: str = "127.0.0.1", port: int = 2525, lmtp: bool = False, **kwargs: Any
    ) -> None:
        max_bytes = kwargs.pop("max_bytes", None) or settings.MAIL_MAX_BYTES
        self.lmtp = lmtp
        super().__init__(
            Receiver(max_bytes),
            hostname=host,
            port=port,
            data_size_limit=max_bytes,
            server_hostname=kwargs.pop("server_hostname", None) or socket.gethostname(),
            **kwargs,
        )

    def factory(self) -> SMTP:
        server_class = LMTPServer if self.lmtp else SMTPServer
        return server_class(self.handler, **self.SMTP_kwargs)
