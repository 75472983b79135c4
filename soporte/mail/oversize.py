"""Messages refused for their size, before they are downloaded."""

from __future__ import annotations

import logging

from .models import Mailbox

logger = logging.getLogger(__name__)


def refuse_oversized(mailbox: Mailbox, uid: int, size: int, sender: str, subject: str) -> None:
    """Note a message larger than MAIL_MAX_BYTES that the IMAP poller left on the server.

    TODO(bounces): record it and send the sender a clear bounce; for now only a warning,
    and the message stays unread on the server for a person to see.
    """
    logger.warning(
        "Mailbox %s: message UID %s from %r (%r) is %s bytes, over the limit; not fetched",
        mailbox.pk,
        uid,
        sender,
        subject,
        size,
    )
