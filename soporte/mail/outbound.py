"""Mail we send about tickets: what a committed change tells whom (notify), what each
mail looks like (build_message), sending it once (deliver), and what could not be
delivered (failed_mail).

Every mail is recorded before it is sent: one OutboundMail row per recipient, unique by
its dedupe_key, with a fresh Message-ID that is also a KnownMessageId, so an answer to
it threads back to the ticket. The job mail.send_outbound sends it after commit.

Message-IDs are stored without angle brackets, like RawMessage.mail_id; the headers
add them.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import smtplib
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from email.utils import parseaddr
from functools import partial
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import IntegrityError, transaction
from django.db import connection as db_connection
from django.db.models import Exists, OuterRef, QuerySet, Value
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from soporte.accounts.models import User, users_with_email
from soporte.lib.db import insert_rows
from soporte.lib.html import sanitize_html, text_to_html
from soporte.lib.ttlcache import TtlCache
from soporte.tickets.models import EventKind, Message, MessageKind, Status, Ticket, TicketEvent

from .mime import Mail
from .models import (
    KnownMessageId,
    Mailbox,
    OutboundKind,
    OutboundMail,
    OutboundStatus,
    RawMessage,
)

log = logging.getLogger(__name__)

# Contract with inbound processing (services.AUTO_REPLY_TAG): a ticket opened by an
# automatic message (out-of-office, Auto-Submitted, Precedence bulk/junk/list...) is
# tagged "auto-reply" when it is created, and gets no acknowledgement, so two robots
# never answer each other.
AUTO_REPLY_TAG = "auto-reply"

# The statuses the requester hears about, and the kind of mail each one sends.
STATUS_MAIL = {
    Status.RESOLVED: OutboundKind.RESOLVED,
    Status.PENDING_CUSTOMER: OutboundKind.STATUS,
}
# RFC 3834: automatic mail says so, and other systems must not answer it.
AUTO_SUBMITTED = {
    OutboundKind.ACKNOWLEDGEMENT: "auto-replied",
    OutboundKind.STATUS: "auto-generated",
    OutboundKind.RESOLVED: "auto-generated",
    OutboundKind.REFUSED: "auto-replied",
    OutboundKind.SLA: "auto-generated",
    OutboundKind.TEMPLATED: "auto-generated",
}
MAX_REFERENCES = 20
SEND_TIMEOUT = 60  # seconds, when EMAIL_TIMEOUT is not set: a hung server must not hang a worker
SLA_EVENTS = frozenset({EventKind.SLA_WARNING, EventKind.SLA_BREACHED})
NOTIFYING_EVENTS = frozenset(
    {EventKind.CREATED, EventKind.REPLIED, EventKind.STATUS_CHANGED, *SLA_EVENTS}
)


def satisfaction_url(ticket: Ticket) -> str | None:
    """Where the requester rates the resolution (a signed link, no sign-in needed); None
    when the ticket is no longer resolved or surveys are off."""
    from soporte.tickets.satisfaction import survey_url

    return survey_url(ticket)


def failed_mail(ticket: Ticket) -> QuerySet[OutboundMail]:
    """Mail about the ticket that could not be delivered (the ticket page lists it)."""
    return OutboundMail.objects.filter(ticket=ticket, status=OutboundStatus.FAILED)


# Mailboxes are read for nearly every mail and changed rarely, by admins: each process
# keeps (address, team id, active) of each, by name, up to MAILBOX_CACHE_SECONDS; a save
# or delete in this process forgets them (receivers.py).
MAILBOX_CACHE_SECONDS = 1.0
_mailboxes = TtlCache(MAILBOX_CACHE_SECONDS)


def _mailbox_rows() -> list[tuple[str, int | None, bool]]:
    return _mailboxes.get(
        "rows",
        lambda: list(Mailbox.objects.order_by("name").values_list("address", "team_id", "active")),
    )


def forget_mailboxes() -> None:
    _mailboxes.clear()


def own_addresses() -> set[str]:
    """Our support addresses, lower-cased: mail to them would come back as a request.
    No query while the mailboxes are cached."""
    ours = {parseaddr(settings.DEFAULT_FROM_EMAIL)[1].lower()}
    ours.update(address.lower() for address, _team, _active in _mailbox_rows())
    ours.discard("")
    return ours


# -- deciding what to send ------------------------------------------------------------


@dataclass
class _Planned:
    kind: str
    ref: int  # the message (replies) or the event (the rest) the mail is about
    message_id: int | None  # the reply it carries
    people: list[User]
    exclude: User | None  # never mailed: the author of the change
    event: TicketEvent | None = None  # the event an alert is about
    subject: str = ""  # instead of "[#number] subject"
    body: str = ""  # a text written elsewhere (automation rules)


def notify(
    ticket_id: int, events: list[int] | list[str], acting_user_id: int | None
) -> list[OutboundMail]:
    """The job's side of record_for(): load the ticket and the change's events, given
    their ids (jobs queued before the signal carried events name their kinds instead:
    the newest events of those kinds by the same actor)."""
    opened_by_robot = Ticket.tags.through.objects.filter(
        ticket_id=OuterRef("pk"), tag__name=AUTO_REPLY_TAG
    )
    ticket = (
        Ticket.objects.select_related("requester")
        .annotate(opened_by_robot=Exists(opened_by_robot))
        .filter(pk=ticket_id)
        .first()
    )
    if ticket is None or not events:
        return []
    return record_for(ticket, _events(ticket, events, acting_user_id))


def record_for(ticket: Ticket, events: list[TicketEvent]) -> list[OutboundMail]:
    """Record the mail one change of the ticket calls for; it is sent after commit.

    1. created -> an acknowledgement to the requester, unless an auto-reply opened it;
       replied (an agent's public reply) -> the requester and the CC, never the author;
       status_changed to resolved or pending customer, while the ticket still has that
       status -> the requester and the CC, never the person who changed it; pending
       customer says nothing when the same change carried a reply, which says it better.
    2. One row per address, skipping people without an address, inactive accounts and
       our own addresses; a dedupe_key already recorded is skipped, so recording twice
       sends nothing new.
    Returns the rows recorded by this call.
    """
    replied = any(event.kind == EventKind.REPLIED for event in events)
    watchers: list[User] | None = None

    def requester_and_cc() -> list[User]:
        nonlocal watchers
        if watchers is None:
            watchers = list(ticket.watchers.order_by("id"))
        return [ticket.requester, *watchers]

    planned: list[_Planned] = []
    for event in sorted(events, key=lambda event: event.pk):
        if event.kind == EventKind.CREATED:
            if not _opened_by_robot(ticket):
                planned.append(
                    _Planned(OutboundKind.ACKNOWLEDGEMENT, event.pk, None, [ticket.requester], None)
                )
        elif event.kind == EventKind.REPLIED:
            message = _public_agent_reply(ticket, event)
            if message is not None:
                planned.append(
                    _Planned(
                        OutboundKind.REPLY,
                        message.pk,
                        message.pk,
                        requester_and_cc(),
                        message.author,
                    )
                )
        elif event.kind in SLA_EVENTS:
            if ticket.status in (Status.RESOLVED, Status.CLOSED):
                continue  # met or moot by the time the job runs
            planned.append(
                _Planned(OutboundKind.SLA, event.pk, None, _on_duty(ticket), None, event)
            )
        elif event.new in STATUS_MAIL and event.new == ticket.status:
            kind = STATUS_MAIL[Status(event.new)]
            if kind == OutboundKind.STATUS and replied:
                continue
            planned.append(_Planned(kind, event.pk, None, requester_and_cc(), event.actor))
    if not planned:
        return []
    return _record(ticket, planned, events)


def _on_duty(ticket: Ticket) -> list[User]:
    """Who hears about the ticket's SLA: its assignee, else its team's members who are
    not away."""
    if ticket.assignee is not None:
        return [ticket.assignee]
    return _team_members(ticket)


def _team_members(ticket: Ticket) -> list[User]:
    if ticket.team is None:
        return []
    return list(ticket.team.members.filter(is_active=True, away=False).order_by("id"))


def _opened_by_robot(ticket: Ticket) -> bool:
    known = getattr(ticket, "opened_by_robot", None)  # notify() asks in its query
    if known is None:
        known = _opening_robot.get()  # inbound processing says, while it opens one
    if known is None:
        return ticket.tags.filter(name=AUTO_REPLY_TAG).exists()
    return bool(known)


# Set while inbound mail is processed, which already runs in a worker: the mail its
# changes call for is recorded in the change's own transaction, not by one more job.
_recording_now: ContextVar[bool] = ContextVar("mail_recording_now", default=False)


@contextmanager
def recording_now() -> Iterator[None]:
    token = _recording_now.set(True)
    try:
        yield
    finally:
        _recording_now.reset(token)


def records_now() -> bool:
    return _recording_now.get()


# Set by inbound processing while it opens a ticket: whether an automatic message opens
# it (it is then tagged AUTO_REPLY_TAG), so that its acknowledgement needs no query.
_opening_robot: ContextVar[bool | None] = ContextVar("mail_opening_robot", default=None)


@contextmanager
def opening_ticket(*, by_robot: bool) -> Iterator[None]:
    token = _opening_robot.set(by_robot)
    try:
        yield
    finally:
        _opening_robot.reset(token)


def may_call_for_mail(event: TicketEvent) -> bool:
    """Whether an event just written might call for mail, judged without a query: the
    receiver queues no job for the others (notify() decides for those that might)."""
    if event.kind == EventKind.CREATED:
        return True
    if event.kind == EventKind.REPLIED:
        return event.actor is not None and event.actor.is_agent
    if event.kind in SLA_EVENTS:
        return True
    return event.kind == EventKind.STATUS_CHANGED and event.new in STATUS_MAIL


def _events(ticket: Ticket, refs: list[int] | list[str], acting_user_id: int | None):
    """The change's notifying events, oldest first: by id, or (older jobs) by kind."""
    events = TicketEvent.objects.filter(ticket=ticket, kind__in=NOTIFYING_EVENTS)
    events = events.select_related("actor")
    if all(isinstance(ref, int) for ref in refs):
        return list(events.filter(pk__in=refs).order_by("id"))
    chosen: list[TicketEvent] = []
    for kind, count in Counter(str(ref) for ref in refs).items():
        chosen += events.filter(kind=kind, actor_id=acting_user_id).order_by("-id")[:count]
    return sorted(chosen, key=lambda event: event.pk)


def _public_agent_reply(ticket: Ticket, event: TicketEvent) -> Message | None:
    message_id = event.data.get("message") if isinstance(event.data, dict) else None
    if not message_id:
        return None
    message = (
        Message.objects.select_related("author")
        .filter(pk=message_id, ticket=ticket, kind=MessageKind.REPLY, internal=False)
        .first()
    )
    if message is None or not message.author.is_agent:
        return None
    return message


def _recipients(people: Iterable[User], exclude: User | None, ours: set[str]) -> list[str]:
    """The addresses to write to: active people with an address that is not ours,
    each once, never the excluded person (nor anyone sharing their address)."""
    skip = set(ours)
    if exclude is not None and exclude.email:
        skip.add(exclude.email.strip().lower())
    addresses, seen = [], set()
    for person in people:
        if person is None or not person.is_active:
            continue
        if exclude is not None and person.pk == exclude.pk:
            continue
        address = (person.email or "").strip()
        key = address.lower()
        if "@" not in key or key in skip or key in seen:
            continue
        seen.add(key)
        addresses.append(address)
    return addresses


def dedupe_key(kind: str, ref: int, address: str) -> str:
    key = f"{kind}:{ref}:{address.lower()}"
    if len(key) > 255:
        key = f"{kind}:{ref}:" + hashlib.sha256(address.lower().encode()).hexdigest()
    return key


def new_mail_id(ticket: Ticket) -> str:
    return f"soporte.{ticket.number}.{secrets.token_hex(8)}@{settings.MAIL_DOMAIN}"


def _rows(ticket: Ticket, planned: list[_Planned]) -> list[OutboundMail]:
    """The rows the planned mail makes, one per recipient, not saved."""
    ours = own_addresses()
    default_subject = f"[#{ticket.number}] {ticket.subject}"
    return [
        OutboundMail(
            ticket=ticket,
            message_id=plan.message_id,
            event=plan.event,
            kind=plan.kind,
            dedupe_key=dedupe_key(plan.kind, plan.ref, address),
            to=[address],
            subject=(plan.subject or default_subject)[:998],
            body=plan.body,
            mail_id=new_mail_id(ticket),
        )
        for plan in planned
        for address in _recipients(plan.people, plan.exclude, ours)
    ]


def _record(
    ticket: Ticket, planned: list[_Planned], events: list[TicketEvent] | None = None
) -> list[OutboundMail]:
    deferred = _deferred.get()
    if deferred is not None:
        deferred.append((ticket, planned, events or []))
        return []
    rows = _rows(ticket, planned)
    if not rows:
        return []
    recorded: list[OutboundMail] = []
    # No savepoint of its own: inside a transaction an error fails the caller's block
    # (all or nothing as before); each row below has one, for the duplicate case.
    with transaction.atomic(savepoint=False):
        for outbound in rows:
            try:
                with transaction.atomic():
                    outbound.save(force_insert=True)
                    KnownMessageId.objects.create(mail_id=outbound.mail_id, ticket=ticket)
            except IntegrityError:
                # Recorded before: notify ran again (a retried job), or another run of
                # the same notification got there first. Unique keys decide, not a read.
                continue
            recorded.append(outbound)
        _send_later(recorded)
    return recorded


def _send_later(recorded: list[OutboundMail]) -> None:
    from .tasks import send_outbound

    for outbound in recorded:
        send_outbound.enqueue(outbound.pk)


# Set by deferring_records(): the mail each change decided on (with the change's events,
# should it have to be queued as a job instead), written when the block's work ends.
_Decided = tuple[Ticket, list[_Planned], list[TicketEvent]]
_deferred: ContextVar[list[_Decided] | None] = ContextVar("mail_deferred_records", default=None)


@contextmanager
def deferring_records() -> Iterator[list[_Decided]]:
    """Inside, record_for() decides what each change calls for as usual, and the rows
    are written together by write_deferred() (inbound mail: a batch of messages, one
    transaction). The caller drops the tail of the yielded list when the change that
    added it is rolled back (a savepoint)."""
    deferred: list[_Decided] = []
    token = _deferred.set(deferred)
    try:
        yield deferred
    finally:
        _deferred.reset(token)


def write_deferred(deferred: list[_Decided]) -> int:
    """Write the mail deferring_records() collected (call it after that block): every
    row and its Message-ID in two INSERTs, then their sending jobs. Should that fail
    (a row recorded before), each change's mail is written the usual way, row by row,
    and one that still fails is queued as the notification job, as the receiver does.
    Returns how many rows were recorded."""
    rows = [row for ticket, planned, _events in deferred for row in _rows(ticket, planned)]
    if not rows:
        return 0
    try:
        with transaction.atomic():
            insert_rows(rows)
            insert_rows([KnownMessageId(mail_id=row.mail_id, ticket=row.ticket) for row in rows])
    except Exception:  # noqa: BLE001 - each change's mail again, on its own, below
        log.info("Mail of %s changes recorded one change at a time", len(deferred))
    else:
        _send_later(rows)
        return len(rows)
    from .tasks import notify_change

    recorded = 0
    for ticket, planned, events in deferred:
        try:
            with transaction.atomic():
                recorded += len(_record(ticket, planned, events))
        except Exception:  # noqa: BLE001 - the job records it instead
            log.exception("Mail about ticket %s not recorded in its change; queued", ticket.pk)
            if events:
                notify_change.enqueue(ticket.pk, [e.pk for e in events], events[0].actor_id)
    return recorded


def record_templated(ticket_id: int, to: str, subject: str, body: str, key: str) -> int:
    """Record the mail an automation rule writes (placeholders already filled) to the
    requester, the assignee or the team's members who are not away; `key` makes a rerun
    record nothing new. Returns how many mails were recorded."""
    ticket = Ticket.objects.select_related("requester", "assignee", "team").filter(pk=ticket_id)
    found = ticket.first()
    if found is None:
        return 0
    people = {
        "requester": [found.requester],
        "assignee": [found.assignee] if found.assignee_id else [],
        "team": _team_members(found),
    }.get(to, [])
    # The key stands for the event ref: one rule firing, whatever the job's retries.
    plan = _Planned(
        OutboundKind.TEMPLATED, key, None, people, None,  # type: ignore[arg-type]
        subject=f"[#{found.number}] {subject}", body=body,
    )  # fmt: skip
    return len(_record(found, [plan]))


def record_refusal(raw: RawMessage) -> OutboundMail | None:
    """Record the mail telling the sender of `raw` (refused as too large, see
    oversize.py) that it was not delivered; sent after commit, like any other mail.
    None when it was recorded before. The caller decided the sender may be answered."""
    from .tasks import send_outbound

    address = raw.sender
    language = _language(_account(address))
    with translation.override(language):
        subject = _("Not delivered, too large: %(subject)s") % {
            "subject": raw.subject or _("(no subject)")
        }
    try:
        with transaction.atomic():
            outbound = OutboundMail.objects.create(
                raw=raw,
                kind=OutboundKind.REFUSED,
                dedupe_key=dedupe_key(OutboundKind.REFUSED, raw.pk, address),
                to=[address],
                subject=subject[:998],
                mail_id=f"soporte.refused.{raw.pk}.{secrets.token_hex(8)}@{settings.MAIL_DOMAIN}",
            )
    except IntegrityError:
        return None
    send_outbound.enqueue(outbound.pk)
    return outbound


# -- what a mail looks like ---------------------------------------------------------


def build_message(
    outbound: OutboundMail, thread: list[str] | None = None
) -> EmailMultiAlternatives:
    """The mail as its recipient reads it: text and HTML in their language, subject
    with the [#number] token, our Message-ID, and the thread it continues (`thread`,
    when the caller read thread_ids() already)."""
    ticket = outbound.ticket
    if ticket is None:
        return _build_refusal(outbound)
    person = _person(ticket, outbound.to)
    language = _language(person)
    with translation.override(language):
        context = _context(outbound, ticket, person)
        text = render_to_string(f"mail/{outbound.kind}.txt", context)
        html = render_to_string(f"mail/{outbound.kind}.html", context)
    headers = {
        "Message-ID": f"<{outbound.mail_id}>",
        "X-Soporte-Ticket": str(ticket.number),
    }
    if thread is None:
        thread = thread_ids(outbound)
    if thread:
        headers["In-Reply-To"] = f"<{thread[-1]}>"
        headers["References"] = " ".join(f"<{mail_id}>" for mail_id in thread)
    if outbound.kind in AUTO_SUBMITTED:
        headers["Auto-Submitted"] = AUTO_SUBMITTED[OutboundKind(outbound.kind)]
        headers["X-Auto-Response-Suppress"] = "All"
    mail = Mail(
        subject=outbound.subject,
        body=text,
        from_email=sender_address(ticket),
        to=list(outbound.to),
        headers=headers,
    )
    mail.attach_alternative(html, "text/html")
    return mail


def _build_refusal(outbound: OutboundMail) -> EmailMultiAlternatives:
    """The bounce of a message refused as too large: what was refused, its size and the
    limit, in the sender's language; it answers that message, and says it is automatic
    so that no robot answers it."""
    assert outbound.raw_id is not None  # a refusal is always about a raw message
    raw = RawMessage.objects.select_related("mailbox").defer("raw").get(pk=outbound.raw_id)
    person = _account(outbound.to[0]) if outbound.to else None
    support = raw.mailbox.address if raw.mailbox else parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    with translation.override(_language(person)):
        context = {
            "subject": outbound.subject,
            "name": (person.get_full_name() or person.first_name) if person else "",
            "refused_subject": raw.subject or _("(no subject)"),
            "received_at": raw.received_at,
            "size": raw.size,
            "limit": settings.MAIL_MAX_BYTES,
            "support": support,
        }
        text = render_to_string("mail/refused.txt", context)
        html = render_to_string("mail/refused.html", context)
    headers = {
        "Message-ID": f"<{outbound.mail_id}>",
        "Auto-Submitted": AUTO_SUBMITTED[OutboundKind.REFUSED],
        "X-Auto-Response-Suppress": "All",
    }
    if raw.mail_id:
        headers["In-Reply-To"] = headers["References"] = f"<{raw.mail_id}>"
    mail = Mail(
        subject=outbound.subject,
        body=text,
        from_email=raw.mailbox.address if raw.mailbox else settings.DEFAULT_FROM_EMAIL,
        to=list(outbound.to),
        headers=headers,
    )
    mail.attach_alternative(html, "text/html")
    return mail


def sender_address(ticket: Ticket) -> str:
    """The team's mailbox, so answers come back to its queue; else the default."""
    if ticket.team_id:
        for address, team_id, active in _mailbox_rows():
            if active and team_id == ticket.team_id:
                return address
    return settings.DEFAULT_FROM_EMAIL


def thread_ids(outbound: OutboundMail) -> list[str]:
    """The Message-IDs this mail follows, oldest first: mail received on the ticket and
    mail sent about it before (not the copies of this same notification to others, nor
    mail that never left). The first and the newest are kept when there are many."""
    return threads_of([outbound])[outbound.pk]


def threads_of(outbounds: Iterable[OutboundMail]) -> dict[int, list[str]]:
    """thread_ids() of each of these mails about tickets, by id, in one query."""
    outbounds = [outbound for outbound in outbounds if outbound.ticket_id is not None]
    if not outbounds:
        return {}
    tickets = {outbound.ticket_id for outbound in outbounds if outbound.ticket_id is not None}
    received = (
        RawMessage.objects.filter(ticket_id__in=tickets)
        .exclude(mail_id="")
        .values_list("ticket_id", "received_at", Value(0), Value(0), Value(""), "mail_id")
        .order_by()
    )
    sent = (
        OutboundMail.objects.filter(
            ticket_id__in=tickets, id__lt=max(outbound.pk for outbound in outbounds)
        )
        .exclude(status=OutboundStatus.FAILED)
        .values_list("ticket_id", "created_at", Value(1), "id", "dedupe_key", "mail_id")
        .order_by()
    )
    # At the same instant, what was received comes first.
    entries = sorted(received.union(sent, all=True), key=lambda row: (row[1], row[2], row[5]))
    by_ticket: dict[int | None, list[tuple]] = {}  # each mail walks its own ticket's only
    for entry in entries:
        by_ticket.setdefault(entry[0], []).append(entry)
    threads = {}
    for outbound in outbounds:
        sibling_prefix = outbound.dedupe_key.rsplit(":", 1)[0] + ":"
        ids: list[str] = []
        for _ticket_id, _when, was_sent, pk, key, mail_id in by_ticket.get(outbound.ticket_id, []):
            if not mail_id or mail_id in ids:
                continue
            if was_sent and (pk >= outbound.pk or key.startswith(sibling_prefix)):
                continue
            ids.append(mail_id)
        if len(ids) > MAX_REFERENCES:
            ids = [ids[0], *ids[-(MAX_REFERENCES - 1) :]]
        threads[outbound.pk] = ids
    return threads


def _person(ticket: Ticket, to: list[str]) -> User | None:
    """The account the mail is addressed to: one of the ticket's people first."""
    address = (to[0] if to else "").lower()
    if not address:
        return None
    if (ticket.requester.email or "").strip().lower() == address:
        return ticket.requester  # most mail: no query
    for person in ticket.watchers.all():
        if (person.email or "").strip().lower() == address:
            return person
    return _account(address)


def _account(address: str) -> User | None:
    return users_with_email(address).order_by("id").first()


def _language(person: User | None) -> str:
    languages = {code for code, _name in settings.LANGUAGES}
    if person is not None and person.language in languages:
        return person.language
    return settings.LANGUAGE_CODE


def _context(outbound: OutboundMail, ticket: Ticket, person: User | None) -> dict[str, Any]:
    if person is not None and person.is_agent:
        path = reverse("desk:ticket", kwargs={"number": ticket.number})
    else:
        path = reverse("portal:ticket", kwargs={"number": ticket.number})
    context: dict[str, Any] = {
        "ticket": ticket,
        "subject": outbound.subject,
        "name": (person.get_full_name() or person.first_name) if person else "",
        "link": settings.SITE_URL + path,
    }
    message = outbound.message
    if outbound.kind == OutboundKind.REPLY and message is not None:
        context["author"] = str(message.author)
        context["body_text"] = message.body_text
        context["body_html"] = mark_safe(  # noqa: S308 - sanitized by nh3 or escaped
            sanitize_html(message.body_html)
            if message.body_html
            else text_to_html(message.body_text)
        )
    if outbound.kind == OutboundKind.SLA and outbound.event is not None:
        data = outbound.event.data or {}
        context["breached"] = outbound.event.kind == EventKind.SLA_BREACHED
        context["target"] = data.get("target", "")
        due = data.get("due")
        context["due"] = datetime.fromisoformat(due) if due else None
        context["time_zone"] = person.time_zone if person is not None else settings.TIME_ZONE
    if outbound.kind == OutboundKind.TEMPLATED:
        context["body_text"] = outbound.body
        context["body_html"] = mark_safe(text_to_html(outbound.body))  # noqa: S308 - escaped
    if outbound.kind == OutboundKind.RESOLVED:
        context["resolution"] = ticket.resolution
        context["resolution_html"] = mark_safe(text_to_html(ticket.resolution))  # noqa: S308
        context["satisfaction_url"] = satisfaction_url(ticket)
    return context


# -- sending once -------------------------------------------------------------------


def deliver(outbound_id: int, *, max_attempts: int) -> str:
    """Send one recorded mail; "sent", "failed", or "skipped" (gone, already sent or
    failed, or taken by another run). Raises the delivery error when a retry should
    follow (deliver_many says how)."""
    [outcome] = deliver_many([outbound_id], max_attempts=max_attempts)
    if isinstance(outcome, OSError):
        raise outcome
    return outcome


def deliver_many(outbound_ids: list[int], *, max_attempts: int) -> list[str | OSError]:
    """Send recorded mails, each once, over one connection to the mail server; for each,
    in order, "sent", "failed", "skipped" (gone, already sent or failed, or taken by
    another run), or the delivery error when a retry should follow.

    1. Claim: a mail's attempts go from n to n + 1 only while it is still pending with
       n attempts, so a duplicate or stale run never sends (one statement per n).
    2. Send each; mark it sent right after the server took it (marking the batch's at
       its end saved a commit per mail, but a worker killed meanwhile would send them
       all again: "nothing sent twice" weighs more).
    3. On an error, store it; a permanent refusal (5xx) or attempt number
       ``max_attempts`` marks the mail failed, which the ticket shows (failed_mail).
    """
    loaded = list(
        OutboundMail.objects.select_related("ticket", "ticket__requester")
        .filter(pk__in=outbound_ids, status=OutboundStatus.PENDING)
        .order_by()
    )
    _load_replies(loaded)
    claimed = _claim_mail(loaded)
    threads = threads_of(claimed.values())
    outcomes: list[str | OSError] = []
    connection = None
    try:
        for outbound_id in outbound_ids:
            outbound = claimed.pop(outbound_id, None)
            if outbound is None:
                outcomes.append("skipped")
                continue
            attempt, last = outbound.attempts, outbound.attempts >= max_attempts
            # Only an error writes through it: not built for the mail that goes out.
            row = partial(_row_of, outbound_id, attempt)
            try:
                mail = build_message(outbound, threads.get(outbound_id))
            except Exception as error:  # noqa: BLE001 - a broken mail must show, not vanish
                log.exception("Outbound mail %s could not be built", outbound_id)
                row().update(status=OutboundStatus.FAILED, last_error=_describe(error))
                outcomes.append("failed")
                continue
            try:
                if connection is None:
                    connection = get_connection(timeout=settings.EMAIL_TIMEOUT or SEND_TIMEOUT)
                    connection.open()
                connection.send_messages([mail])
            except OSError as error:  # smtplib.SMTPException is an OSError
                _drop(connection)
                connection = None  # the next mail gets a fresh one
                if last or _permanent(error):
                    log.warning("Outbound mail %s failed for good: %s", outbound_id, error)
                    row().update(status=OutboundStatus.FAILED, last_error=_describe(error))
                    outcomes.append("failed")
                else:
                    row().update(last_error=_describe(error))
                    outcomes.append(error)
                continue
            _mark_sent(outbound_id, attempt)
            outcomes.append("sent")
    finally:
        _drop(connection)
    return outcomes


def _load_replies(outbounds: list[OutboundMail]) -> None:
    """The replies these mails carry, with their authors, in one query when some carry
    one: most mail carries none (acknowledgements), and joining their tables to every
    mail cost a sixth of reading the mail."""
    wanted = {outbound.message_id for outbound in outbounds if outbound.message_id is not None}
    if not wanted:
        return
    found = Message.objects.select_related("author").in_bulk(wanted)
    for outbound in outbounds:
        if outbound.message_id is not None:
            # Gone meanwhile: none, as the join would have found once it was deleted.
            outbound.message = found.get(outbound.message_id)


def _row_of(outbound_id: int, attempt: int) -> QuerySet[OutboundMail]:
    return OutboundMail.objects.filter(pk=outbound_id, attempts=attempt)


def _mark_sent(outbound_id: int, attempt: int) -> None:
    """Sent: one plain statement per mail, right after the server took it (the ORM's
    update costs more than the statement itself, once per mail sent)."""
    table = OutboundMail._meta.db_table
    sent_at = db_connection.ops.adapt_datetimefield_value(timezone.now())
    with db_connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET status = %s, sent_at = %s, last_error = '' "  # noqa: S608
            "WHERE id = %s AND attempts = %s",
            [str(OutboundStatus.SENT), sent_at, outbound_id, attempt],
        )


def _claim_mail(pending: list[OutboundMail]) -> dict[int, OutboundMail]:
    """The mails this run claimed (attempts n -> n + 1), by id, with attempts updated."""
    by_attempts: dict[int, list[int]] = {}
    for outbound in pending:
        by_attempts.setdefault(outbound.attempts, []).append(outbound.pk)
    won: set[int] = set()
    table = OutboundMail._meta.db_table
    with db_connection.cursor() as cursor:
        for attempts, ids in by_attempts.items():
            cursor.execute(
                f"UPDATE {table} SET attempts = %s WHERE status = %s AND attempts = %s "  # noqa: S608
                f"AND id IN ({', '.join(['%s'] * len(ids))}) RETURNING id",
                [attempts + 1, OutboundStatus.PENDING, attempts, *ids],
            )
            won.update(row[0] for row in cursor.fetchall())
    claimed = {}
    for outbound in pending:
        if outbound.pk in won:
            outbound.attempts += 1
            claimed[outbound.pk] = outbound
    return claimed


def _drop(connection: Any) -> None:
    """Close a mail connection quietly (it may be broken already)."""
    if connection is not None:
        with suppress(Exception):
            connection.close()


def _permanent(error: OSError) -> bool:
    """The server refused for good (5xx): retrying cannot help."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _text in error.recipients.values()]
        return bool(codes) and all(code >= 500 for code in codes)
    code = getattr(error, "smtp_code", 0)
    return isinstance(code, int) and code >= 500


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:2000]
