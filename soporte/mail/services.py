"""Turning stored mail into tickets and replies.

Each stored message is processed exactly once: the row is locked (PostgreSQL) or the
database write lock is held (SQLite) for one transaction that parses, threads, writes
the ticket or reply, records the mail it calls for (the acknowledgement: decided in the
change, see receivers.py, written with the batch's others), and marks the row done. A
crash rolls all of it back and the row is still waiting; a failure leaves it in
quarantine with the reason, retryable.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.db.models import Count
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from soporte.accounts import policy
from soporte.accounts import services as accounts
from soporte.accounts.models import (
    OrganizationDomain,
    Role,
    User,
    users_with_email,
    users_with_username,
)
from soporte.lib.db import select_rows
from soporte.lib.errors import Conflict, NotFound, ServiceError
from soporte.lib.files import checked_content_type
from soporte.search.text import guess_language
from soporte.tickets import services as tickets
from soporte.tickets.models import Channel, Message, Status, Ticket

from . import hooks
from .models import KnownMessageId, OutboundMail, OutboundStatus, RawMessage, RawStatus
from .outbound import deferring_records, opening_ticket, recording_now, write_deferred

if TYPE_CHECKING:
    from .parse import ParsedAttachment, ParsedMail

log = logging.getLogger(__name__)

# "[#1234]" anywhere in the subject, whatever the Re:/AW:/RV:/Fwd:/Enc: prefixes.
TICKET_TOKEN = re.compile(r"\[#(\d{1,9})\]")
AUTO_REPLY_TAG = "auto-reply"
# A ticket opened by mail whose sender failed the trusted server's check (forged_sender).
UNVERIFIED_TAG = "unverified-sender"
MAX_ID = 500  # Message-IDs are short; a longer one is cut rather than refused


class Refused(ServiceError):
    """The message is kept but not turned into a ticket (policy, rate limit)."""


# Messages processed together share one transaction (a savepoint each) and one read of
# what they all need; their raw bytes are loaded up to this many at a time.
BATCH_BYTES = 16 * 1024 * 1024


@dataclass
class _Batch:
    """What the messages of one batch share: their senders' counts of the last hour, the
    accounts found or created, and the Message-IDs remembered (written at the end)."""

    recent: dict[str, int] = field(default_factory=dict)
    hour_ago: datetime | None = None
    accounts: dict[str, User] = field(default_factory=dict)  # lower-case address -> user
    no_account: set[str] = field(default_factory=set)  # addresses known to have none
    owners: dict[str, OrganizationDomain | None] = field(default_factory=dict)
    known: dict[str, int] = field(default_factory=dict)  # mail id -> ticket id
    # What the message being processed adds, kept only once its savepoint is released.
    staged_accounts: dict[str, User] = field(default_factory=dict)
    staged_known: dict[str, int] = field(default_factory=dict)


_batch: ContextVar[_Batch | None] = ContextVar("mail_batch", default=None)


def process_raw_message(raw_id: int) -> RawMessage | None:
    """Process one stored message if it is still waiting; returns it, or None when it
    was already processed (or another worker holds it)."""
    processed = process_raw_messages([raw_id])
    return processed[0] if processed else None


def process_raw_messages(raw_ids: Sequence[int]) -> list[RawMessage]:
    """Process the stored messages still waiting among `raw_ids`, oldest first, in one
    transaction; returns those processed (done or quarantined).

    1. Lock the rows still pending (PostgreSQL: skipping those another worker holds;
       SQLite: the write lock is held from BEGIN), and read their senders' counts of
       the last hour in one query.
    2. Each message in its own savepoint: parse, thread, write the ticket or reply,
       record the mail it calls for. A failure rolls back that message alone and
       quarantines it with the reason.
    3. Write what the batch collected (the mail its changes called for, Message-IDs,
       the rows' outcomes, the work receivers deferred to the batch's end, the jobs)
       and commit. A crash rolls all
       of it back: the rows are still waiting.
    """
    from soporte.jobs.queue import buffered_jobs

    processed: list[RawMessage] = []
    # Receivers of ticket changes may do their work once for the batch (rollups).
    with transaction.atomic(), buffered_jobs() as jobs, tickets.batch_of_changes():
        pending = (
            RawMessage.objects.select_for_update(skip_locked=True)
            .filter(pk__in=list(raw_ids), status=RawStatus.PENDING)
            .order_by("id")
        )
        sizes = list(pending.values_list("id", "size", "sender"))
        if not sizes:
            return []
        hour_ago = timezone.now() - timedelta(hours=1)
        senders = {sender for _id, _size, sender in sizes}
        batch = _Batch(recent=_recent_counts(senders, hour_ago), hour_ago=hour_ago)
        _read_accounts(batch, senders)
        token = _batch.set(batch)
        try:
            # The mail each change calls for is decided in it, written for all at the end.
            with deferring_records() as decided:
                for chunk in _chunks(sizes):
                    rows = RawMessage.objects.filter(pk__in=chunk).select_related("mailbox__team")
                    for raw in rows.order_by("id"):
                        _process_one(raw, batch, jobs, decided)
                        processed.append(raw)
        finally:
            _batch.reset(token)
        write_deferred(decided)
        if batch.known:
            KnownMessageId.objects.bulk_create(
                [KnownMessageId(mail_id=m, ticket_id=t) for m, t in batch.known.items()],
                ignore_conflicts=True,
            )
        _save_outcomes(processed)
    return processed


def _read_accounts(batch: _Batch, senders: set[str]) -> None:
    """The senders' accounts, the oldest for each address (one query)."""
    wanted = {sender.strip().lower() for sender in senders if sender}
    if not wanted:
        return
    users = User.objects.alias(email_lower=Lower("email")).filter(email_lower__in=wanted)
    for user in users.order_by("id"):
        batch.accounts.setdefault(user.email.strip().lower(), user)
    batch.no_account = wanted - batch.accounts.keys()
    # The domains of senders without an account: where a new requester belongs.
    domains = {address.rsplit("@", 1)[-1] for address in batch.no_account if "@" in address}
    if domains:
        batch.owners = dict.fromkeys(domains)
        owned = OrganizationDomain.objects.filter(domain__in=domains)
        for owner in owned.select_related("organization"):
            batch.owners[owner.domain] = owner


OUTCOME_SQL = (
    "UPDATE mail_rawmessage SET status = %s, error = %s, ticket_id = %s, message_id = %s, "
    "processed_at = %s, attempts = %s WHERE id = %s"
)


def _save_outcomes(rows: list[RawMessage]) -> None:
    """Each row's outcome, in one prepared statement run for all of them."""
    adapt = connection.ops.adapt_datetimefield_value
    params = [
        (str(r.status), r.error, r.ticket_id, r.message_id, adapt(r.processed_at), r.attempts, r.pk)
        for r in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(OUTCOME_SQL, params)


def _chunks(sizes: list[tuple[int, int, str]]) -> Iterator[list[int]]:
    """The ids in groups of at most BATCH_BYTES of raw mail (at least one each)."""
    chunk: list[int] = []
    total = 0
    for raw_id, size, _sender in sizes:
        if chunk and total + size > BATCH_BYTES:
            yield chunk
            chunk, total = [], 0
        chunk.append(raw_id)
        total += size
    if chunk:
        yield chunk


def _recent_counts(senders: set[str], hour_ago: datetime) -> dict[str, int]:
    """Messages from each sender received since `hour_ago` (one query)."""
    senders.discard("")
    if not senders:
        return {}
    rows = (
        RawMessage.objects.filter(sender__in=senders, received_at__gte=hour_ago)
        .values_list("sender")
        .annotate(n=Count("id"))
    )
    return dict(rows)


def _process_one(raw: RawMessage, batch: _Batch, jobs: list, decided: list) -> None:
    """One message of a batch, in its own savepoint; its outcome is set on `raw`."""
    from .parse import ParseError

    raw.attempts += 1
    queued, mail_decided = len(jobs), len(decided)
    batch.staged_accounts, batch.staged_known = {}, {}
    try:
        # The mail the change calls for (the acknowledgement) is recorded within it.
        with transaction.atomic(), recording_now():
            ticket, message_id = _process(raw)
    except (ParseError, ServiceError) as error:
        del jobs[queued:], decided[mail_decided:]  # rolled back with the savepoint
        _quarantine(raw, str(getattr(error, "message", error)))
    except Exception as error:  # noqa: BLE001 - a bug must not lose the message
        del jobs[queued:], decided[mail_decided:]
        log.exception("Mail %s could not be processed", raw.pk)
        _quarantine(raw, f"{type(error).__name__}: {error}")
    else:
        batch.accounts.update(batch.staged_accounts)
        for mail_id, ticket_id in batch.staged_known.items():
            batch.known.setdefault(mail_id, ticket_id)
        raw.status, raw.error = RawStatus.DONE, ""
        raw.ticket, raw.message_id = ticket, message_id
        raw.processed_at = timezone.now()


def _quarantine(raw: RawMessage, reason: str) -> None:
    """Mark the row quarantined (saved by the caller with the batch)."""
    raw.status, raw.error = RawStatus.QUARANTINED, reason[:2000]
    raw.processed_at = timezone.now()


def process_pending_messages(batch: int = 50) -> int:
    """Every message still waiting, oldest first (at start-up, and periodically)."""
    done = 0
    pending = RawMessage.objects.filter(status=RawStatus.PENDING).order_by("id")
    ids = list(pending.values_list("id", flat=True))
    for start in range(0, len(ids), batch):
        done += len(process_raw_messages(ids[start : start + batch]))
    return done


def retry(raw_id: int, *, acting_user: User) -> RawMessage:
    """An admin sends a quarantined message through processing again."""
    policy.require_admin(acting_user)
    updated = RawMessage.objects.filter(pk=raw_id, status=RawStatus.QUARANTINED).update(
        status=RawStatus.PENDING, error=""
    )
    if not updated:
        raise NotFound(_("No quarantined message with that id."))
    process_raw_message(raw_id)
    return RawMessage.objects.get(pk=raw_id)


# -- the steps ----------------------------------------------------------------------


def _process(raw: RawMessage) -> tuple[Ticket | None, int | None]:
    """1. parse; 2. bounces go to the ticket they concern; 3. the sender's hourly
    limit; 4. thread to a ticket; 5. the sender becomes a user; 6. new ticket, reply,
    or (for someone who may not see the ticket, or whose address a trusted server says
    was forged) an internal note. Returns the ticket and the id of the message written
    on it."""
    from .parse import parse

    mail = parse(bytes(raw.raw))
    forged = forged_sender(mail)
    # Other areas act on a sender's word (a calendar reply takes a place): not a forger's.
    if not forged and hooks.claimed(mail):
        return None, None
    if mail.is_bounce:
        ticket, note = _bounce(mail, accounts.system_user())
        return ticket, note.pk if note else None
    _check_rate(raw, mail)
    ticket = find_ticket(mail)
    sender = sender_user(mail)
    files, dropped = _files(mail.attachments)
    text = _text(mail, dropped)
    if ticket is not None and ticket.status == Status.CLOSED:
        # A closed ticket takes no replies: the follow-up becomes a new ticket.
        text = _("Follow-up to #%(number)s.") % {"number": ticket.number} + "\n\n" + text
        ticket = None
    if ticket is None:
        mailbox = raw.mailbox
        # Every error here rolls back the message's own savepoint (_process_one).
        with opening_ticket(by_robot=mail.is_auto_reply), tickets.covered_by_savepoint():
            ticket = tickets.open_ticket(
                acting_user=accounts.system_user(),
                requester=sender,
                subject=mail.subject or _("(no subject)"),
                body=text,
                body_html=mail.html,
                channel=Channel.EMAIL,
                team=mailbox.team if mailbox else None,
                tags=_tags(mail, forged),
                watchers=_known_people(mail.cc),
                files=files,
            )
        remember_id(mail.message_id, ticket)
        return ticket, ticket.first_message.pk
    # Every error here rolls back the message's own savepoint (_process_one).
    with tickets.covered_by_savepoint():
        if not forged and policy.can_view(sender, ticket):
            message = tickets.reply(
                ticket,
                acting_user=sender,
                body=text,
                body_html=mail.html,
                channel=Channel.EMAIL,
                files=files,
            )
        else:
            message = tickets.add_note(
                ticket,
                acting_user=accounts.system_user(),
                body=f"{_why_a_note(mail, forged)}\n\n{text}",
                channel=Channel.EMAIL,
                files=files,
            )
    remember_id(mail.message_id, ticket)
    return ticket, message.pk


def remember_id(mail_id: str, ticket: Ticket) -> None:
    if not mail_id:
        return
    batch = _batch.get()
    if batch is not None:
        # Written with the batch; later messages of the batch thread to it meanwhile.
        batch.staged_known.setdefault(mail_id[:MAX_ID], ticket.pk)
    else:
        # One INSERT; an id seen before keeps its first ticket.
        KnownMessageId.objects.bulk_create(
            [KnownMessageId(mail_id=mail_id[:MAX_ID], ticket=ticket)], ignore_conflicts=True
        )


def find_ticket(mail: ParsedMail) -> Ticket | None:
    """The conversation this message continues: by the ids it answers (newest first),
    then by a [#number] subject token the sender may see; else None."""
    ids = list(
        dict.fromkeys(i[:MAX_ID] for i in (mail.in_reply_to, *reversed(mail.references)) if i)
    )
    if ids:
        known: dict[str, int] = {}
        batch = _batch.get()
        if batch is not None:
            # Ids remembered earlier in this batch, not written yet (a row wins over them).
            known.update((i, batch.known[i]) for i in ids if i in batch.known)
        known.update(_known_ids(ids))
        for mail_id in ids:
            if mail_id in known:
                found = select_rows(Ticket, "id = %s", [known[mail_id]])
                if not found:
                    raise Ticket.DoesNotExist(f"No ticket {known[mail_id]}")
                return _follow_merges(found[0])
    match = TICKET_TOKEN.search(mail.subject)
    if match:
        ticket = Ticket.objects.filter(number=int(match.group(1))).first()
        sender = users_with_email(mail.from_address).first()
        # A guessed number must not let a stranger write into someone else's ticket.
        if ticket is not None and sender is not None and policy.can_view(sender, ticket):
            return _follow_merges(ticket)
    return None


def _known_ids(ids: list[str]) -> list[tuple[str, int]]:
    """(mail id, ticket id) of these Message-IDs we stored or sent: one plain statement
    (this runs for every reply)."""
    table = connection.ops.quote_name(KnownMessageId._meta.db_table)
    marks = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT mail_id, ticket_id FROM {table} WHERE mail_id IN ({marks})", ids)  # noqa: S608
        return list(cursor.fetchall())


def _follow_merges(ticket: Ticket) -> Ticket:
    seen = set()
    while ticket.merged_into_id and ticket.pk not in seen:
        seen.add(ticket.pk)
        ticket = Ticket.objects.get(pk=ticket.merged_into_id)
    return ticket


def sender_user(mail: ParsedMail) -> User:
    """The sender's account; an unknown sender becomes a requester of the organization
    that owns their domain, as SOPORTE_MAIL_UNKNOWN_SENDERS allows."""
    address = mail.from_address
    if not address or "@" not in address:
        raise Refused(_("The message has no usable sender address."))
    batch = _batch.get()
    key = address.strip().lower()
    user = batch.accounts.get(key) if batch is not None else None
    if user is None and (batch is None or key not in batch.no_account):
        user = account_of(address)
        if user is not None and batch is not None:
            batch.staged_accounts[key] = user
    if user is not None:
        if not user.is_active:
            raise Refused(_("The sender's account %(address)s is disabled.") % {"address": address})
        return user
    if batch is None:
        owner = domain_owner(address)
    else:
        domain = address.rsplit("@", 1)[-1]
        if domain not in batch.owners:
            batch.owners[domain] = domain_owner(address)
        owner = batch.owners[domain]
    refusal = unknown_sender_refusal(address, owner)
    if refusal:
        raise Refused(refusal)
    name = mail.from_name.strip()
    first, _sep, last = name.partition(" ")
    create = functools.partial(
        accounts.create_user,
        acting_user=None,
        email=address,
        role=Role.REQUESTER,
        first_name=first[:150],
        last_name=last[:150],
        organization=owner.organization if owner else None,
        language=language_of(mail),
    )
    try:
        # The address is the username, unless an account took that name already.
        user = create(username=address[:140])
    except Conflict:
        user = create(username=_free_username(address))
    if batch is not None:
        batch.staged_accounts[key] = user
    return user


def _why_a_note(mail: ParsedMail, forged: str) -> str:
    """The line that opens the internal note a mail becomes instead of a reply."""
    if forged:
        return _(
            "Email claiming to be from %(address)s that failed the sender check "
            "(%(reason)s): not taken as theirs."
        ) % {"address": mail.from_address, "reason": forged}
    return _("Email from %(address)s, who cannot see this ticket:") % {"address": mail.from_address}


def _tags(mail: ParsedMail, forged: str) -> list[str]:
    """A new ticket's tags: whether a robot sent it, whether its sender failed the check."""
    tags = [AUTO_REPLY_TAG] if mail.is_auto_reply else []
    return [*tags, UNVERIFIED_TAG] if forged else tags


def forged_sender(mail: ParsedMail) -> str:
    """Why the From is not to be believed ("dmarc=fail", "spf=fail"), as the topmost
    Authentication-Results header of a trusted server says (SOPORTE_MAIL_TRUSTED_AUTHSERV_IDS);
    "" when it passed, or when no trusted server says. A DKIM failure alone is not enough:
    lists and forwarders break signatures of genuine mail."""
    trusted = settings.MAIL_TRUSTED_AUTHSERV_IDS
    checked = next((found for found in mail.authentication if found.server in trusted), None)
    if checked is None:
        return ""
    dmarc, dkim, spf = (checked.result(method) for method in ("dmarc", "dkim", "spf"))
    if dmarc == "fail":
        return "dmarc=fail"
    if dmarc == "pass" or "pass" in (dkim, spf):
        return ""
    return "spf=fail" if spf == "fail" else ""


def language_of(mail: ParsedMail) -> str:
    """A new requester's language: the first their mail client declared that the help
    desk speaks, else the one their words clearly are, else the site's."""
    spoken = {code for code, _name in settings.LANGUAGES}
    for tag in mail.languages:
        if tag in spoken:
            return tag
    return guess_language(f"{mail.subject}\n{mail.text}") or settings.LANGUAGE_CODE


def account_of(address: str) -> User | None:
    """The account with this address (the oldest, should two share it); one query."""
    return users_with_email(address).order_by("id").first()


def domain_owner(address: str) -> OrganizationDomain | None:
    domain = address.rsplit("@", 1)[-1]
    return OrganizationDomain.objects.filter(domain=domain).select_related("organization").first()


def unknown_sender_refusal(address: str, owner: OrganizationDomain | None) -> str:
    """Why mail from an address without an account is not taken, or "" when it is
    (SOPORTE_MAIL_UNKNOWN_SENDERS)."""
    rule = settings.MAIL_UNKNOWN_SENDERS
    if rule == "known_users" or (rule == "known_domains" and owner is None):
        return _(
            "%(address)s is not a known sender, and this help desk only takes mail from %(who)s."
        ) % {
            "address": address,
            "who": _("known users") if rule == "known_users" else _("known domains"),
        }
    return ""


def _free_username(address: str) -> str:
    base = address[:140]
    candidate, n = base, 1
    while users_with_username(candidate).exists():
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def _known_people(addresses: tuple[str, ...]) -> list[User]:
    ours = {settings.DEFAULT_FROM_EMAIL.lower()}
    wanted = [a.lower() for a in addresses if a and a.lower() not in ours][:50]
    return list(User.objects.filter(email__in=wanted, is_active=True)) if wanted else []


def _files(
    attachments: tuple[ParsedAttachment, ...],
) -> tuple[list[ContentFile], list[str]]:
    """Files to attach, and the names of those left out (too large, or programs), which
    stay in the stored raw message and are listed in the text."""
    kept, dropped = [], []
    for part in attachments:
        try:
            if len(part.payload) > settings.MAX_ATTACHMENT_BYTES:
                raise ServiceError("too large")
            checked_content_type(part.filename, part.payload[:2048])
        except ServiceError:
            dropped.append(part.filename)
            continue
        kept.append(ContentFile(part.payload, name=part.filename))
    return kept, dropped


def _text(mail: ParsedMail, dropped: list[str]) -> str:
    text = mail.text.strip()
    if not text:
        text = _("(This email had no text.)")
    if dropped:
        text += "\n\n" + _("Not attached (too large or a program): %(names)s") % {
            "names": ", ".join(dropped)
        }
    return text


def _check_rate(raw: RawMessage, mail: ParsedMail) -> None:
    batch = _batch.get()
    if batch is not None and batch.hour_ago is not None:
        # The batch read the counts once; this message itself is not counted.
        recent = batch.recent.get(raw.sender, 0) - (raw.received_at >= batch.hour_ago)
        over = bool(raw.sender) and recent >= settings.MAIL_SENDER_LIMIT_PER_HOUR
    else:
        over = over_hourly_limit(raw.sender, exclude=raw.pk)
    if over:
        raise Refused(
            _("%(address)s sent more than %(limit)s messages in an hour; held as a mail storm.")
            % {"address": raw.sender, "limit": settings.MAIL_SENDER_LIMIT_PER_HOUR}
        )


def over_hourly_limit(sender: str, *, exclude: int | None = None) -> bool:
    """Whether `sender` sent MAIL_SENDER_LIMIT_PER_HOUR messages or more in the last hour,
    not counting message `exclude`: mail past that is a storm, and never answered."""
    if not sender:
        return False
    hour_ago = timezone.now() - timedelta(hours=1)
    recent = RawMessage.objects.filter(sender=sender, received_at__gte=hour_ago)
    if exclude is not None:
        recent = recent.exclude(pk=exclude)
    return recent.count() >= settings.MAIL_SENDER_LIMIT_PER_HOUR


def _bounce(mail: ParsedMail, system: User) -> tuple[Ticket | None, Message | None]:
    """A delivery failure: note it on the ticket whose mail bounced; never a new ticket."""
    bounced = mail.bounced_message_id[:MAX_ID]
    known = (
        KnownMessageId.objects.filter(mail_id=bounced).select_related("ticket").first()
        if bounced
        else None
    )
    if known is None:
        return None, None
    if mail.bounce_action in ("failed", ""):
        # A delay notice ("delayed") is not a failure: the mail may still arrive.
        OutboundMail.objects.filter(mail_id=bounced).update(
            status=OutboundStatus.FAILED, last_error=_("The recipient's server bounced it.")
        )
    note = tickets.add_note(
        known.ticket,
        acting_user=system,
        body=_("An email about this ticket could not be delivered:")
        + "\n\n"
        + (mail.text.strip() or mail.subject),
        channel=Channel.EMAIL,
    )
    return known.ticket, note
