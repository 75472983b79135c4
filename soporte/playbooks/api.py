"""The playbooks API (/api/v1/playbooks): checklist templates (agents read, supervisors
and admins write), and on a ticket its checklists, sub-tasks and remote sessions, for
the agents who may work it. A ticket the person may not see answers 404; a requester
who may see it is refused (403): none of this is for requesters."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Prefetch
from django.http import HttpRequest
from ninja import Router, Schema
from ninja import Status as HttpStatus
from pydantic import Field

from soporte.accounts import policy
from soporte.accounts.models import User
from soporte.lib.errors import InvalidInput, NotFound
from soporte.lib.schema import AwareDatetime, Id, Number, text
from soporte.tickets.models import Category, Ticket

from . import services
from .models import (
    NOTE_MAX,
    Checklist,
    ChecklistStep,
    ChecklistTemplate,
    ConsentMethod,
    RemoteSession,
    RemoteTool,
    SubTask,
)

router = Router(tags=["playbooks"])


# -- schemas --------------------------------------------------------------------------------


class PlaybookStepIn(Schema):
    title: text(200, 1)
    required: bool = True


class PlaybookTemplateIn(Schema):
    name: text(120, 1)
    description: text(NOTE_MAX) = ""
    category_ids: list[Id] = Field(default_factory=list, max_length=500)
    steps: list[PlaybookStepIn] = Field(min_length=1, max_length=services.MAX_STEPS)
    active: bool = True


class PlaybookStepOut(Schema):
    position: int
    title: str
    required: bool


class PlaybookTemplateOut(Schema):
    id: int
    key: str | None
    name: str
    description: str
    category_ids: list[int]
    steps: list[PlaybookStepOut]
    active: bool
    updated_at: datetime

    @staticmethod
    def resolve_category_ids(obj) -> list[int]:
        return [c.pk for c in obj.categories.all()]

    @staticmethod
    def resolve_steps(obj) -> list:
        return list(obj.steps.all())


class ChecklistStepOut(Schema):
    id: int
    position: int
    title: str
    required: bool
    done: bool
    done_by: str | None
    done_at: datetime | None
    note: str

    @staticmethod
    def resolve_done_by(obj) -> str | None:
        return str(obj.done_by) if obj.done_by_id else None


class ChecklistOut(Schema):
    id: int
    template_id: int | None
    name: str
    added_at: datetime
    steps: list[ChecklistStepOut]

    @staticmethod
    def resolve_steps(obj) -> list:
        return list(obj.steps.all())


class ChecklistAttachIn(Schema):
    template_id: Id


class ChecklistStepIn(Schema):
    done: bool
    note: text(NOTE_MAX) | None = Field(None, description="Omitted: the note stays as it is.")


class SubTaskOut(Schema):
    id: int
    ticket: int
    title: str
    assignee_id: int | None
    due_at: datetime | None
    required: bool
    done: bool
    done_at: datetime | None
    created_at: datetime

    @staticmethod
    def resolve_ticket(obj) -> int:
        return obj.ticket.number


class SubTaskIn(Schema):
    title: text(200, 1)
    assignee_id: Id | None = None
    due_at: AwareDatetime | None = None
    required: bool = Field(False, description="An open required sub-task blocks resolution.")


class SubTaskPatch(Schema):
    title: text(200, 1) | None = None
    assignee_id: Id | None = None
    due_at: AwareDatetime | None = None
    required: bool | None = None


class SubTaskDoneIn(Schema):
    done: bool = True


class RemoteSessionOut(Schema):
    id: int
    ticket: int
    agent: str
    tool: RemoteTool
    session_id: str
    consent_by: str
    consent_method: ConsentMethod
    consent_at: datetime
    started_at: datetime
    ended_at: datetime | None
    summary: str

    @staticmethod
    def resolve_ticket(obj) -> int:
        return obj.ticket.number

    @staticmethod
    def resolve_agent(obj) -> str:
        return str(obj.agent)


class RemoteSessionIn(Schema):
    tool: RemoteTool
    session_id: text(100) = ""
    consent_by: text(200, 1) = Field(description="Who gave consent (required).")
    consent_method: ConsentMethod
    consent_at: AwareDatetime | None = Field(None, description="Default: when it started.")
    started_at: AwareDatetime | None = Field(None, description="Default: now.")


class RemoteSessionEndIn(Schema):
    summary: text(NOTE_MAX) = ""
    ended_at: AwareDatetime | None = None


# -- helpers --------------------------------------------------------------------------------


def _work_ticket(request: HttpRequest, number: int) -> Ticket:
    ticket = policy.get_visible_ticket(request.auth, number)
    policy.require_work(request.auth, ticket)
    return ticket


def _template(template_id: int) -> ChecklistTemplate:
    template = (
        ChecklistTemplate.objects.prefetch_related("categories", "steps")
        .filter(pk=template_id)
        .first()
    )
    if template is None:
        raise NotFound("Checklist template not found.")
    return template


def _categories(ids: list[int]) -> list[Category]:
    found = list(Category.objects.filter(pk__in=ids))
    if len(found) != len(set(ids)):
        raise InvalidInput("A category does not exist.")
    return found


def _agent(pk: int | None) -> User | None:
    if pk is None:
        return None
    user = User.objects.filter(pk=pk).first()
    if user is None:
        raise InvalidInput("That agent does not exist.")
    return user


def _checklists(ticket: Ticket):
    return Checklist.objects.filter(ticket=ticket).prefetch_related(
        Prefetch("steps", queryset=ChecklistStep.objects.select_related("done_by"))
    )


# -- templates ----------------------------------------------------------------------------


@router.get("/templates", response=list[PlaybookTemplateOut], summary="Checklist templates")
def list_templates(request: HttpRequest):
    policy.require_agent(request.auth)
    return ChecklistTemplate.objects.prefetch_related("categories", "steps")[:1000]


@router.post(
    "/templates", response={201: PlaybookTemplateOut}, summary="Create (supervisors, admins)"
)
def create_template(request: HttpRequest, body: PlaybookTemplateIn):
    policy.require_agent(request.auth)
    template = services.create_template(
        acting_user=request.auth, name=body.name, description=body.description,
        categories=_categories(body.category_ids), active=body.active,
        steps=[(step.title, step.required) for step in body.steps],
    )  # fmt: skip
    return HttpStatus(201, _template(template.pk))


@router.get("/templates/{template_id}", response=PlaybookTemplateOut, summary="One template")
def read_template(request: HttpRequest, template_id: Id):
    policy.require_agent(request.auth)
    return _template(template_id)


@router.put(
    "/templates/{template_id}",
    response=PlaybookTemplateOut,
    summary="Replace (supervisors, admins); attached checklists keep their steps",
)
def replace_template(request: HttpRequest, template_id: Id, body: PlaybookTemplateIn):
    policy.require_agent(request.auth)
    template = _template(template_id)
    services.update_template(
        template, acting_user=request.auth, name=body.name, description=body.description,
        categories=_categories(body.category_ids), active=body.active,
        steps=[(step.title, step.required) for step in body.steps],
    )  # fmt: skip
    return _template(template_id)


@router.delete(
    "/templates/{template_id}", response={204: None}, summary="Delete (supervisors, admins)"
)
def delete_template(request: HttpRequest, template_id: Id):
    policy.require_agent(request.auth)
    services.delete_template(_template(template_id), acting_user=request.auth)
    return HttpStatus(204, None)


# -- checklists on a ticket -------------------------------------------------------------------


@router.get(
    "/tickets/{number}/checklists", response=list[ChecklistOut], summary="The ticket's checklists"
)
def list_checklists(request: HttpRequest, number: Number):
    return _checklists(_work_ticket(request, number))


@router.post(
    "/tickets/{number}/checklists", response={201: ChecklistOut}, summary="Attach a template"
)
def attach_checklist(request: HttpRequest, number: Number, body: ChecklistAttachIn):
    ticket = _work_ticket(request, number)
    template = ChecklistTemplate.objects.filter(pk=body.template_id).first()
    if template is None:
        raise InvalidInput("That checklist template does not exist.")
    checklist = services.attach_checklist(ticket, template, acting_user=request.auth)
    return HttpStatus(201, _checklists(ticket).get(pk=checklist.pk))


@router.post(
    "/tickets/{number}/steps/{step_id}",
    response=ChecklistStepOut,
    summary="Check or uncheck a step, and set its note",
)
def set_step(request: HttpRequest, number: Number, step_id: Id, body: ChecklistStepIn):
    ticket = _work_ticket(request, number)
    return services.set_step(
        ticket, step_id, acting_user=request.auth, done=body.done, note=body.note
    )


# -- sub-tasks ------------------------------------------------------------------------------


def _task_out(task: SubTask) -> SubTask:
    return SubTask.objects.select_related("ticket").get(pk=task.pk)


@router.get("/tickets/{number}/subtasks", response=list[SubTaskOut], summary="The ticket's")
def list_subtasks(request: HttpRequest, number: Number):
    ticket = _work_ticket(request, number)
    return SubTask.objects.filter(ticket=ticket).select_related("ticket")


@router.post("/tickets/{number}/subtasks", response={201: SubTaskOut}, summary="Add a sub-task")
def create_subtask(request: HttpRequest, number: Number, body: SubTaskIn):
    ticket = _work_ticket(request, number)
    task = services.create_subtask(
        ticket, acting_user=request.auth, title=body.title, assignee=_agent(body.assignee_id),
        due_at=body.due_at, required=body.required,
    )  # fmt: skip
    return HttpStatus(201, _task_out(task))


@router.get("/subtasks/mine", response=list[SubTaskOut], summary="My open sub-tasks (agents)")
def my_subtasks(request: HttpRequest):
    policy.require_agent(request.auth)
    return services.my_subtasks(request.auth)[:1000]


@router.patch("/subtasks/{task_id}", response=SubTaskOut, summary="Change a sub-task")
def update_subtask(request: HttpRequest, task_id: Id, body: SubTaskPatch):
    task = services.get_subtask(request.auth, task_id)
    fields = body.model_dump(exclude_unset=True)
    if "assignee_id" in fields:
        fields["assignee"] = _agent(fields.pop("assignee_id"))
    if fields.get("title", "") is None or ("required" in fields and fields["required"] is None):
        raise InvalidInput("title and required cannot be null.")
    services.update_subtask(task, acting_user=request.auth, **fields)
    return _task_out(task)


@router.post("/subtasks/{task_id}/done", response=SubTaskOut, summary="Mark done (or not)")
def subtask_done(request: HttpRequest, task_id: Id, body: SubTaskDoneIn):
    task = services.get_subtask(request.auth, task_id)
    return _task_out(services.set_subtask_done(task, acting_user=request.auth, done=body.done))


# -- remote sessions --------------------------------------------------------------------------


def _session_out(session: RemoteSession) -> RemoteSession:
    return RemoteSession.objects.select_related("ticket", "agent").get(pk=session.pk)


@router.get(
    "/tickets/{number}/remote-sessions", response=list[RemoteSessionOut], summary="The ticket's"
)
def list_sessions(request: HttpRequest, number: Number):
    ticket = _work_ticket(request, number)
    return RemoteSession.objects.filter(ticket=ticket).select_related("ticket", "agent")


@router.post(
    "/tickets/{number}/remote-sessions",
    response={201: RemoteSessionOut},
    summary="Record a remote session (the user's consent required)",
)
def start_session(request: HttpRequest, number: Number, body: RemoteSessionIn):
    ticket = _work_ticket(request, number)
    session = services.start_remote_session(
        ticket, acting_user=request.auth, tool=body.tool, session_id=body.session_id,
        consent_by=body.consent_by, consent_method=body.consent_method,
        consent_at=body.consent_at, started_at=body.started_at,
    )  # fmt: skip
    return HttpStatus(201, _session_out(session))


@router.post(
    "/remote-sessions/{session_id}/end", response=RemoteSessionOut, summary="End a session"
)
def end_session(request: HttpRequest, session_id: Id, body: RemoteSessionEndIn):
    session = services.get_session(request.auth, session_id)
    session = services.end_remote_session(
        session, acting_user=request.auth, summary=body.summary, ended_at=body.ended_at
    )
    return _session_out(session)
