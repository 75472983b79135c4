"""REST endpoints for tickets: thin, each parses input and calls one service."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from django.db.models import Prefetch, QuerySet, Sum
from django.http import HttpRequest
from ninja import File, Form, Query, Router, Schema
from ninja import Status as HttpStatus
from ninja.files import UploadedFile
from pydantic import Field

from soporte.accounts import policy
from soporte.accounts.models import Team, Tier, User
from soporte.lib.errors import BadRequest, InvalidInput, NotFound, PermissionDenied
from soporte.lib.schema import AwareDatetime, Id, Number, text

from . import satisfaction, services, timelog, workspace
from .downloads import attachment_response
from .models import (
    Attachment,
    Category,
    Channel,
    Message,
    Priority,
    RunningTimer,
    SatisfactionRating,
    Status,
    Ticket,
    TicketEvent,
    TimeEntry,
)
from .queries import SUMMARY_VALUES, TicketFilter, paginate, summaries
from .schemas import (
    AssignIn,
    AttachmentOut,
    CategoryIn,
    CategoryOut,
    CategoryPatch,
    EventOut,
    MacroApplied,
    MacroIn,
    MacroOut,
    MacroPatch,
    MergeIn,
    MessageIn,
    MessageOut,
    ReopenIn,
    ResolveIn,
    SortName,
    StatusIn,
    TicketDetail,
    TicketIn,
    TicketPage,
    TicketPatch,
    TierMoveIn,
    Versioned,
)

router = Router(tags=["tickets"])
categories_router = Router(tags=["categories"])
macros_router = Router(tags=["macros"])

_RELATED = ("requester", "assignee", "team", "organization", "category", "merged_into")


def _with_related(tickets: QuerySet[Ticket]) -> QuerySet[Ticket]:
    return tickets.select_related(*_RELATED).prefetch_related("tags")


def _ticket(request: HttpRequest, number: int) -> Ticket:
    return policy.get_visible_ticket(request.auth, number)


def _get(model, pk: int | None, what: str):
    if pk is None:
        return None
    obj = model.objects.filter(pk=pk).first()
    if obj is None:
        raise InvalidInput(f"{what} {pk} does not exist.")
    return obj


def _user(pk: int | None, what: str) -> User | None:
    return _get(User, pk, what)


def _detail(request: HttpRequest, number: int) -> Ticket:
    """The full ticket, once access was checked (an escalation may just have moved it
    out of the acting agent's queues; they still get the result of what they did)."""
    return _with_related(Ticket.objects).prefetch_related("watchers").get(number=number)


class TicketQuery(Schema):
    status: list[Status] | None = Field(None, description="Repeat for several.")
    priority: list[Priority] | None = None
    assignee: Annotated[str, Field(pattern=r"^(me|none|\d{1,15})$")] | None = Field(
        None, description="A user id, 'me' or 'none' (unassigned)."
    )
    team: Id | None = None
    tier: Tier | None = None
    organization: Id | None = None
    requester: Id | None = None
    category: Id | None = None
    tag: text(50) | None = None
    updated_since: AwareDatetime | None = None
    q: text(200) | None = Field(None, description="Words in the subject, or a ticket number.")
    sort: SortName = "-updated_at"
    cursor: text(200) | None = None
    limit: int = Field(50, ge=1, le=100)

    def to_filter(self, user: User) -> TicketFilter:
        assignee = None
        if self.assignee == "me":
            assignee = user.pk
        elif self.assignee and self.assignee != "none":
            assignee = int(self.assignee)
        return TicketFilter(
            status=self.status,
            priority=self.priority,
            assignee=assignee,
            unassigned=self.assignee == "none",
            team=self.team,
            tier=self.tier,
            organization=self.organization,
            requester=self.requester,
            category=self.category,
            tag=self.tag,
            updated_since=self.updated_since,
            q=self.q,
        )


@router.get("", response=TicketPage, summary="List the tickets you may see")
def list_tickets(request: HttpRequest, query: Query[TicketQuery]):
    tickets = query.to_filter(request.auth).apply(policy.visible_tickets(request.auth))
    page = paginate(
        tickets, sort=query.sort, cursor=query.cursor, limit=query.limit, values=SUMMARY_VALUES
    )
    return {"items": summaries(page.items), "next_cursor": page.next_cursor}


@router.post("", response={201: TicketDetail}, summary="Open a ticket")
def create_ticket(request: HttpRequest, data: TicketIn):
    user = request.auth
    channel = data.channel or Channel.API
    if not user.is_agent and channel not in (Channel.API, Channel.WEB):
        raise PermissionDenied("Requesters open tickets by the API or the web portal.")
    ticket = services.open_ticket(
        acting_user=user,
        subject=data.subject,
        body=data.body,
        body_html=data.body_html,
        requester=_user(data.requester_id, "User"),
        channel=channel,
        impact=data.impact,
        urgency=data.urgency,
        priority=data.priority,
        category=_get(Category, data.category_id, "Category"),
        team=_get(Team, data.team_id, "Team"),
        assignee=_user(data.assignee_id, "User"),
        tags=data.tags,
        watchers=list(User.objects.filter(pk__in=data.watcher_ids)),
        due_at=data.due_at,
    )
    return HttpStatus(201, _detail(request, ticket.number))


@router.get("/{number}", response=TicketDetail, summary="Read a ticket")
def read_ticket(request: HttpRequest, number: Number):
    _ticket(request, number)
    return _detail(request, number)


@router.patch("/{number}", response=TicketDetail, summary="Change a ticket's fields")
def update_ticket(request: HttpRequest, number: Number, data: TicketPatch):
    ticket = _ticket(request, number)
    changes = data.model_dump(exclude_unset=True, exclude={"version"})
    if "category_id" in changes:
        changes["category"] = _get(Category, changes.pop("category_id"), "Category")
    if "team_id" in changes:
        changes["team"] = _get(Team, changes.pop("team_id"), "Team")
    if "watcher_ids" in changes:
        ids = changes.pop("watcher_ids") or []
        changes["watchers"] = list(User.objects.filter(pk__in=ids))
    for required in ("subject", "impact", "urgency", "priority"):
        if required in changes and changes[required] is None:
            raise InvalidInput(f"{required} cannot be empty.")
    if changes.get("tags") is None:
        changes.pop("tags", None)
    services.update_ticket(
        ticket, acting_user=request.auth, expected_version=data.version, **changes
    )
    return _detail(request, number)


# -- conversation -------------------------------------------------------------------


@router.get("/{number}/messages", response=list[MessageOut], summary="The conversation")
def list_messages(request: HttpRequest, number: Number):
    ticket = _ticket(request, number)
    attachments = policy.visible_attachments(request.auth, ticket)
    return (
        policy.visible_messages(request.auth, ticket)
        .select_related("author")
        .prefetch_related(Prefetch("attachments", queryset=attachments))
    )


@router.post("/{number}/messages", response={201: MessageOut}, summary="Reply, note or call")
def add_message(request: HttpRequest, number: Number, data: MessageIn):
    ticket = _ticket(request, number)
    common = {"acting_user": request.auth, "expected_version": data.version}
    if data.kind == "reply":
        message = services.reply(
            ticket, body=data.body, body_html=data.body_html, status=data.status, **common
        )
    elif data.kind == "note":
        message = services.add_note(ticket, body=data.body, body_html=data.body_html, **common)
    else:
        message = services.log_call(
            ticket,
            body=data.body,
            direction=data.direction,
            duration_seconds=data.duration_seconds,
            internal=data.internal,
            **common,
        )
    return HttpStatus(201, Message.objects.select_related("author").get(pk=message.pk))


@router.get("/{number}/events", response=list[EventOut], summary="The audit trail (agents)")
def list_events(request: HttpRequest, number: Number):
    ticket = _ticket(request, number)
    policy.require_agent(request.auth)
    return TicketEvent.objects.filter(ticket=ticket).select_related("actor")


# -- actions ------------------------------------------------------------------------


@router.post("/{number}/assign", response=TicketDetail)
def assign(request: HttpRequest, number: Number, data: AssignIn):
    ticket = _ticket(request, number)
    services.assign(
        ticket,
        acting_user=request.auth,
        assignee=_user(data.assignee_id, "User"),
        expected_version=data.version,
    )
    return _detail(request, number)


@router.post("/{number}/escalate", response=TicketDetail, summary="Up one tier (reason required)")
def escalate(request: HttpRequest, number: Number, data: TierMoveIn):
    ticket = _ticket(request, number)
    services.escalate(
        ticket,
        acting_user=request.auth,
        reason=data.reason,
        to_team=_get(Team, data.team_id, "Team"),
        expected_version=data.version,
    )
    return _detail(request, number)


@router.post("/{number}/deescalate", response=TicketDetail, summary="Down one tier")
def deescalate(request: HttpRequest, number: Number, data: TierMoveIn):
    ticket = _ticket(request, number)
    services.deescalate(
        ticket,
        acting_user=request.auth,
        reason=data.reason,
        to_team=_get(Team, data.team_id, "Team"),
        expected_version=data.version,
    )
    return _detail(request, number)


@router.post("/{number}/status", response=TicketDetail)
def change_status(request: HttpRequest, number: Number, data: StatusIn):
    ticket = _ticket(request, number)
    services.change_status(
        ticket,
        acting_user=request.auth,
        status=data.status,
        resolution=data.resolution,
        expected_version=data.version,
    )
    return _detail(request, number)


@router.post("/{number}/resolve", response=TicketDetail, summary="Resolve (summary required)")
def resolve(request: HttpRequest, number: Number, data: ResolveIn):
    ticket = _ticket(request, number)
    services.resolve(
        ticket, acting_user=request.auth, resolution=data.resolution,
        expected_version=data.version,
    )  # fmt: skip
    return _detail(request, number)


@router.post("/{number}/reopen", response=TicketDetail)
def reopen(request: HttpRequest, number: Number, data: ReopenIn):
    ticket = _ticket(request, number)
    services.reopen(
        ticket, acting_user=request.auth, reason=data.reason, expected_version=data.version
    )
    return _detail(request, number)


@router.post("/{number}/close", response=TicketDetail)
def close(request: HttpRequest, number: Number, data: Versioned):
    ticket = _ticket(request, number)
    services.close(ticket, acting_user=request.auth, expected_version=data.version)
    return _detail(request, number)


@router.post("/{number}/merge", response=TicketDetail, summary="Merge into another ticket")
def merge(request: HttpRequest, number: Number, data: MergeIn):
    source = _ticket(request, number)
    into = _ticket(request, data.into)
    services.merge(source, into=into, acting_user=request.auth, expected_version=data.version)
    return _detail(request, data.into)


@router.post(
    "/{number}/macros/{macro_id}/apply",
    response=MacroApplied,
    summary="Apply a macro: its reply or note and its changes, in one step",
)
def apply_macro(request: HttpRequest, number: Number, macro_id: Id, data: Versioned):
    policy.require_agent(request.auth)
    ticket = _ticket(request, number)
    macro = workspace.get_macro(request.auth, macro_id)
    result = services.apply_macro(
        ticket, macro, acting_user=request.auth, expected_version=data.version
    )
    message = (
        Message.objects.select_related("author").get(pk=result.message.pk)
        if result.message
        else None
    )
    return {
        "ticket": _detail(request, number),
        "message": message,
        "unknown_placeholders": result.unknown_placeholders,
    }


# -- attachments --------------------------------------------------------------------


@router.get("/{number}/attachments", response=list[AttachmentOut])
def list_attachments(request: HttpRequest, number: Number):
    ticket = _ticket(request, number)
    return policy.visible_attachments(request.auth, ticket)


@router.post("/{number}/attachments", response={201: AttachmentOut}, summary="Upload a file")
def upload_attachment(
    request: HttpRequest,
    number: Number,
    file: File[UploadedFile],
    message_id: Form[Id | None] = None,
):
    ticket = _ticket(request, number)
    message = None
    if message_id is not None:
        # Only among the messages the person may see: an internal note looks absent.
        visible = policy.visible_messages(request.auth, ticket)
        message = visible.filter(pk=message_id).first()
        if message is None:
            raise InvalidInput(f"Message {message_id} is not on ticket #{number}.")
    return HttpStatus(
        201,
        services.add_attachment(
            ticket,
            acting_user=request.auth,
            upload=file,
            filename=file.name or "attachment",
            size=file.size,
            message=message,
        ),
    )


@router.get("/{number}/attachments/{attachment_id}", summary="Download a file")
def download_attachment(request: HttpRequest, number: Number, attachment_id: Id):
    ticket = _ticket(request, number)
    attachment: Attachment | None = (
        policy.visible_attachments(request.auth, ticket).filter(pk=attachment_id).first()
    )
    if attachment is None:
        raise NotFound("Attachment not found.")
    return attachment_response(attachment)


# -- categories ---------------------------------------------------------------------


@categories_router.get("", response=list[CategoryOut])
def list_categories(request: HttpRequest):
    return Category.objects.all()


@categories_router.post("", response={201: CategoryOut})
def create_category(request: HttpRequest, data: CategoryIn):
    return HttpStatus(
        201,
        services.create_category(
            acting_user=request.auth,
            name=data.name,
            parent=_get(Category, data.parent_id, "Category"),
            description=data.description,
        ),
    )


@categories_router.patch("/{category_id}", response=CategoryOut)
def update_category(request: HttpRequest, category_id: Id, data: CategoryPatch):
    policy.require_admin(request.auth)
    category = Category.objects.filter(pk=category_id).first()
    if category is None:
        raise NotFound("Category not found.")
    changes = data.model_dump(exclude_unset=True)
    if "parent_id" in changes:
        changes["parent"] = _get(Category, changes.pop("parent_id"), "Category")
    return services.update_category(category, acting_user=request.auth, **changes)


# -- macros -------------------------------------------------------------------------


def _macro_changes(changes: dict) -> dict:
    """API fields to service arguments: ids to objects, null to "no change"."""
    if "team_id" in changes:
        changes["team"] = _get(Team, changes.pop("team_id"), "Team")
    if "assignee_id" in changes:
        changes["assignee"] = _user(changes.pop("assignee_id"), "User")
    for name in ("status", "impact", "urgency", "assign"):
        if name in changes and changes[name] is None:
            changes[name] = ""
    for required in ("title", "body", "shared", "kind", "tags"):
        if required in changes and changes[required] is None:
            if required == "title":
                raise InvalidInput("title cannot be empty.")
            changes.pop(required)
    return changes


@macros_router.get("", response=list[MacroOut], summary="The macros you may use: shared and yours")
def list_macros(request: HttpRequest):
    policy.require_agent(request.auth)
    return workspace.canned_responses(request.auth).select_related("owner")


@macros_router.post("", response={201: MacroOut}, summary="Create a macro (shared: supervisors)")
def create_macro(request: HttpRequest, data: MacroIn):
    policy.require_agent(request.auth)
    macro = workspace.create_macro(acting_user=request.auth, **_macro_changes(data.model_dump()))
    return HttpStatus(201, macro)


@macros_router.patch("/{macro_id}", response=MacroOut, summary="Change a macro")
def update_macro(request: HttpRequest, macro_id: Id, data: MacroPatch):
    macro = workspace.get_macro(request.auth, macro_id)
    changes = _macro_changes(data.model_dump(exclude_unset=True))
    return workspace.update_macro(macro, acting_user=request.auth, **changes)


@macros_router.delete("/{macro_id}", response={204: None}, summary="Delete a macro")
def delete_macro(request: HttpRequest, macro_id: Id):
    macro = workspace.get_macro(request.auth, macro_id)
    workspace.delete_macro(macro, acting_user=request.auth)
    return HttpStatus(204, None)


# -- time tracking and satisfaction (issue 9) -----------------------------------------

time_router = Router(tags=["time"])

Seconds = Annotated[int, Field(ge=1, le=timelog.MAX_SECONDS)]
Day = Annotated[date, Field(ge=date(1970, 1, 1), le=date(9999, 1, 1))]


class TimeEntryOut(Schema):
    id: int
    ticket: int = Field(description="The ticket's number.")
    agent_id: int
    agent: str
    seconds: int
    duration: str = Field(description='The same time for people, e.g. "1h 30m".')
    note: str
    billable: bool
    started_at: datetime | None = Field(description="When its timer started, if it had one.")
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_ticket(entry: TimeEntry) -> int:
        return entry.ticket.number

    @staticmethod
    def resolve_agent(entry: TimeEntry) -> str:
        return str(entry.agent)

    @staticmethod
    def resolve_duration(entry: TimeEntry) -> str:
        return timelog.format_duration(entry.seconds)


class TimeEntryIn(Schema):
    duration: text(40) | None = Field(
        None, description='As people write it: "25m", "1h 30m", "1:30". Or give seconds.'
    )
    seconds: Seconds | None = None
    note: text(timelog.NOTE_MAX) = ""
    billable: bool = False


class TimeEntryPatch(Schema):
    duration: text(40) | None = None
    seconds: Seconds | None = None
    note: text(timelog.NOTE_MAX) | None = None
    billable: bool | None = None


class TimeTimerIn(Schema):
    note: text(timelog.NOTE_MAX) = ""


class TimeTimerStopIn(Schema):
    note: text(timelog.NOTE_MAX) | None = Field(None, description="Default: the timer's note.")
    billable: bool = False


class TimeTimerOut(Schema):
    ticket: int
    started_at: datetime
    note: str

    @staticmethod
    def resolve_ticket(timer: RunningTimer) -> int:
        return timer.ticket.number


class TimeEntryQuery(Schema):
    agent: Id | None = Field(None, description="A user id.")
    organization: Id | None = None
    ticket: Number | None = Field(None, description="A ticket number.")
    since: Day | None = Field(None, description="Logged on or after this day.")
    until: Day | None = Field(None, description="Logged on or before this day.")
    billable: bool | None = None
    cursor: text(20) | None = None
    limit: int = Field(100, ge=1, le=500)


class TimeEntryPage(Schema):
    items: list[TimeEntryOut]
    next_cursor: str | None
    total_seconds: int = Field(description="The sum over every entry the filters match.")


class SatisfactionRatingOut(Schema):
    ticket: int
    rating: int
    comment: str
    agent_id: int | None
    team_id: int | None
    resolved_at: datetime = Field(description="The resolution rated.")
    low_action: str = Field(description='"alert", "reopen" or empty.')
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_ticket(rating: SatisfactionRating) -> int:
        return rating.ticket.number


def _seconds_of(duration: str | None, seconds: int | None) -> int | None:
    if duration is not None and seconds is not None:
        raise InvalidInput("Give duration or seconds, not both.")
    if duration is not None:
        return timelog.parse_duration(duration)
    return seconds


def _entry_out(entry_id: int) -> TimeEntry:
    return TimeEntry.objects.select_related("ticket", "agent").get(pk=entry_id)


@router.get("/{number}/time", response=list[TimeEntryOut], summary="Time logged (agents)")
def list_time(request: HttpRequest, number: Number):
    ticket = _ticket(request, number)
    return timelog.ticket_entries(request.auth, ticket).select_related("ticket")


@router.post("/{number}/time", response={201: TimeEntryOut}, summary="Log time (agents)")
def log_time(request: HttpRequest, number: Number, data: TimeEntryIn):
    ticket = _ticket(request, number)
    policy.require_work(request.auth, ticket)
    seconds = _seconds_of(data.duration, data.seconds)
    if seconds is None:
        raise InvalidInput("Give the time spent: duration (e.g. 1h 30m) or seconds.")
    entry = timelog.log_time(
        ticket, acting_user=request.auth, seconds=seconds, note=data.note, billable=data.billable
    )
    return HttpStatus(201, _entry_out(entry.pk))


@router.patch(
    "/{number}/time/{entry_id}", response=TimeEntryOut, summary="Change a time entry (yours)"
)
def update_time(request: HttpRequest, number: Number, entry_id: Id, data: TimeEntryPatch):
    ticket = _ticket(request, number)
    entry = timelog.get_entry(request.auth, ticket, entry_id)
    timelog.update_entry(
        entry,
        acting_user=request.auth,
        seconds=_seconds_of(data.duration, data.seconds),
        note=data.note,
        billable=data.billable,
    )
    return _entry_out(entry.pk)


@router.delete(
    "/{number}/time/{entry_id}", response={204: None}, summary="Delete a time entry (yours)"
)
def delete_time(request: HttpRequest, number: Number, entry_id: Id):
    ticket = _ticket(request, number)
    entry = timelog.get_entry(request.auth, ticket, entry_id)
    timelog.delete_entry(entry, acting_user=request.auth)
    return HttpStatus(204, None)


@router.post("/{number}/timer", response={201: TimeTimerOut}, summary="Start your timer")
def start_timer(request: HttpRequest, number: Number, data: TimeTimerIn):
    ticket = _ticket(request, number)
    return HttpStatus(201, timelog.start_timer(ticket, acting_user=request.auth, note=data.note))


@router.post(
    "/{number}/timer/stop", response={201: TimeEntryOut}, summary="Stop your timer, log its time"
)
def stop_timer(request: HttpRequest, number: Number, data: TimeTimerStopIn):
    ticket = _ticket(request, number)
    entry = timelog.stop_timer(
        ticket, acting_user=request.auth, note=data.note, billable=data.billable
    )
    return HttpStatus(201, _entry_out(entry.pk))


@router.delete("/{number}/timer", response={204: None}, summary="Discard your timer")
def discard_timer(request: HttpRequest, number: Number):
    ticket = _ticket(request, number)
    timelog.discard_timer(ticket, acting_user=request.auth)
    return HttpStatus(204, None)


@router.get(
    "/{number}/rating", response=SatisfactionRatingOut, summary="The requester's latest rating"
)
def read_rating(request: HttpRequest, number: Number):
    return satisfaction.get_rating(request.auth, number)


@time_router.get("", response=TimeEntryPage, summary="Time entries, filtered (agents)")
def list_time_entries(request: HttpRequest, query: Query[TimeEntryQuery]):
    """Entries on the tickets you may see (supervisors: all), newest first."""
    entries = timelog.visible_entries(
        request.auth,
        timelog.EntryFilter(
            agent=query.agent,
            organization=query.organization,
            ticket=query.ticket,
            since=query.since,
            until=query.until,
            billable=query.billable,
        ),
    )
    total = entries.aggregate(total=Sum("seconds"))["total"] or 0
    page = entries.order_by("-id")
    if query.cursor:
        # A cursor is an entry id this list handed out: ASCII digits that fit a bigint.
        if not (query.cursor.isascii() and query.cursor.isdigit() and len(query.cursor) <= 15):
            raise BadRequest("Unknown cursor.")
        page = page.filter(id__lt=int(query.cursor))
    items = list(page.select_related("ticket", "agent")[: query.limit + 1])
    more = len(items) > query.limit
    items = items[: query.limit]
    return {
        "items": items,
        "next_cursor": str(items[-1].pk) if more else None,
        "total_seconds": total,
    }
