"""Messages refused for their size: recorded without their body, and answered once.

The IMAP poller learns a message's size before downloading it; one over MAIL_MAX_BYTES
is not downloaded. Its header block is enough to record it (sender, subject, size: the
admin's list of refused mail) and to tell its sender, with a bounce sent like any other
mail we send (recorded, retried, never twice). The SMTP receiver and the raw-MIME
endpoint refuse such messages within their protocol instead (552, 413), and the sending
server or program tells the sender.
"""

from __future__ import annotations

import logging
from email import policy
from email.parser import BytesHeaderParser
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import IntegrityError, transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _

from .inbound import dedupe_key, read_headers
from .models import Mailbox, RawMessage, RawStatus, Source

if TYPE_CHECKING:
    from .parse import ParsedMail

logger = logging.getLogger(__name__)

# Mailing-list mail is never answered automatically (RFC 2369, RFC 2919).
_LIST_HEADERS = ("list-id", "list-unsubscribe", "list-post")


def refuse_oversized(
    header_block: bytes, *, size: int, mailbox: Mailbox | None, source: str = Source.IMAP
) -> tuple[RawMessage, bool]:
    """Record a message too large to take, from its header block, and queue the bounce
    to its sender when they may be answered; (row, True) the first time, (the earlier
    row, False) when the same message was seen before: it is answered once.

    1. Read the header block: Message-ID (which makes the record unique, as for any
       stored message; a hash of the headers when it has none), sender, subject, and
       whether the message is automatic.
    2. In one transaction: the RawMessage (status refused, no body, the reason in
       `error`) and, when the sender may be answered, the bounce and its send job.
    """
    headers = read_headers(header_block)
    key = dedupe_key(header_block, headers["message-id"].strip("<>"))
    existing = RawMessage.objects.filter(dedupe_key=key).first()
    if existing is not None:
        return existing, False
    mail = _parsed(header_block)
    sender = (mail.from_address if mail is not None else "")[:254]
    reason = _("%(size)s (%(bytes)s bytes) is over the limit of %(limit)s.") % {
        "size": filesizeformat(size),
        "bytes": size,
        "limit": filesizeformat(settings.MAIL_MAX_BYTES),
    }
    silence = _why_not_answer(sender, mail, header_block)
    if silence:
        reason += " " + _("The sender was not told: %(why)s.") % {"why": silence}
    try:
        with transaction.atomic():
            raw = RawMessage.objects.create(
                dedupe_key=key,
                mail_id=headers["message-id"].strip("<>")[:998],
                sender=sender,
                subject=(mail.subject if mail is not None else headers["subject"])[:998],
                source=Source(source),
                mailbox=mailbox,
                raw=b"",
                size=size,
                status=RawStatus.REFUSED,
                error=reason,
                processed_at=timezone.now(),
            )
            if not silence:
                from .outbound import record_refusal

                record_refusal(raw)
    except IntegrityError:
        # Seen at the same moment by another poll: that one records and answers it.
        return RawMessage.objects.get(dedupe_key=key), False
    logger.info("Refused message %s from %r: %s", raw.pk, sender, reason)
    return raw, True


def _parsed(header_block: bytes) -> ParsedMail | None:
    from .parse import ParseError, parse

    try:
        return parse(header_block)
    except ParseError:
        return None


def _why_not_answer(address: str, mail: ParsedMail | None, header_block: bytes) -> str:
    """Why the sender must not get a bounce, or "" when they may: automatic mail, lists,
    our own addresses, senders the help desk does not take mail from, and mail storms
    (the rules acknowledgements follow) are never answered."""
    from .outbound import own_addresses
    from .services import (
        account_of,
        domain_owner,
        over_hourly_limit,
        unknown_sender_refusal,
    )

    if mail is None or "@" not in address:
        return _("no usable sender address")
    if mail.is_auto_reply or mail.is_bounce:
        return _("the message is automatic (%(why)s)") % {
            "why": mail.auto_reply_reason or "delivery report"
        }
    try:
        listed = BytesHeaderParser(policy=policy.compat32).parsebytes(header_block)
        if any(name in listed for name in _LIST_HEADERS):
            return _("the message came from a mailing list")
    except Exception:  # noqa: BLE001, S110 - parse() read it; this is a second look
        pass
    if address in own_addresses():
        return _("the sender is one of our own addresses")
    person = account_of(address)
    if person is not None and not person.is_active:
        return _("the sender's account is disabled")
    if person is None and unknown_sender_refusal(address, domain_owner(address)):
        return _("this help desk does not take mail from unknown senders")
    if over_hourly_limit(address):
        return _("the sender wrote more than %(limit)s messages in an hour") % {
            "limit": settings.MAIL_SENDER_LIMIT_PER_HOUR
        }
    return ""
