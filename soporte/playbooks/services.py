"""Every change to checklist templates, ticket checklists, sub-tasks and remote sessions.

Each service is atomic, checks permission through ``accounts.policy`` (agents who may
work the ticket; supervisors and admins for templates), and writes the ticket's audit
trail through ``tickets.services.log_event``. Requesters never see any of it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from soporte.accounts import policy
from soporte.accounts.models import User
from soporte.lib.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from soporte.tickets import services as tickets
from soporte.tickets.models import Category, EventKind, Ticket

from .models import (
    NOTE_MAX,
    Checklist,
    ChecklistStep,
    ChecklistTemplate,
    ConsentMethod,
    RemoteSession,
    RemoteTool,
    SubTask,
    TemplateStep,
)

MAX_STEPS = 100
# Clocks of the agent's machine and the server differ a little.
CLOCK_SKEW = timedelta(minutes=5)
_UNSET: Any = object()
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _line(value: str, what: str, max_length: int) -> str:
    """One line of text: control characters dropped, surrounding space trimmed."""
    value = _CONTROL.sub("", value or "").replace("\r", " ").replace("\n", " ").strip()
    if not value:
        raise InvalidInput(_("%(what)s is required.") % {"what": what})
    if len(value) > max_length:
        raise InvalidInput(
            _("%(what)s is longer than %(max)s characters.") % {"what": what, "max": max_length}
        )
    return value


def _note(value: str, what: str) -> str:
    """Free text kept as plain text (pages escape it): control characters dropped."""
    value = _CONTROL.sub("", (value or "").replace("\r\n", "\n")).strip()
    if len(value) > NOTE_MAX:
        raise InvalidInput(
            _("%(what)s is longer than %(max)s characters.") % {"what": what, "max": NOTE_MAX}
        )
    return value


def require_manage_templates(user: User) -> None:
    if not user.is_supervisor:
        raise PermissionDenied(_("Only supervisors and administrators may edit checklists."))


def _require_active(ticket: Ticket) -> None:
    if not ticket.is_active:
        raise Conflict(
            _("Ticket #%(number)s is %(status)s: reopen it to change its checklists.")
            % {"number": ticket.number, "status": ticket.get_status_display().lower()}
        )


# -- templates ----------------------------------------------------------------------------


def _steps(steps: Sequence[tuple[str, bool]]) -> list[tuple[str, bool]]:
    if not steps:
        raise InvalidInput(_("A checklist needs at least one step."))
    if len(steps) > MAX_STEPS:
        raise InvalidInput(_("A checklist has at most %(max)s steps.") % {"max": MAX_STEPS})
    return [(_line(title, _("A step"), 200), bool(required)) for title, required in steps]


def _save_template(
    template: ChecklistTemplate,
    *,
    name: str,
    description: str,
    categories: Iterable[Category],
    steps: Sequence[tuple[str, bool]],
    active: bool,
) -> ChecklistTemplate:
    template.name = _line(name, _("A name"), 120)
    template.description = _note(description, _("The description"))
    template.active = active
    clean_steps = _steps(steps)
    template.save()
    template.categories.set(list(categories))
    template.steps.all().delete()
    TemplateStep.objects.bulk_create(
        TemplateStep(template=template, position=i, title=title, required=required)
        for i, (title, required) in enumerate(clean_steps, start=1)
    )
    return template


@transaction.atomic
def create_template(
    *,
    acting_user: User,
    name: str,
    steps: Sequence[tuple[str, bool]],
    description: str = "",
    categories: Iterable[Category] = (),
    active: bool = True,
) -> ChecklistTemplate:
    """A new checklist template; `steps` are (title, required) in order."""
    require_manage_templates(acting_user)
    return _save_template(
        ChecklistTemplate(), name=name, description=description, categories=categories,
        steps=steps, active=active,
    )  # fmt: skip


@transaction.atomic
def update_template(
    template: ChecklistTemplate,
    *,
    acting_user: User,
    name: str,
    steps: Sequence[tuple[str, bool]],
    description: str = "",
    categories: Iterable[Category] = (),
    active: bool = True,
) -> ChecklistTemplate:
    """Replace the template. Checklists already on tickets keep the steps they had."""
    require_manage_templates(acting_user)
    return _save_template(
        template, name=name, description=description, categories=categories, steps=steps,
        active=active,
    )  # fmt: skip


@transaction.atomic
def delete_template(template: ChecklistTemplate, *, acting_user: User) -> None:
    """Delete the template; the checklists made from it stay on their tickets."""
    require_manage_templates(acting_user)
    template.delete()


# -- checklists on tickets ------------------------------------------------------------------


def templates_for(category: Category | None) -> QuerySet[ChecklistTemplate]:
    """The active templates of the category and of the categories above it."""
    ids = []
    seen = 0
    while category is not None and seen < 20:  # a guard against a cycle in bad data
        ids.append(category.pk)
        category = category.parent
        seen += 1
    return ChecklistTemplate.objects.filter(active=True, categories__in=ids).distinct()


def _attach(ticket: Ticket, template: ChecklistTemplate, actor: User | None, **data) -> Checklist:
    steps = list(template.steps.all())
    try:
        with transaction.atomic():
            checklist = Checklist.objects.create(
                ticket=ticket, template=template, name=template.name, added_by=actor
            )
    except IntegrityError:
        raise Conflict(
            _("Ticket #%(number)s already has the checklist “%(name)s”.")
            % {"number": ticket.number, "name": template.display_name}
        ) from None
    ChecklistStep.objects.bulk_create(
        ChecklistStep(
            checklist=checklist, position=step.position, title=step.title, required=step.required
        )
        for step in steps
    )
    tickets.log_event(
        ticket,
        acting_user=actor,
        kind=EventKind.CHECKLIST_ADDED,
        summary=template.display_name,
        checklist=checklist.pk,
        **data,
    )
    return checklist


@transaction.atomic
def attach_checklist(
    ticket: Ticket, template: ChecklistTemplate, *, acting_user: User
) -> Checklist:
    """Attach a template's steps to the ticket by hand (once per template)."""
    policy.require_work(acting_user, ticket)
    _require_active(ticket)
    if not template.active:
        raise InvalidInput(
            _("The checklist “%(name)s” is retired.") % {"name": template.display_name}
        )
    return _attach(ticket, template, acting_user)


@transaction.atomic
def attach_for_category(ticket: Ticket, *, acting_user: User | None) -> list[Checklist]:
    """Attach the templates of the ticket's category that it does not have yet (run when
    a ticket is opened with a category, or its category changes)."""
    if ticket.category is None or not ticket.is_active:
        return []
    have = set(Checklist.objects.filter(ticket=ticket).values_list("template_id", flat=True))
    return [
        _attach(ticket, template, acting_user, automatic=True)
        for template in templates_for(ticket.category)
        if template.pk not in have
    ]


def get_step(ticket: Ticket, step_id: int) -> ChecklistStep:
    step = (
        ChecklistStep.objects.select_related("checklist")
        .filter(pk=step_id, checklist__ticket=ticket)
        .first()
    )
    if step is None:
        raise NotFound(_("Checklist step not found."))
    return step


@transaction.atomic
def set_step(
    ticket: Ticket,
    step_id: int,
    *,
    acting_user: User,
    done: bool,
    note: str | None = None,
) -> ChecklistStep:
    """Check or uncheck one step (who and when are kept; each change is an event), and
    set its note when one is given (e.g. the name of the malware found)."""
    policy.require_work(acting_user, ticket)
    _require_active(ticket)
    # Locked, so two agents ticking at once both leave their event in order.
    step = (
        ChecklistStep.objects.select_for_update(of=("self",))
        .select_related("checklist")
        .filter(pk=step_id, checklist__ticket=ticket)
        .first()
    )
    if step is None:
        raise NotFound(_("Checklist step not found."))
    new_note = step.note if note is None else _note(note, _("The note"))
    if step.done == done and step.note == new_note:
        return step
    changed_done = step.done != done
    step.done, step.note = done, new_note
    if changed_done:
        step.done_by = acting_user if done else None
        step.done_at = timezone.now() if done else None
    step.save(update_fields=["done", "done_by", "done_at", "note"])
    where = f"{step.checklist.display_name} › {step.display_title}"
    if changed_done:
        summary = (_("%(step)s: done") if done else _("%(step)s: unchecked")) % {"step": where}
    else:
        summary = _("%(step)s: note changed") % {"step": where}
    if new_note:
        summary += f" ({new_note[:200]})"
    tickets.log_event(
        ticket,
        acting_user=acting_user,
        kind=EventKind.CHECKLIST_STEP,
        summary=summary,
        checklist=step.checklist_id,
        step=step.pk,
        done=done,
    )
    return step


def resolve_guard(ticket: Ticket) -> list[str]:
    """Registered with tickets.guards: required steps not done and required sub-tasks
    still open hold the ticket back from resolution."""
    reasons = []
    missing: dict[int, tuple[str, list[str]]] = {}
    for step in (
        ChecklistStep.objects.filter(checklist__ticket=ticket, required=True, done=False)
        .select_related("checklist")
        .order_by("checklist__added_at", "checklist_id", "position", "id")
    ):
        entry = missing.setdefault(step.checklist_id, (step.checklist.display_name, []))
        entry[1].append(step.display_title)
    for name, steps in missing.values():
        reasons.append(
            _("The checklist “%(name)s” has required steps not done: %(steps)s.")
            % {"name": name, "steps": ", ".join(steps)}
        )
    open_tasks = list(
        SubTask.objects.filter(ticket=ticket, required=True, done_at__isnull=True)
        .order_by("created_at", "id")
        .values_list("title", flat=True)
    )
    if open_tasks:
        reasons.append(
            _("Required sub-tasks are still open: %(tasks)s.") % {"tasks": ", ".join(open_tasks)}
        )
    return reasons


# -- sub-tasks ----------------------------------------------------------------------------


def _check_assignee(assignee: User | None, ticket: Ticket) -> None:
    if assignee is None:
        return
    if not assignee.is_active or not assignee.is_agent:
        raise InvalidInput(_("Sub-tasks can be assigned to active agents only."))
    if not policy.can_view(assignee, ticket):
        raise InvalidInput(
            _("%(agent)s cannot see ticket #%(number)s; move it to their team first.")
            % {"agent": assignee, "number": ticket.number}
        )


def _due(value: datetime | None) -> datetime | None:
    if value is not None and timezone.is_naive(value):
        raise InvalidInput(_("The due date needs a time zone."))
    return value


def get_subtask(user: User, task_id: int) -> SubTask:
    """The sub-task, when the person may work its ticket (else NotFound, or 403 for a
    requester who may see the ticket)."""
    task = SubTask.objects.select_related("ticket", "assignee").filter(pk=task_id).first()
    if task is None or not policy.can_view(user, task.ticket):
        raise NotFound(_("Sub-task not found."))
    policy.require_agent(user)
    return task


@transaction.atomic
def create_subtask(
    ticket: Ticket,
    *,
    acting_user: User,
    title: str,
    assignee: User | None = None,
    due_at: datetime | None = None,
    required: bool = False,
) -> SubTask:
    policy.require_work(acting_user, ticket)
    _check_assignee(assignee, ticket)
    task = SubTask.objects.create(
        ticket=ticket,
        title=_line(title, _("A title"), 200),
        assignee=assignee,
        due_at=_due(due_at),
        required=required,
        created_by=acting_user,
    )
    tickets.log_event(
        ticket,
        acting_user=acting_user,
        kind=EventKind.TASK_ADDED,
        summary=task.title + (f" → {assignee}" if assignee else ""),
        task=task.pk,
    )
    return task


@transaction.atomic
def update_subtask(
    task: SubTask,
    *,
    acting_user: User,
    title: str = _UNSET,
    assignee: User | None = _UNSET,
    due_at: datetime | None = _UNSET,
    required: bool = _UNSET,
) -> SubTask:
    policy.require_work(acting_user, task.ticket)
    fields = []
    if title is not _UNSET:
        task.title = _line(title, _("A title"), 200)
        fields.append("title")
    if assignee is not _UNSET:
        _check_assignee(assignee, task.ticket)
        task.assignee = assignee
        fields.append("assignee")
    if due_at is not _UNSET:
        task.due_at = _due(due_at)
        fields.append("due_at")
    if required is not _UNSET:
        task.required = bool(required)
        fields.append("required")
    if fields:
        task.save(update_fields=fields)
    return task


@transaction.atomic
def set_subtask_done(task: SubTask, *, acting_user: User, done: bool) -> SubTask:
    """Mark the sub-task done (who and when) or open it again; each is an event."""
    policy.require_work(acting_user, task.ticket)
    task = SubTask.objects.select_for_update(of=("self",)).select_related("ticket").get(pk=task.pk)
    if task.done == done:
        return task
    task.done_at = timezone.now() if done else None
    task.done_by = acting_user if done else None
    task.save(update_fields=["done_at", "done_by"])
    tickets.log_event(
        task.ticket,
        acting_user=acting_user,
        kind=EventKind.TASK_DONE,
        summary=task.title if done else _("%(task)s: open again") % {"task": task.title},
        task=task.pk,
        done=done,
    )
    return task


def my_subtasks(user: User) -> QuerySet[SubTask]:
    """The person's open sub-tasks on tickets they may see, soonest due first."""
    return (
        SubTask.objects.filter(
            assignee=user,
            done_at__isnull=True,
            ticket__in=policy.visible_tickets(user).values("pk"),
        )
        .select_related("ticket")
        .order_by("due_at", "id")
    )


# -- remote sessions ------------------------------------------------------------------------


def _not_future(value: datetime, what: str) -> datetime:
    if timezone.is_naive(value):
        raise InvalidInput(_("%(what)s needs a time zone.") % {"what": what})
    if value > timezone.now() + CLOCK_SKEW:
        raise InvalidInput(_("%(what)s cannot be in the future.") % {"what": what})
    return value


@transaction.atomic
def start_remote_session(
    ticket: Ticket,
    *,
    acting_user: User,
    tool: str,
    consent_by: str,
    consent_method: str,
    consent_at: datetime | None = None,
    session_id: str = "",
    started_at: datetime | None = None,
) -> RemoteSession:
    """Record a remote (or guided phone) session. None without the user's consent: who
    gave it, how, and when (not after the session started)."""
    policy.require_work(acting_user, ticket)
    _require_active(ticket)
    now = timezone.now()
    started_at = _not_future(started_at or now, _("The start"))
    consent_at = _not_future(consent_at or started_at, _("The consent time"))
    if consent_at > started_at:
        raise InvalidInput(_("Consent must be given before the session starts."))
    try:
        tool, method = RemoteTool(tool), ConsentMethod(consent_method)
    except ValueError:
        raise InvalidInput(_("Unknown remote tool or consent method.")) from None
    session = RemoteSession.objects.create(
        ticket=ticket,
        agent=acting_user,
        tool=tool,
        session_id=_CONTROL.sub("", session_id or "").strip()[:100],
        consent_by=_line(consent_by, _("Who gave consent"), 200),
        consent_method=method,
        consent_at=consent_at,
        started_at=started_at,
    )
    tickets.log_event(
        ticket,
        acting_user=acting_user,
        kind=EventKind.REMOTE_SESSION,
        summary=_("%(tool)s started; consent by %(who)s (%(how)s)")
        % {"tool": tool.label, "who": session.consent_by, "how": method.label},
        session=session.pk,
    )
    return session


def get_session(user: User, session_id: int) -> RemoteSession:
    session = RemoteSession.objects.select_related("ticket").filter(pk=session_id).first()
    if session is None or not policy.can_view(user, session.ticket):
        raise NotFound(_("Remote session not found."))
    policy.require_agent(user)
    return session


@transaction.atomic
def end_remote_session(
    session: RemoteSession,
    *,
    acting_user: User,
    summary: str = "",
    ended_at: datetime | None = None,
) -> RemoteSession:
    policy.require_work(acting_user, session.ticket)
    session = (
        RemoteSession.objects.select_for_update(of=("self",))
        .select_related("ticket")
        .get(pk=session.pk)
    )
    if session.ended_at is not None:
        raise Conflict(_("This remote session has already ended."))
    ended_at = _not_future(ended_at or timezone.now(), _("The end"))
    if ended_at < session.started_at:
        raise InvalidInput(_("A session cannot end before it started."))
    session.ended_at = ended_at
    session.summary = _note(summary, _("The summary"))
    session.save(update_fields=["ended_at", "summary"])
    minutes = int((ended_at - session.started_at).total_seconds() // 60)
    tickets.log_event(
        session.ticket,
        acting_user=acting_user,
        kind=EventKind.REMOTE_SESSION,
        summary=_("%(tool)s ended after %(minutes)s min") % {
            "tool": session.get_tool_display(), "minutes": minutes,
        },
        session=session.pk,
    )  # fmt: skip
    return session
