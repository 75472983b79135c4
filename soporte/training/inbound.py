"""Calendar answers that come back by mail: a calendar program (Thunderbird, Outlook,
Google) mails an iMIP METHOD:REPLY to the invitation's ORGANIZER, our support address.
Registered with soporte.mail.hooks, so such a reply changes the place instead of
opening a ticket.

A reply is taken (no ticket) when its UID is one of our places and its sender is that
place's attendee, including a TENTATIVE one (nothing to change) and one for a session
that has started or was cancelled (too late to change: the raw mail stays stored).
Anything else, e.g. a reply for an unknown UID or forwarded by someone else, goes on
to become a ticket as any mail would, so a person reads it.
"""

from __future__ import annotations

import logging

from soporte.lib.errors import Conflict
from soporte.mail.parse import ParsedMail

from . import services

log = logging.getLogger(__name__)

# The text/calendar part comes as a multipart/alternative part (what iMIP asks for) or
# as an attachment; application/ics is what some programs and our own invitations use.
CALENDAR_TYPES = frozenset({"text/calendar", "application/ics", "text/x-vcalendar"})
# Larger calendar parts are not replies to one event; do not parse them.
MAX_REPLY_BYTES = 256 * 1024


def claim_calendar_reply(mail: ParsedMail) -> bool:
    """True when the mail carried a calendar reply about one of our places and it was
    applied (or could only be acknowledged); False to let it become a ticket."""
    for attachment in mail.attachments:
        if attachment.content_type not in CALENDAR_TYPES:
            continue
        payload = attachment.payload
        # Cheap check first: every mail with an invitation attached passes through here.
        if len(payload) > MAX_REPLY_BYTES or b"REPLY" not in payload.upper():
            continue
        try:
            attendee = services.apply_imip_reply(payload, mail.from_address)
        except Conflict as error:
            log.info("Calendar reply from %s not applied: %s", mail.from_address, error)
            return True
        if attendee is not None:
            return True
    return False
