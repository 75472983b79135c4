"""Every change to a ticket. Each service is atomic, checks permission through
``accounts.policy``, writes TicketEvents, and announces the change (``ticket_changed``,
inside the transaction, for other areas to record their jobs).

Services that change a ticket take ``expected_version``: the version the caller saw.
When the ticket changed since, the write is refused with Conflict (HTTP 409), never
silently applied over the other person's change.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any, TypeVar

from django.conf import settings
from django.core.files.base import File
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from soporte.accounts import policy
from soporte.accounts.models import Team, Tier, User
from soporte.lib.db import insert_row, insert_rows, update_row
from soporte.lib.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from soporte.lib.files import check_upload
from soporte.lib.html import html_to_text, sanitize_html

from . import guards, macros
from .models import (
    PRIORITY_MATRIX,
    TRANSITIONS,
    Attachment,
    CallDirection,
    CannedResponse,
    Category,
    Channel,
    EventKind,
    Level,
    MacroAssign,
    MacroKind,
    Message,
    MessageKind,
    Priority,
    Status,
    Tag,
    Ticket,
    TicketEvent,
)
from .numbering import next_ticket_number
from .signals import change_batch_ending, ticket_changed

T = TypeVar("T")

# Data every event written inside `event_context` carries, e.g. the automation rule or
# SLA target that made the change, so the audit trail says why it happened.
_event_context: ContextVar[dict[str, Any] | None] = ContextVar("event_context", default=None)


@contextmanager
def event_context(**data: Any) -> Iterator[None]:
    token = _event_context.set({**current_event_context(), **data})
    try:
        yield
    finally:
        _event_context.reset(token)


def current_event_context() -> dict[str, Any]:
    return _event_context.get() or {}


# Set by a caller whose own savepoint covers the service it calls next (inbound mail:
# one savepoint per message, rolled back whole on any error): that call then writes in
# it rather than nesting another savepoint (two statements and their bookkeeping, per
# message). Services it calls in turn nest theirs as usual.
_covered: ContextVar[bool] = ContextVar("covered_by_savepoint", default=False)


@contextmanager
def covered_by_savepoint() -> Iterator[None]:
    """Inside, the next service call joins the caller's savepoint (see _covered): only for
    callers that let every error of the call roll their savepoint back."""
    token = _covered.set(True)
    try:
        yield
    finally:
        _covered.reset(token)


def _atomic_joinable(func: Callable[..., T]) -> Callable[..., T]:
    """transaction.atomic, or no savepoint of its own inside covered_by_savepoint()."""

    @functools.wraps(func)
    def run(*args: Any, **kwargs: Any) -> T:
        if not _covered.get():
            with transaction.atomic():
                return func(*args, **kwargs)
        token = _covered.set(False)
        try:
            with transaction.atomic(savepoint=False):
                return func(*args, **kwargs)
        finally:
            _covered.reset(token)

    return run


@dataclass
class ChangeBatch:
    """Changes made together in one transaction (e.g. a batch of inbound mail). Each is
    announced as usual; a receiver whose per-change work adds up may note it here, under
    its own key, and do it for all the batch's tickets on `change_batch_ending`."""

    deferred: dict[str, Any] = field(default_factory=dict)


_change_batch: ContextVar[ChangeBatch | None] = ContextVar("change_batch", default=None)


def current_change_batch() -> ChangeBatch | None:
    """The batch the changes made now belong to, or None (each change on its own)."""
    return _change_batch.get()


@contextmanager
def batch_of_changes() -> Iterator[ChangeBatch]:
    """Run inside one transaction; when the block ends without an error,
    `change_batch_ending` is sent (still inside it). A nested block joins the outer one.
    Work noted for a change that a savepoint rolled back is still done at the end, so
    receivers' batch work reads the stored state (and skips tickets that do not exist)."""
    outer = _change_batch.get()
    if outer is not None:
        yield outer
        return
    batch = ChangeBatch()
    token = _change_batch.set(batch)
    try:
        yield batch
    finally:
        _change_batch.reset(token)
    if batch.deferred:
        change_batch_ending.send(sender=Ticket, batch=batch)


@dataclass
class _Change:
    """Events collected while a service runs, written in one query at the end."""

    ticket: Ticket
    actor: User | None
    events: list[TicketEvent] = field(default_factory=list)

    def record(self, kind: str, field: str = "", old: Any = "", new: Any = "", **data: Any):
        self.events.append(
            TicketEvent(
                ticket=self.ticket,
                actor=self.actor,
                kind=kind,
                field=field,
                old=_display(old),
                new=_display(new),
                data={**current_event_context(), **data},
            )
        )

    def save(self, *fields: str, expected_version: int | None) -> None:
        """Write the changed fields and bump the version, if nobody changed it meanwhile."""
        ticket = self.ticket
        if expected_version is not None and expected_version != ticket.version:
            raise _conflict(ticket)
        loaded = ticket.version
        ticket.version = loaded + 1
        ticket.updated_at = timezone.now()
        if not _update_ticket(ticket, loaded, tuple(dict.fromkeys(fields))):
            ticket.version = loaded
            raise _conflict(ticket)

    def finish(self) -> None:
        insert_rows(self.events)
        ticket_id = self.ticket.pk
        kinds = [event.kind for event in self.events]
        actor_id = self.actor.pk if self.actor else None
        # Inside the transaction: receivers record their jobs (soporte.jobs) with the change,
        # so a committed change never misses its side effects and a rolled-back one has none.
        ticket_changed.send(
            sender=Ticket,
            ticket_id=ticket_id,
            event_kinds=kinds,
            acting_user_id=actor_id,
            ticket=self.ticket,
            events=self.events,
        )


def _update_ticket(ticket: Ticket, loaded: int, names: tuple[str, ...]) -> int:
    """UPDATE the fields, updated_at and version + 1 where the version is still `loaded`
    (how many rows: 0 when someone changed it meanwhile); one prepared statement per set
    of fields, as the queryset's update() would write it."""
    return update_row(
        ticket, ("updated_at", *names), increment=("version",), expect={"version": loaded}
    )


def _display(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _conflict(ticket: Ticket) -> Conflict:
    return Conflict(
        _(
            "Ticket #%(number)s was changed by someone else since you loaded it. "
            "Reload it and try again."
        )
        % {"number": ticket.number}
    )


def _text(value: str, name: str, max_length: int | None = None) -> str:
    value = (value or "").strip()
    if not value:
        raise InvalidInput(_("%(name)s is required.") % {"name": name})
    if max_length and len(value) > max_length:
        raise InvalidInput(
            _("%(name)s is longer than %(max)s characters.") % {"name": name, "max": max_length}
        )
    return value


def _body(text: str, html: str) -> tuple[str, str]:
    """Sanitized HTML, and the text (from the HTML when no text was given)."""
    clean_html = sanitize_html(html)
    text = (text or "").strip() or html_to_text(clean_html)
    if not text:
        raise InvalidInput(_("The message is empty."))
    return text, clean_html


def priority_for(impact: str, urgency: str) -> Priority:
    return Priority(PRIORITY_MATRIX[(Level(impact), Level(urgency))])


def _not_member(assignee: User, team: Team | None) -> str:
    return _("%(agent)s is not a member of the team %(team)s.") % {"agent": assignee, "team": team}


def _require_staff_user(user: User, what: str) -> None:
    if not user.is_active or not user.is_agent:
        raise InvalidInput(_("%(who)s must be an active agent.") % {"who": what})


# -- opening ------------------------------------------------------------------------


@_atomic_joinable
def open_ticket(
    *,
    acting_user: User,
    subject: str,
    body: str = "",
    body_html: str = "",
    requester: User | None = None,
    channel: str = Channel.WEB,
    impact: str = Level.MEDIUM,
    urgency: str = Level.MEDIUM,
    priority: str | None = None,
    category: Category | None = None,
    team: Team | None = None,
    assignee: User | None = None,
    tags: Iterable[str] = (),
    watchers: Iterable[User] = (),
    due_at: datetime | None = None,
    files: Sequence[File] = (),
) -> Ticket:
    """Open a ticket with its first message (the request, in the requester's name).

    1. A requester opens tickets for themself only; agents open them for anyone.
    2. Priority comes from the impact x urgency matrix unless an agent sets it.
    3. The ticket, its first message and the "created" event are written together.
    """
    requester = requester or acting_user
    if not acting_user.is_agent:
        if requester.pk != acting_user.pk:
            raise PermissionDenied(_("Requesters can only open tickets for themselves."))
        if priority or team or assignee or due_at or list(watchers):
            raise PermissionDenied(_("Only agents may set priority, team, assignee or due date."))
    if not requester.is_active:
        raise InvalidInput(_("The requester's account is disabled."))
    subject = _text(subject, _("Subject"), 250)
    text, html = _body(body, body_html)
    impact, urgency = Level(impact), Level(urgency)
    if assignee is not None:
        _require_staff_user(assignee, _("The assignee"))
        # The same rule as assign(): the assignee serves the ticket's team.
        if (
            team is not None
            and not assignee.is_supervisor
            and team.pk not in policy.team_ids(assignee)
        ):
            raise InvalidInput(_not_member(assignee, team))

    ticket = Ticket(
        number=next_ticket_number(),
        subject=subject,
        status=Status.OPEN if assignee else Status.NEW,
        impact=impact,
        urgency=urgency,
        priority=Priority(priority) if priority else priority_for(impact, urgency),
        channel=Channel(channel),
        requester=requester,
        organization_id=requester.organization_id,
        assignee=assignee,
        team=team,
        tier=team.tier if team else Tier.L1,
        category=category,
        due_at=due_at,
    )
    insert_row(ticket)
    first = insert_row(
        Message(
            ticket=ticket,
            kind=MessageKind.REPLY,
            author=requester,
            channel=ticket.channel,
            body_text=text,
            body_html=html,
        )
    )
    ticket.first_message = first  # callers need it; not a field (no query to find it)
    change = _Change(ticket, acting_user)
    change.record(
        EventKind.CREATED,
        new=ticket.status,
        channel=ticket.channel,
        priority=ticket.priority,
        entered_by=acting_user.pk,
    )
    _store_files(change, files, first)
    tag_names = _clean_tags(tags)
    if tag_names:
        ticket.tags.add(*_get_tags(tag_names))
    watcher_list = [w for w in watchers if w.pk != requester.pk]
    if watcher_list:
        ticket.watchers.add(*watcher_list)
    change.finish()
    return ticket


def _clean_tags(tags: Iterable[str]) -> list[str]:
    names = []
    for tag in tags:
        name = (tag or "").strip().lower()
        if not name:
            continue
        if len(name) > 50:
            raise InvalidInput(
                _("The tag %(tag)s… is longer than 50 characters.") % {"tag": name[:20]}
            )
        if name not in names:
            names.append(name)
    return names


def _get_tags(names: Sequence[str]) -> list[Tag]:
    existing = {tag.name: tag for tag in Tag.objects.filter(name__in=names)}
    missing = [Tag(name=name) for name in names if name not in existing]
    if missing:
        Tag.objects.bulk_create(missing, ignore_conflicts=True)
        existing = {tag.name: tag for tag in Tag.objects.filter(name__in=names)}
    return [existing[name] for name in names]


# -- conversation -------------------------------------------------------------------


@_atomic_joinable
def reply(
    ticket: Ticket,
    *,
    acting_user: User,
    body: str = "",
    body_html: str = "",
    status: str | None = None,
    expected_version: int | None = None,
    files: Sequence[File] = (),
    channel: str = Channel.WEB,
) -> Message:
    """A public reply. An agent's first reply counts as the first response; a
    requester's reply brings a pending or resolved ticket back to open."""
    policy.require_view(acting_user, ticket)
    text, html = _body(body, body_html)
    change = _Change(ticket, acting_user)
    fields = []
    if ticket.status == Status.CLOSED:
        raise Conflict(
            _("Ticket #%(number)s is closed; open a new ticket instead.")
            % {"number": ticket.number}
        )
    if acting_user.is_agent:
        if ticket.first_responded_at is None:
            ticket.first_responded_at = timezone.now()
            fields.append("first_responded_at")
        new_status = Status(status) if status else None
        if new_status is None and ticket.status == Status.NEW:
            new_status = Status.OPEN
    else:
        if status:
            raise PermissionDenied(_("Requesters cannot set the status with a reply."))
        new_status = (
            Status.OPEN if ticket.status != Status.OPEN and ticket.status != Status.NEW else None
        )
    if new_status and new_status != ticket.status:
        fields += _set_status(change, new_status, resolution="")
    message = insert_row(
        Message(
            ticket=ticket,
            kind=MessageKind.REPLY,
            author=acting_user,
            channel=Channel(channel),
            body_text=text,
            body_html=html,
        )
    )
    change.record(EventKind.REPLIED, message=message.pk)
    _store_files(change, files, message)
    change.save(*fields, expected_version=expected_version)
    change.finish()
    return message


@_atomic_joinable
def add_note(
    ticket: Ticket,
    *,
    acting_user: User,
    body: str = "",
    body_html: str = "",
    expected_version: int | None = None,
    files: Sequence[File] = (),
    channel: str = Channel.WEB,
) -> Message:
    """An internal note: seen by agents only (and so are its files)."""
    policy.require_work(acting_user, ticket)
    text, html = _body(body, body_html)
    message = insert_row(
        Message(
            ticket=ticket,
            kind=MessageKind.NOTE,
            internal=True,
            author=acting_user,
            channel=Channel(channel),
            body_text=text,
            body_html=html,
        )
    )
    change = _Change(ticket, acting_user)
    change.record(EventKind.NOTE_ADDED, message=message.pk)
    _store_files(change, files, message)
    change.save(expected_version=expected_version)
    change.finish()
    return message


@transaction.atomic
def log_call(
    ticket: Ticket,
    *,
    acting_user: User,
    body: str,
    direction: str = CallDirection.INBOUND,
    duration_seconds: int | None = None,
    internal: bool = True,
    expected_version: int | None = None,
    files: Sequence[File] = (),
) -> Message:
    """A phone call an agent took or made, with its summary. Internal unless shared."""
    policy.require_work(acting_user, ticket)
    text = _text(body, _("The call summary"))
    if duration_seconds is not None and not 0 <= duration_seconds <= 86_400:
        raise InvalidInput(_("The call duration must be between 0 and 86400 seconds."))
    message = Message.objects.create(
        ticket=ticket,
        kind=MessageKind.CALL,
        internal=internal,
        author=acting_user,
        channel=Channel.PHONE,
        body_text=text,
        call_direction=CallDirection(direction),
        call_duration=duration_seconds,
    )
    change = _Change(ticket, acting_user)
    change.record(EventKind.CALL_LOGGED, message=message.pk, direction=direction)
    _store_files(change, files, message)
    fields = []
    if not internal and ticket.first_responded_at is None:
        ticket.first_responded_at = timezone.now()
        fields.append("first_responded_at")
    change.save(*fields, expected_version=expected_version)
    change.finish()
    return message


# -- routing ------------------------------------------------------------------------


@transaction.atomic
def assign(
    ticket: Ticket,
    *,
    acting_user: User,
    assignee: User | None,
    expected_version: int | None = None,
) -> Ticket:
    """Give the ticket to an agent (None takes it off everyone). A new ticket opens."""
    policy.require_work(acting_user, ticket)
    if assignee is not None:
        _require_staff_user(assignee, _("The assignee"))
        if (
            ticket.team_id
            and not assignee.is_supervisor
            and ticket.team_id not in policy.team_ids(assignee)
        ):
            raise InvalidInput(_not_member(assignee, ticket.team))
    if ticket.assignee_id == (assignee.pk if assignee else None):
        return ticket
    change = _Change(ticket, acting_user)
    change.record(EventKind.ASSIGNED, "assignee", ticket.assignee, assignee)
    ticket.assignee = assignee
    fields = ["assignee"]
    if assignee is not None and ticket.status == Status.NEW:
        fields += _set_status(change, Status.OPEN, resolution="")
    change.save(*fields, expected_version=expected_version)
    change.finish()
    return ticket


def _team_for_tier(ticket: Ticket, tier: str, to_team: Team | None) -> Team | None:
    if to_team is not None:
        if to_team.tier != tier:
            raise InvalidInput(
                _("The team %(team)s serves %(its)s, not %(tier)s.")
                % {"team": to_team, "its": to_team.tier, "tier": tier}
            )
        return to_team
    current = ticket.team
    if current is not None and current.escalation_team_id:
        target = current.escalation_team
        if target is not None and target.tier == tier:
            return target
    return Team.objects.filter(tier=tier).order_by("name", "id").first()


def _move_tier(
    ticket: Ticket,
    *,
    acting_user: User,
    step: int,
    reason: str,
    to_team: Team | None,
    expected_version: int | None,
) -> Ticket:
    policy.require_work(acting_user, ticket)
    reason = _text(reason, _("A reason"))
    if not ticket.is_active:
        raise Conflict(
            _("Ticket #%(number)s is %(status)s.")
            % {"number": ticket.number, "status": ticket.get_status_display().lower()}
        )
    tiers = Tier.ordered()
    index = tiers.index(Tier(ticket.tier)) + step
    if not 0 <= index < len(tiers):
        message = (
            _("Ticket #%(number)s is already at the highest tier.")
            if step > 0
            else _("Ticket #%(number)s is already at the lowest tier.")
        )
        raise InvalidInput(message % {"number": ticket.number})
    new_tier = tiers[index]
    new_team = _team_for_tier(ticket, new_tier, to_team)
    change = _Change(ticket, acting_user)
    change.record(
        EventKind.ESCALATED if step > 0 else EventKind.DEESCALATED,
        "tier",
        ticket.tier,
        new_tier,
        reason=reason,
        from_team=ticket.team_id,
        to_team=new_team.pk if new_team else None,
    )
    fields = ["tier", "team"]
    if ticket.team_id != (new_team.pk if new_team else None):
        change.record(EventKind.UPDATED, "team", ticket.team, new_team)
    # The assignee keeps the ticket only when they serve the new team.
    if ticket.assignee_id and (
        new_team is None or ticket.assignee_id not in new_team.members.values_list("id", flat=True)
    ):
        change.record(EventKind.ASSIGNED, "assignee", ticket.assignee, None)
        ticket.assignee = None
        fields.append("assignee")
    ticket.tier, ticket.team = new_tier, new_team
    change.save(*fields, expected_version=expected_version)
    change.finish()
    return ticket


@transaction.atomic
def escalate(
    ticket: Ticket,
    *,
    acting_user: User,
    reason: str,
    to_team: Team | None = None,
    expected_version: int | None = None,
) -> Ticket:
    """Move the ticket up one tier (L1 -> L2 -> L3) to that tier's team."""
    return _move_tier(
        ticket,
        acting_user=acting_user,
        step=1,
        reason=reason,
        to_team=to_team,
        expected_version=expected_version,
    )


@transaction.atomic
def deescalate(
    ticket: Ticket,
    *,
    acting_user: User,
    reason: str,
    to_team: Team | None = None,
    expected_version: int | None = None,
) -> Ticket:
    """Move the ticket down one tier, e.g. when L3 hands the follow-up back to L1."""
    return _move_tier(
        ticket,
        acting_user=acting_user,
        step=-1,
        reason=reason,
        to_team=to_team,
        expected_version=expected_version,
    )


# -- events other areas report ------------------------------------------------------


@transaction.atomic
def log_event(ticket: Ticket, *, acting_user: User | None, kind: str, **data: Any) -> TicketEvent:
    """Record something that happened to the ticket without changing it (an SLA warning
    or breach, a macro applied), announced like any change so mail and rules can act."""
    change = _Change(ticket, acting_user)
    change.record(EventKind(kind), **data)
    change.finish()
    return change.events[0]


def log_events(
    tickets: Sequence[Ticket],
    *,
    acting_user: User | None,
    kind: str,
    each: Mapping[int, Mapping[str, Any]] | None = None,
    **data: Any,
) -> list[TicketEvent]:
    """log_event() for many tickets: the events written in one query, each ticket's change
    announced (ticket_changed) within one batch of changes. `each` adds data of a ticket's
    own event, by ticket id (e.g. which ticket it duplicates)."""
    context = current_event_context()
    each = each or {}
    events = insert_rows(
        [
            TicketEvent(
                ticket=ticket,
                actor=acting_user,
                kind=kind,
                data={**context, **data, **each.get(ticket.pk, {})},
            )
            for ticket in tickets
        ]
    )
    actor_id = acting_user.pk if acting_user else None
    with batch_of_changes():
        for ticket, event in zip(tickets, events, strict=True):
            ticket_changed.send(
                sender=Ticket,
                ticket_id=ticket.pk,
                event_kinds=[event.kind],
                acting_user_id=actor_id,
                ticket=ticket,
                events=[event],
            )
    return events


# -- status -------------------------------------------------------------------------


def _set_status(change: _Change, status: Status, *, resolution: str) -> list[str]:
    """Apply one status move to the ticket in memory; return the fields it touched."""
    ticket = change.ticket
    old = Status(ticket.status)
    if status == old:
        return []
    if status not in TRANSITIONS[old]:
        raise Conflict(
            _("A %(old)s ticket cannot become %(new)s.")
            % {"old": old.label.lower(), "new": status.label.lower()}
        )
    now = timezone.now()
    fields = ["status"]
    if status == Status.RESOLVED:
        guards.check_resolvable(ticket)  # other areas' holds, e.g. required checklist steps
        ticket.resolution = _text(resolution, _("A resolution summary"))
        ticket.resolved_at = now
        fields += ["resolution", "resolved_at"]
    elif status == Status.CLOSED:
        ticket.closed_at = now
        fields.append("closed_at")
    elif old in (Status.RESOLVED, Status.CLOSED):
        ticket.resolved_at = ticket.closed_at = None
        fields += ["resolved_at", "closed_at"]
    change.record(
        EventKind.STATUS_CHANGED,
        "status",
        old,
        status,
        resolution=ticket.resolution if status == Status.RESOLVED else "",
    )
    ticket.status = status
    return fields


def _change_status(
    ticket: Ticket,
    acting_user: User,
    status: Status,
    *,
    resolution: str = "",
    reason: str = "",
    expected_version: int | None,
) -> Ticket:
    change = _Change(ticket, acting_user)
    fields = _set_status(change, status, resolution=resolution)
    if not fields:
        raise Conflict(
            _("Ticket #%(number)s is already %(status)s.")
            % {"number": ticket.number, "status": status.label.lower()}
        )
    if reason:
        change.events[-1].data["reason"] = reason
    change.save(*fields, expected_version=expected_version)
    change.finish()
    return ticket


@transaction.atomic
def change_status(
    ticket: Ticket,
    *,
    acting_user: User,
    status: str,
    resolution: str = "",
    expected_version: int | None = None,
) -> Ticket:
    """Move the ticket along the allowed transitions (resolving needs a summary)."""
    policy.require_work(acting_user, ticket)
    if ticket.merged_into_id:
        raise Conflict(
            _("Ticket #%(number)s was merged; work on the ticket it went into.")
            % {"number": ticket.number}
        )
    return _change_status(
        ticket,
        acting_user,
        Status(status),
        resolution=resolution,
        expected_version=expected_version,
    )


@transaction.atomic
def resolve(
    ticket: Ticket,
    *,
    acting_user: User,
    resolution: str,
    expected_version: int | None = None,
) -> Ticket:
    """Mark solved, with a summary of what fixed it. Requesters may resolve their own."""
    policy.require_view(acting_user, ticket)
    if not acting_user.is_agent and ticket.requester_id != acting_user.pk:
        raise PermissionDenied(_("Requesters can resolve only the tickets they opened."))
    return _change_status(
        ticket, acting_user, Status.RESOLVED, resolution=resolution,
        expected_version=expected_version,
    )  # fmt: skip


@transaction.atomic
def reopen(
    ticket: Ticket,
    *,
    acting_user: User,
    reason: str = "",
    expected_version: int | None = None,
) -> Ticket:
    """Back to open. Requesters may reopen a resolved ticket; only agents a closed one."""
    policy.require_view(acting_user, ticket)
    if ticket.status not in (Status.RESOLVED, Status.CLOSED):
        raise Conflict(
            _("Ticket #%(number)s is not resolved or closed.") % {"number": ticket.number}
        )
    if ticket.status == Status.CLOSED and not acting_user.is_agent:
        raise PermissionDenied(_("A closed ticket can only be reopened by an agent."))
    if ticket.merged_into_id:
        raise Conflict(
            _("Ticket #%(number)s was merged; reopen the ticket it went into.")
            % {"number": ticket.number}
        )
    return _change_status(
        ticket, acting_user, Status.OPEN, reason=reason.strip(),
        expected_version=expected_version,
    )  # fmt: skip


@transaction.atomic
def close(ticket: Ticket, *, acting_user: User, expected_version: int | None = None) -> Ticket:
    """Close a resolved ticket for good (a closed ticket no longer takes replies)."""
    policy.require_work(acting_user, ticket)
    return _change_status(ticket, acting_user, Status.CLOSED, expected_version=expected_version)


# -- editing ------------------------------------------------------------------------

_UNSET: Any = object()


@transaction.atomic
def update_ticket(
    ticket: Ticket,
    *,
    acting_user: User,
    expected_version: int | None = None,
    subject: str = _UNSET,
    impact: str = _UNSET,
    urgency: str = _UNSET,
    priority: str = _UNSET,
    category: Category | None = _UNSET,
    team: Team | None = _UNSET,
    due_at: datetime | None = _UNSET,
    tags: Sequence[str] = _UNSET,
    watchers: Sequence[User] = _UNSET,
) -> Ticket:
    """Change the ticket's fields; every changed field is one event (old -> new).

    Changing impact or urgency recomputes the priority unless a priority is given.
    Moving to another team keeps the tier; use escalate to change tiers.
    """
    policy.require_work(acting_user, ticket)
    change = _Change(ticket, acting_user)
    fields: list[str] = []

    def set_field(name: str, value: Any) -> None:
        old = getattr(ticket, name)
        if old != value:
            change.record(EventKind.UPDATED, name, old, value)
            setattr(ticket, name, value)
            fields.append(name)

    if subject is not _UNSET:
        set_field("subject", _text(subject, _("Subject"), 250))
    if impact is not _UNSET:
        set_field("impact", Level(impact))
    if urgency is not _UNSET:
        set_field("urgency", Level(urgency))
    if priority is not _UNSET:
        set_field("priority", Priority(priority))
    elif "impact" in fields or "urgency" in fields:
        set_field("priority", priority_for(ticket.impact, ticket.urgency))
    if category is not _UNSET:
        set_field("category", category)
    if team is not _UNSET:
        set_field("team", team)
    if due_at is not _UNSET:
        set_field("due_at", due_at)
    if tags is not _UNSET:
        names = _clean_tags(tags)
        old_names = sorted(ticket.tags.values_list("name", flat=True))
        if sorted(names) != old_names:
            ticket.tags.set(_get_tags(names))
            change.record(EventKind.UPDATED, "tags", ", ".join(old_names), ", ".join(sorted(names)))
    if watchers is not _UNSET:
        old_ids = set(ticket.watchers.values_list("id", flat=True))
        new_ids = {w.pk for w in watchers}
        if old_ids != new_ids:
            ticket.watchers.set(list(watchers))
            change.record(EventKind.UPDATED, "watchers", sorted(old_ids), sorted(new_ids))
    if not change.events:
        return ticket
    change.save(*fields, expected_version=expected_version)
    change.finish()
    return ticket


@transaction.atomic
def merge(
    source: Ticket,
    *,
    into: Ticket,
    acting_user: User,
    expected_version: int | None = None,
) -> Ticket:
    """Merge a duplicate into another ticket.

    1. The source's messages and attachments move to the target; its requester and
       watchers become watchers of the target.
    2. The source is closed and points at the target; each keeps its own events, and
       each gets a "merged" event naming the other.
    """
    policy.require_work(acting_user, source)
    policy.require_work(acting_user, into)
    if source.pk == into.pk:
        raise InvalidInput(_("A ticket cannot be merged into itself."))
    if source.merged_into_id:
        raise Conflict(_("Ticket #%(number)s was already merged.") % {"number": source.number})
    if into.merged_into_id or into.status == Status.CLOSED:
        raise Conflict(
            _("Ticket #%(number)s is closed; pick an open ticket to merge into.")
            % {"number": into.number}
        )
    moved = source.messages.update(ticket=into)
    source.attachments.update(ticket=into)
    people = set(source.watchers.values_list("id", flat=True)) | {source.requester_id}
    people.discard(into.requester_id)
    if people:
        into.watchers.add(*people)

    source_change = _Change(source, acting_user)
    source_change.record(EventKind.MERGED, "merged_into", "", into.number, into=into.number)
    source_change.record(
        EventKind.STATUS_CHANGED, "status", source.status, Status.CLOSED, reason="merged"
    )
    source.status, source.merged_into, source.closed_at = Status.CLOSED, into, timezone.now()
    source_change.save("status", "merged_into", "closed_at", expected_version=expected_version)
    source_change.finish()

    into_change = _Change(into, acting_user)
    into_change.record(
        EventKind.MERGED, "merged_from", "", source.number, source=source.number, messages=moved
    )
    into_change.save(expected_version=None)
    into_change.finish()
    return into


# -- attachments --------------------------------------------------------------------


@transaction.atomic
def add_attachment(
    ticket: Ticket,
    *,
    acting_user: User,
    upload: IO[bytes],
    filename: str,
    size: int,
    message: Message | None = None,
) -> Attachment:
    """Store a file on the ticket under a random name.

    Refused with a clear error when it is larger than SOPORTE_MAX_ATTACHMENT_BYTES, is a
    program, or its content contradicts its name. Files on an internal note, or added
    by an agent without a message, are internal unless the message is public.
    """
    policy.require_view(acting_user, ticket)
    if message is not None and (
        message.ticket_id != ticket.pk or message.author_id != acting_user.pk
    ):
        raise InvalidInput(_("Files can be added only to your own messages on this ticket."))
    change = _Change(ticket, acting_user)
    attachment = _store_file(change, upload, filename, size, message)
    change.save(expected_version=None)
    change.finish()
    return attachment


def _store_file(
    change: _Change, upload: IO[bytes], filename: str, size: int, message: Message | None
) -> Attachment:
    """Check one file, store it under a random name, record the event (no commit)."""
    ticket, acting_user = change.ticket, change.actor
    assert acting_user is not None
    checked = check_upload(upload, filename, size, settings.MAX_ATTACHMENT_BYTES)
    internal = message.internal if message is not None else acting_user.is_agent
    attachment = Attachment(
        ticket=ticket,
        message=message,
        token=secrets.token_hex(16),
        filename=checked.name,
        content_type=checked.content_type,
        size=checked.size,
        sha256=checked.sha256,
        internal=internal,
        uploaded_by=acting_user,
    )
    attachment.file.save(attachment.token, File(upload), save=False)
    insert_row(attachment)  # nobody listens to its save: the cheap statement
    change.record(
        EventKind.ATTACHMENT_ADDED, new=checked.name, attachment=attachment.pk, size=checked.size
    )
    return attachment


def _store_files(change: _Change, files: Sequence[File], message: Message) -> None:
    for upload in files:
        _store_file(change, upload, upload.name or "attachment", upload.size, message)


# -- categories ---------------------------------------------------------------------


@transaction.atomic
def create_category(
    *, acting_user: User, name: str, parent: Category | None = None, description: str = ""
) -> Category:
    policy.require_admin(acting_user)
    name = _text(name, _("A name"), 120)
    if Category.objects.filter(parent=parent, name__iexact=name).exists():
        raise Conflict(_("The category %(name)s already exists there.") % {"name": name})
    return Category.objects.create(name=name, parent=parent, description=description)


@transaction.atomic
def update_category(
    category: Category,
    *,
    acting_user: User,
    name: str | None = None,
    parent: Category | None | Any = _UNSET,
    description: str | None = None,
) -> Category:
    policy.require_admin(acting_user)
    if name is not None:
        category.name = _text(name, _("A name"), 120)
    if parent is not _UNSET:
        ancestor = parent
        while ancestor is not None:
            if ancestor.pk == category.pk:
                raise InvalidInput(_("A category cannot be inside itself."))
            ancestor = ancestor.parent
        category.parent = parent
    if description is not None:
        category.description = description
    clash = Category.objects.filter(parent=category.parent, name__iexact=category.name)
    if clash.exclude(pk=category.pk).exists():
        raise Conflict(_("The category %(name)s already exists there.") % {"name": category.name})
    category.save()
    return category


# -- macros -------------------------------------------------------------------------


@dataclass
class MacroResult:
    ticket: Ticket
    message: Message | None  # the reply or note it posted, if it has a text
    unknown_placeholders: list[str]  # left as typed (only in macros saved before the check)


@transaction.atomic
def apply_macro(
    ticket: Ticket,
    macro: CannedResponse,
    *,
    acting_user: User,
    expected_version: int | None = None,
) -> MacroResult:
    """Apply a macro: post its text and make its changes, all or nothing.

    1. The agent must work the ticket and may use the macro: a shared one or their own
       (someone else's personal macro looks absent).
    2. A "macro applied" event is written first, refused (409) when the ticket changed
       since `expected_version`. Every event of the step names the macro.
    3. The text, placeholders rendered for the ticket as it will be (a public reply in
       the requester's language), is posted with reply() or add_note(); a reply carries
       the status when it can, else change_status() sets it, or resolve() with the
       reply as the resolution summary.
    4. Impact, urgency, tags and team through update_ticket(), then the assignee through
       assign(): each the usual service, so mail, SLA and search follow every part.
    """
    policy.require_work(acting_user, ticket)
    if macro.owner_id is not None and macro.owner_id != acting_user.pk:
        raise NotFound(_("Macro not found."))
    body = macro.body.strip()
    posts_reply = bool(body) and macro.kind == MacroKind.REPLY
    status = Status(macro.status) if macro.status else None
    if status == Status.RESOLVED and not posts_reply:
        raise InvalidInput(
            _("A macro that resolves needs a public reply: it becomes the resolution summary.")
        )
    assignee = _macro_assignee(macro, acting_user)
    if (
        assignee is not None
        and assignee.pk != acting_user.pk
        and macro.team_id
        and not acting_user.is_supervisor
        and macro.team_id not in policy.team_ids(acting_user)
    ):
        # The move would take the ticket out of the agent's sight before the assignment.
        raise PermissionDenied(
            _("You do not serve %(team)s, so you cannot assign its tickets.") % {"team": macro.team}
        )
    rendered = render_macro(ticket, macro, acting_user=acting_user)
    message = None
    with event_context(macro=macro.pk, macro_title=macro.title):
        change = _Change(ticket, acting_user)
        change.record(EventKind.MACRO_APPLIED, new=macro.title)
        change.save(expected_version=expected_version)
        change.finish()
        if posts_reply:
            message = reply(
                ticket,
                acting_user=acting_user,
                body=rendered.text,
                status=status if status != Status.RESOLVED else None,
            )
        elif body:
            message = add_note(ticket, acting_user=acting_user, body=rendered.text)
        if status == Status.RESOLVED and ticket.status != Status.RESOLVED:
            resolve(ticket, acting_user=acting_user, resolution=rendered.text)
        elif status is not None and ticket.status != status:
            change_status(ticket, acting_user=acting_user, status=status)
        fields: dict[str, Any] = {}
        if macro.impact:
            fields["impact"] = macro.impact
        if macro.urgency:
            fields["urgency"] = macro.urgency
        if macro.add_tags:
            fields["tags"] = [*ticket.tags.values_list("name", flat=True), *macro.add_tags]
        if macro.team_id:
            fields["team"] = macro.team
        if fields:
            update_ticket(ticket, acting_user=acting_user, **fields)
        if assignee is not None:
            assign(ticket, acting_user=acting_user, assignee=assignee)
    return MacroResult(ticket, message, rendered.unknown)


def _macro_assignee(macro: CannedResponse, acting_user: User) -> User | None:
    if macro.assign == MacroAssign.ME:
        return acting_user
    if macro.assign == MacroAssign.AGENT:
        if macro.assignee is None:
            raise InvalidInput(_("The macro assigns to an agent but names none."))
        return macro.assignee
    return None


def render_macro(ticket: Ticket, macro: CannedResponse, *, acting_user: User) -> macros.Rendered:
    """The macro's text for this ticket as it will be once the macro is applied: its new
    status and priority, in the requester's language for a public reply (else the
    active one). Changes nothing."""
    posts_reply = bool(macro.body.strip()) and macro.kind == MacroKind.REPLY
    impact, urgency = macro.impact or ticket.impact, macro.urgency or ticket.urgency
    priority = (
        priority_for(impact, urgency)
        if (impact, urgency) != (ticket.impact, ticket.urgency)
        else ticket.priority
    )
    opens = ticket.status == Status.NEW and (posts_reply or bool(macro.assign))
    language = (
        macros.requester_language(ticket)
        if posts_reply
        else translation.get_language() or settings.LANGUAGE_CODE
    )
    values = macros.values_for(
        ticket,
        agent=acting_user,
        language=language,
        status=macro.status or (Status.OPEN if opens else ticket.status),
        priority=priority,
    )
    return macros.render(macro.body.strip(), values)
