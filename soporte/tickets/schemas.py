from __future__ import annotations

from datetime import datetime
from typing import Literal

from ninja import Schema
from pydantic import Field

from soporte.accounts.models import Tier
from soporte.accounts.schemas import OrganizationRef, TeamRef, UserRef
from soporte.lib.schema import AwareDatetime, Body, Id, Number, Subject, Version, text

from .models import CallDirection, Channel, Level, MacroKind, MessageKind, Priority, Status

TagName = text(50, 1)


class CategoryRef(Schema):
    id: int
    name: str


class CategoryOut(CategoryRef):
    parent_id: int | None
    description: str


class CategoryIn(Schema):
    name: text(120, 1)
    parent_id: Id | None = None
    description: text(5000) = ""


class CategoryPatch(Schema):
    name: text(120, 1) | None = None
    parent_id: Id | None = None
    description: text(5000) | None = None


class TicketOut(Schema):
    number: int
    subject: str
    status: Status
    priority: Priority
    impact: Level
    urgency: Level
    channel: Channel
    tier: Tier
    requester: UserRef
    organization: OrganizationRef | None
    assignee: UserRef | None
    team: TeamRef | None
    category: CategoryRef | None
    tags: list[str]
    due_at: datetime | None
    created_at: datetime
    updated_at: datetime
    first_responded_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    merged_into: int | None
    version: int


class TicketDetail(TicketOut):
    """One ticket read from a model instance (list rows are built by queries.summaries)."""

    resolution: str
    watchers: list[UserRef]

    @staticmethod
    def resolve_tags(obj) -> list[str]:
        return [tag.name for tag in obj.tags.all()]

    @staticmethod
    def resolve_merged_into(obj) -> int | None:
        return obj.merged_into.number if obj.merged_into_id else None

    @staticmethod
    def resolve_watchers(obj) -> list:
        return list(obj.watchers.all())


class TicketPage(Schema):
    items: list[TicketOut]
    next_cursor: str | None = Field(
        description="Pass as ?cursor= for the next page; null at the end."
    )


class TicketIn(Schema):
    subject: Subject
    body: Body = ""
    body_html: Body = ""
    requester_id: Id | None = None
    channel: Channel | None = None
    impact: Level = Level.MEDIUM
    urgency: Level = Level.MEDIUM
    priority: Priority | None = None
    category_id: Id | None = None
    team_id: Id | None = None
    assignee_id: Id | None = None
    tags: list[TagName] = Field(default=[], max_length=50)
    watcher_ids: list[Id] = Field(default=[], max_length=100)
    due_at: AwareDatetime | None = None


class TicketPatch(Schema):
    version: Version | None = None
    subject: Subject | None = None
    impact: Level | None = None
    urgency: Level | None = None
    priority: Priority | None = None
    category_id: Id | None = None
    team_id: Id | None = None
    due_at: AwareDatetime | None = None
    tags: list[TagName] | None = Field(default=None, max_length=50)
    watcher_ids: list[Id] | None = Field(default=None, max_length=100)


class Versioned(Schema):
    version: Version | None = Field(
        None, description="The version you loaded; if the ticket changed since, 409."
    )


class MessageIn(Versioned):
    kind: MessageKind = MessageKind.REPLY
    body: Body = ""
    body_html: Body = ""
    status: Status | None = Field(None, description="Replies only: the status to set.")
    direction: CallDirection = CallDirection.INBOUND
    duration_seconds: int | None = Field(None, ge=0, le=86_400)
    internal: bool = Field(True, description="Calls only: keep the call summary internal.")


class AttachmentOut(Schema):
    id: int
    filename: str
    content_type: str
    size: int
    internal: bool
    message_id: int | None
    created_at: datetime


class MessageOut(Schema):
    id: int
    kind: MessageKind
    internal: bool
    author: UserRef
    channel: Channel
    body_text: str
    body_html: str
    call_direction: str
    call_duration: int | None
    created_at: datetime
    attachments: list[AttachmentOut]

    @staticmethod
    def resolve_attachments(obj) -> list:
        return list(obj.attachments.all())


class EventOut(Schema):
    id: int
    kind: str
    actor: UserRef | None
    field: str
    old: str
    new: str
    data: dict
    created_at: datetime


class AssignIn(Versioned):
    assignee_id: Id | None


class TierMoveIn(Versioned):
    reason: text(2000, 1)
    team_id: Id | None = None


class StatusIn(Versioned):
    status: Status
    resolution: text(20_000) = ""


class ResolveIn(Versioned):
    resolution: text(20_000, 1)


class ReopenIn(Versioned):
    reason: text(2000) = ""


class MergeIn(Versioned):
    into: Number


SortName = Literal[
    "updated_at", "-updated_at", "created_at", "-created_at", "number", "-number",
    "priority", "-priority", "due_at", "-due_at",
]  # fmt: skip


# -- macros -------------------------------------------------------------------------

MacroStatus = Literal["open", "pending_customer", "pending_third_party", "resolved"]
MacroAssignTo = Literal["me", "agent"]
MacroText = text(20_000)


class MacroOut(Schema):
    id: int
    title: str
    body: str = Field(description="Plain text with {{ placeholders }}.")
    shared: bool = Field(description="For every agent; else personal (its owner only).")
    owner: UserRef | None
    kind: MacroKind = Field(description="How the text is posted.")
    status: MacroStatus | None
    impact: Level | None
    urgency: Level | None
    team: TeamRef | None
    assign: MacroAssignTo | None = Field(
        description="'me': the agent applying it; 'agent': the assignee; null: no change."
    )
    assignee: UserRef | None
    tags: list[str] = Field(description="Tags added to the ticket.")

    @staticmethod
    def resolve_status(obj) -> str | None:
        return obj.status or None

    @staticmethod
    def resolve_impact(obj) -> str | None:
        return obj.impact or None

    @staticmethod
    def resolve_urgency(obj) -> str | None:
        return obj.urgency or None

    @staticmethod
    def resolve_assign(obj) -> str | None:
        return obj.assign or None

    @staticmethod
    def resolve_tags(obj) -> list[str]:
        return list(obj.add_tags)


class MacroIn(Schema):
    title: text(120, 1)
    body: MacroText = ""
    shared: bool = Field(False, description="Shared macros: supervisors and admins only.")
    kind: MacroKind = MacroKind.REPLY
    status: MacroStatus | None = None
    impact: Level | None = None
    urgency: Level | None = None
    team_id: Id | None = None
    assign: MacroAssignTo | None = None
    assignee_id: Id | None = Field(None, description="With assign 'agent'.")
    tags: list[TagName] = Field(default=[], max_length=20)


class MacroPatch(Schema):
    """Only the fields sent change; null clears a change (status, team, ...)."""

    title: text(120, 1) | None = None
    body: MacroText | None = None
    shared: bool | None = None
    kind: MacroKind | None = None
    status: MacroStatus | None = None
    impact: Level | None = None
    urgency: Level | None = None
    team_id: Id | None = None
    assign: MacroAssignTo | None = None
    assignee_id: Id | None = None
    tags: list[TagName] | None = Field(default=None, max_length=20)


class MacroApplied(Schema):
    ticket: TicketDetail
    message: MessageOut | None = Field(description="The reply or note it posted, if any.")
    unknown_placeholders: list[str] = Field(
        description="Placeholders left as typed because they are not known."
    )
