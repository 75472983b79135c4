"""Every change to flows and their runs: save (from the editor, YAML or the API), import
and export as YAML, archive; start a run, answer, step back, finish.

Who may do what:
- Supervisors and admins write flows (and the `flow_import` command, acting as nobody).
- Agents run any flow that is not archived, alone or on a ticket they may work.
- Requesters run public flows, on the portal, without a ticket.
- A run is answered only by whoever started it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import yaml
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from soporte.accounts import policy
from soporte.accounts.models import Tier, User
from soporte.lib.errors import (
    BadRequest,
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    TooLarge,
)
from soporte.tickets import services as tickets
from soporte.tickets.models import EventKind, Ticket

from .graph import Definition, FlowInvalid, Node, parse
from .models import Flow, FlowRun, FlowVersion, Outcome, RunChannel

MAX_YAML_BYTES = 256 * 1024
# A run left unfinished this long counts as abandoned in the statistics.
ABANDONED_AFTER = timedelta(hours=24)


# -- who -------------------------------------------------------------------------------


def _active(user: User | None) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active)


def can_edit(user: User | None) -> bool:
    return _active(user) and bool(user.is_supervisor)  # type: ignore[union-attr]


def require_editor(user: User | None) -> None:
    """Supervisors and admins; None is the command line."""
    if user is not None and not can_edit(user):
        raise PermissionDenied(_("Only supervisors and administrators may change flows."))


def visible_flows(user: User) -> QuerySet[Flow]:
    """The flows this person may run: agents all but archived ones (supervisors see those
    too), requesters the public ones."""
    flows = Flow.objects.all()
    if not _active(user):
        return flows.none()
    if user.is_supervisor:
        return flows
    if user.is_agent:
        return flows.filter(archived=False)
    return flows.filter(public=True, archived=False)


def get_visible_flow(user: User, slug: str) -> Flow:
    flow = visible_flows(user).filter(slug=slug).first()
    if flow is None:
        raise NotFound(_("Flow %(slug)s not found.") % {"slug": slug[:80]})
    return flow


def in_language_first(flows: QuerySet[Flow], language: str) -> list[Flow]:
    """The flows in this language first, then the others, each part by title."""
    rows = list(flows)
    return sorted(rows, key=lambda flow: (flow.language != language, flow.title.lower(), flow.pk))


# -- YAML ------------------------------------------------------------------------------


def load_yaml(text: str | bytes) -> Any:
    """The YAML document as data, or BadRequest saying why it cannot be read."""
    if isinstance(text, bytes):
        if len(text) > MAX_YAML_BYTES:
            raise TooLarge(_("The YAML is larger than %(kb)s KB.") % {"kb": MAX_YAML_BYTES // 1024})
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequest(_("The YAML must be UTF-8 text.")) from None
    if len(text.encode("utf-8", "surrogatepass")) > MAX_YAML_BYTES:
        raise TooLarge(_("The YAML is larger than %(kb)s KB.") % {"kb": MAX_YAML_BYTES // 1024})
    if "\x00" in text:
        raise BadRequest(_("The YAML must not contain NUL characters."))
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = _(" (line %(line)s)") % {"line": mark.line + 1} if mark else ""
        raise BadRequest(
            _("The YAML could not be read: %(problem)s%(where)s.")
            % {"problem": error.problem or error.context or "syntax error", "where": where}
        ) from None
    except (yaml.YAMLError, ValueError, TypeError, OverflowError, RecursionError) as error:
        raise BadRequest(
            _("The YAML could not be read: %(problem)s.") % {"problem": str(error)[:200]}
        ) from None


def dump_yaml(definition: Definition) -> str:
    return yaml.safe_dump(definition.as_dict(), sort_keys=False, allow_unicode=True, width=100)


def export_flow(flow: Flow) -> str:
    return dump_yaml(flow.current().tree())


def check(data: Any) -> Definition:
    """The definition, validated (graph.parse) and its articles published; InvalidInput
    listing every error otherwise."""
    try:
        definition = parse(data)
    except FlowInvalid as error:
        raise InvalidInput(_("The flow is not valid: %(errors)s") % {"errors": " ".join(
            error.errors[:50]
        )}) from None  # fmt: skip
    _check_articles(definition)
    return definition


def _check_articles(definition: Definition) -> None:
    from soporte.kb.models import Article, ArticleStatus

    wanted = definition.articles()
    if not wanted:
        return
    published = set(
        Article.objects.filter(pk__in=wanted, status=ArticleStatus.PUBLISHED).values_list(
            "pk", flat=True
        )
    )
    errors = [
        f"Node '{node.id}': article {node.article} is not a published knowledge-base article."
        for node in definition.nodes
        if node.article is not None and node.article not in published
    ]
    if errors:
        raise InvalidInput(_("The flow is not valid: %(errors)s") % {"errors": " ".join(errors)})


# -- writing flows ---------------------------------------------------------------------


@transaction.atomic
def save_flow(
    data: Any,
    *,
    acting_user: User | None,
    flow: Flow | None = None,
    expected_version: int | None = None,
    create: bool = False,
) -> tuple[Flow, bool]:
    """Create the flow, or give it a new version. Returns (flow, changed).

    1. The definition is validated first: nothing is written when it is invalid.
    2. Without `flow`, the slug picks the flow: a new one, or a new version of the one
       with that slug (imports; `create` refuses an existing slug). With `flow`, the slug
       must stay the same.
    3. A definition equal to the current version writes nothing (re-importing an export).
    """
    require_editor(acting_user)
    definition = check(data)
    if flow is None:
        flow = Flow.objects.select_for_update().filter(slug=definition.slug).first()
        if flow is not None and create:
            raise Conflict(
                _("A flow with the slug %(slug)s exists already.") % {"slug": definition.slug}
            )
    else:
        flow = Flow.objects.select_for_update().get(pk=flow.pk)
        if definition.slug != flow.slug:
            raise InvalidInput(
                _("The slug of a flow cannot change (it is %(slug)s).") % {"slug": flow.slug}
            )
    if flow is not None and expected_version is not None and expected_version != flow.version:
        raise Conflict(
            _("The flow %(slug)s was changed by someone else since you loaded it.")
            % {"slug": flow.slug}
        )
    stored = definition.as_dict()
    if flow is None:
        flow = Flow(slug=definition.slug, version=1, created_by=acting_user)
        number = 1
    else:
        if flow.current().definition == stored:
            return flow, False
        number = flow.version + 1
    flow.title = definition.title
    flow.description = definition.description
    flow.language = definition.language
    flow.public = definition.public
    flow.version = number
    try:
        with transaction.atomic():
            flow.save()
    except IntegrityError:  # the same slug created meanwhile by someone else
        raise Conflict(
            _("A flow with the slug %(slug)s exists already.") % {"slug": definition.slug}
        ) from None
    FlowVersion.objects.create(flow=flow, number=number, definition=stored, author=acting_user)
    return flow, True


def import_flow(text: str | bytes, *, acting_user: User | None) -> tuple[Flow, bool]:
    """A flow from YAML: BadRequest when it cannot be read, InvalidInput when it breaks a
    rule; nothing stored changes in either case."""
    require_editor(acting_user)
    return save_flow(load_yaml(text), acting_user=acting_user)


@transaction.atomic
def set_archived(flow: Flow, *, acting_user: User, archived: bool) -> Flow:
    require_editor(acting_user)
    Flow.objects.filter(pk=flow.pk).update(archived=archived, updated_at=timezone.now())
    flow.archived = archived
    return flow


# -- statistics ------------------------------------------------------------------------


def with_stats(flows: QuerySet[Flow]) -> QuerySet[Flow]:
    """Each flow with runs_total, runs_solved, runs_escalated, runs_abandoned (finished
    as such, or left unfinished for a day) and runs_in_progress: one query."""
    stale = timezone.now() - ABANDONED_AFTER
    pending = Q(runs__outcome=Outcome.IN_PROGRESS)
    return flows.annotate(
        runs_total=Count("runs"),
        runs_solved=Count("runs", filter=Q(runs__outcome=Outcome.SOLVED)),
        runs_escalated=Count("runs", filter=Q(runs__outcome=Outcome.ESCALATED)),
        runs_abandoned=Count(
            "runs",
            filter=Q(runs__outcome=Outcome.ABANDONED) | (pending & Q(runs__started_at__lt=stale)),
        ),
        runs_in_progress=Count("runs", filter=pending & Q(runs__started_at__gte=stale)),
    )


@dataclass
class Stats:
    total: int
    solved: int
    escalated: int
    abandoned: int
    in_progress: int

    @property
    def solved_percent(self) -> int | None:
        done = self.solved + self.escalated + self.abandoned
        return round(100 * self.solved / done) if done else None


def stats_of(flow: Flow) -> Stats:
    """From a flow loaded through with_stats(), or with one query."""
    if not hasattr(flow, "runs_total"):
        flow = with_stats(Flow.objects.filter(pk=flow.pk)).get()
    return Stats(
        flow.runs_total,  # type: ignore[attr-defined]
        flow.runs_solved,  # type: ignore[attr-defined]
        flow.runs_escalated,  # type: ignore[attr-defined]
        flow.runs_abandoned,  # type: ignore[attr-defined]
        flow.runs_in_progress,  # type: ignore[attr-defined]
    )


# -- runs ------------------------------------------------------------------------------


def can_see_run(user: User, run: FlowRun) -> bool:
    if not _active(user):
        return False
    if run.user_id == user.pk or user.is_supervisor:
        return True
    return bool(user.is_agent and run.ticket is not None and policy.can_view(user, run.ticket))


def get_visible_run(user: User, run_id: int) -> FlowRun:
    run = (
        FlowRun.objects.select_related("flow", "flow_version", "ticket", "user")
        .filter(pk=run_id)
        .first()
    )
    if run is None or not can_see_run(user, run):
        raise NotFound(_("Flow run %(id)s not found.") % {"id": run_id})
    return run


def _require_runner(user: User, run: FlowRun) -> None:
    if run.user_id != user.pk:
        raise PermissionDenied(_("Only the person who started this run may answer it."))
    if run.finished:
        raise Conflict(_("This run is finished already."))


def current_node(run: FlowRun) -> Node:
    node = run.flow_version.tree().node(run.node)
    if node is None:  # cannot happen: versions never change
        raise Conflict(_("This run points at a node its flow does not have."))
    return node


@transaction.atomic
def start_run(flow: Flow, *, acting_user: User, ticket: Ticket | None = None) -> FlowRun:
    """Start answering the flow's current version, on a ticket (agents) or alone."""
    if flow.archived or not visible_flows(acting_user).filter(pk=flow.pk).exists():
        raise NotFound(_("Flow %(slug)s not found.") % {"slug": flow.slug})
    if ticket is not None:
        policy.require_work(acting_user, ticket)
        if not ticket.is_active:
            raise Conflict(
                _("Ticket #%(number)s is %(status)s.")
                % {"number": ticket.number, "status": ticket.get_status_display().lower()}
            )
    version = flow.current()
    return FlowRun.objects.create(
        flow=flow,
        flow_version=version,
        user=acting_user,
        ticket=ticket,
        channel=RunChannel.DESK if acting_user.is_agent else RunChannel.PORTAL,
        node=version.tree().start.id,
    )


@transaction.atomic
def answer(run: FlowRun, *, acting_user: User, choice: int) -> FlowRun:
    """Take answer number `choice` (0-based) of the question shown; the path grows."""
    run = (
        FlowRun.objects.select_for_update(of=("self",))
        .select_related("flow_version")
        .get(pk=run.pk)
    )
    _require_runner(acting_user, run)
    node = current_node(run)
    if node.kind != "question":
        raise Conflict(_("This step is not a question; finish the run instead."))
    if not 0 <= choice < len(node.answers):
        raise InvalidInput(
            _("Choose an answer between 1 and %(count)s.") % {"count": len(node.answers)}
        )
    chosen = node.answers[choice]
    run.path = [
        *run.path,
        {"node": node.id, "question": node.text, "answer": chosen.label, "choice": choice},
    ]
    run.node = chosen.next
    run.save(update_fields=["path", "node"])
    return run


@transaction.atomic
def back(run: FlowRun, *, acting_user: User) -> FlowRun:
    """Undo the last answer: the question before is shown again."""
    run = FlowRun.objects.select_for_update(of=("self",)).get(pk=run.pk)
    _require_runner(acting_user, run)
    if not run.path:
        raise Conflict(_("This is the first question already."))
    last = run.path[-1]
    run.path = run.path[:-1]
    run.node = last["node"]
    run.save(update_fields=["path", "node"])
    return run


def leaf_text(node: Node) -> str:
    if node.kind == "solution":
        return node.text or _("Knowledge-base article %(id)s") % {"id": node.article}
    if node.kind == "escalate":
        escalation = _("Escalate to %(tier)s") % {"tier": node.tier}
        return f"{escalation}: {node.text}" if node.text else escalation
    return ""


def path_lines(run: FlowRun) -> list[str]:
    return [f"{n}. {step['question']} — {step['answer']}" for n, step in enumerate(run.path, 1)]


def path_text(run: FlowRun, *, heading: str) -> str:
    """The run as text: a heading, each question with its answer, then the result."""
    lines = [heading, *path_lines(run)]
    if run.result:
        lines.append(_("Result: %(result)s") % {"result": run.result})
    return "\n".join(lines)


def allowed_outcomes(run: FlowRun, node: Node) -> list[str]:
    """What finishing may say at this step: solved at a solution, escalated at an
    escalation (requesters may also open a ticket at a solution that did not help),
    abandoned any time."""
    outcomes: list[str] = []
    if node.kind == "solution":
        outcomes.append(Outcome.SOLVED)
    if node.kind == "escalate" or (run.channel == RunChannel.PORTAL and node.kind == "solution"):
        outcomes.append(Outcome.ESCALATED)
    outcomes.append(Outcome.ABANDONED)
    return outcomes


@transaction.atomic
def finish(run: FlowRun, *, acting_user: User, outcome: str) -> FlowRun:
    """End the run. On a ticket: the path becomes an internal note, a FLOW_RUN event says
    how it ended, and an escalation leaf escalates the ticket to its tier.

    1. The outcome must fit the step shown (allowed_outcomes).
    2. The run is marked finished with the leaf's text as its result.
    3. On a ticket: note, then escalation (up to the leaf's tier), then the event.
    """
    run = (
        FlowRun.objects.select_for_update(of=("self",))
        .select_related("flow", "flow_version", "ticket")
        .get(pk=run.pk)
    )
    _require_runner(acting_user, run)
    try:
        outcome = Outcome(outcome)
    except ValueError:
        raise InvalidInput(
            _("Unknown outcome %(outcome)s.") % {"outcome": str(outcome)[:40]}
        ) from None
    node = current_node(run)
    if outcome not in allowed_outcomes(run, node):
        raise Conflict(
            _("A run at this step cannot end as %(outcome)s.") % {"outcome": outcome.label}
        )
    run.outcome = outcome
    run.finished_at = timezone.now()
    run.result = leaf_text(node) if outcome != Outcome.ABANDONED else ""
    run.save(update_fields=["outcome", "finished_at", "result"])
    ticket = run.ticket
    if ticket is not None:
        _record_on_ticket(run, node, acting_user=acting_user)
    return run


def _record_on_ticket(run: FlowRun, node: Node, *, acting_user: User) -> None:
    ticket = run.ticket
    assert ticket is not None
    flow = run.flow
    summary = _('"%(title)s": %(outcome)s after %(steps)s answers') % {
        "title": flow.title,
        "outcome": Outcome(run.outcome).label.lower(),
        "steps": len(run.path),
    }
    heading = _('Troubleshooting flow "%(title)s" (version %(version)s): %(outcome)s.') % {
        "title": flow.title,
        "version": run.flow_version.number,
        "outcome": Outcome(run.outcome).label.lower(),
    }
    tickets.add_note(ticket, acting_user=acting_user, body=path_text(run, heading=heading))
    if run.outcome == Outcome.ESCALATED and node.kind == "escalate":
        target = Tier.ordered().index(Tier(node.tier))
        reason = _('Troubleshooting flow "%(title)s": %(result)s') % {
            "title": flow.title,
            "result": run.result,
        }
        while Tier.ordered().index(Tier(ticket.tier)) < target:
            ticket = tickets.escalate(ticket, acting_user=acting_user, reason=reason[:1000])
    tickets.log_event(
        ticket,
        acting_user=acting_user,
        kind=EventKind.FLOW_RUN,
        summary=summary,
        flow=flow.slug,
        run=run.pk,
        outcome=run.outcome,
    )


def ticket_draft(run: FlowRun) -> dict[str, str]:
    """Subject and description for the new-ticket form a requester opens from a run."""
    heading = _('I followed the troubleshooting guide "%(title)s":') % {"title": run.flow.title}
    return {"subject": run.flow.title[:250], "body": path_text(run, heading=heading)}


@transaction.atomic
def link_ticket(run: FlowRun, ticket: Ticket, *, acting_user: User) -> None:
    """The ticket a requester opened from the run: the run points at it, and the ticket's
    history says a flow led to it."""
    if run.user_id != acting_user.pk or ticket.requester_id != acting_user.pk:
        raise PermissionDenied(_("Only the person who started this run may do this."))
    FlowRun.objects.filter(pk=run.pk).update(ticket=ticket)
    tickets.log_event(
        ticket,
        acting_user=acting_user,
        kind=EventKind.FLOW_RUN,
        summary=_('opened after the troubleshooting flow "%(title)s"') % {"title": run.flow.title},
        flow=run.flow.slug,
        run=run.pk,
        outcome=run.outcome,
    )
