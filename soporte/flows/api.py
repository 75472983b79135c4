"""The flows API (/api/v1/flows): list and read flows (requesters: the public ones),
import and export YAML (supervisors), run a flow step by step, and each flow's outcomes.
A flow or run a person may not see answers 404, as if it did not exist."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema
from ninja import Status as HttpStatus
from pydantic import Field

from soporte.accounts import policy as accounts_policy
from soporte.lib.errors import PermissionDenied
from soporte.lib.schema import Id, Number, text

from . import services
from .models import Flow, FlowRun, Language, Outcome

router = Router(tags=["flows"])

Slug = text(80, 1)


# -- schemas (prefixed: names are unique across the whole API) ---------------------------


class FlowStatsOut(Schema):
    runs: int
    solved: int
    escalated: int
    abandoned: int = Field(description="Finished as abandoned, or left unfinished a day.")
    in_progress: int
    solved_percent: int | None = Field(description="Solved among the finished runs.")


class FlowSummaryOut(Schema):
    slug: str
    title: str
    description: str
    language: str
    public: bool
    archived: bool
    version: int
    updated_at: datetime
    stats: FlowStatsOut | None = Field(description="Agents only; null for requesters.")


class FlowDetailOut(FlowSummaryOut):
    definition: dict[str, Any] = Field(description="The current version: slug, nodes...")


class FlowListQuery(Schema):
    language: Language | None = Field(None, description="Flows in it first (default: yours).")


class FlowImportIn(Schema):
    yaml: text(services.MAX_YAML_BYTES, 1) = Field(description="The flow as YAML.")


class FlowImportOut(Schema):
    changed: bool = Field(description="False when the YAML equals the current version.")
    flow: FlowDetailOut


class FlowRunStartIn(Schema):
    ticket: Number | None = Field(None, description="Agents: the ticket worked on.")


class FlowStepOut(Schema):
    node: str
    question: str
    answer: str


class FlowAnswerChoiceOut(Schema):
    index: int
    label: str


class FlowNodeOut(Schema):
    id: str
    kind: str = Field(description="question, solution or escalate.")
    text: str
    answers: list[FlowAnswerChoiceOut]
    article_id: int | None
    tier: str


class FlowRunOut(Schema):
    id: int
    flow: str
    flow_version: int
    ticket: int | None
    channel: str
    outcome: str
    path: list[FlowStepOut]
    node: FlowNodeOut | None = Field(description="The step shown; null once finished.")
    allowed_outcomes: list[str]
    result: str
    started_at: datetime
    finished_at: datetime | None


class FlowAnswerIn(Schema):
    answer: int = Field(ge=0, le=1000, description="The 0-based index of the answer.")


class FlowFinishIn(Schema):
    outcome: Outcome


# -- helpers ---------------------------------------------------------------------------


def _stats(flow: Flow) -> FlowStatsOut:
    stats = services.stats_of(flow)
    return FlowStatsOut(
        runs=stats.total, solved=stats.solved, escalated=stats.escalated,
        abandoned=stats.abandoned, in_progress=stats.in_progress,
        solved_percent=stats.solved_percent,
    )  # fmt: skip


def _summary(user, flow: Flow) -> dict[str, Any]:
    return {
        "slug": flow.slug, "title": flow.title, "description": flow.description,
        "language": flow.language, "public": flow.public, "archived": flow.archived,
        "version": flow.version, "updated_at": flow.updated_at,
        "stats": _stats(flow) if user.is_agent else None,
    }  # fmt: skip


def _detail(user, flow: Flow) -> FlowDetailOut:
    return FlowDetailOut(**_summary(user, flow), definition=flow.current().definition)


def _flow(request: HttpRequest, slug: str) -> Flow:
    return services.get_visible_flow(request.auth, slug)


def _run_out(run: FlowRun) -> FlowRunOut:
    node = None
    allowed: list[str] = []
    if not run.finished:
        current = services.current_node(run)
        node = FlowNodeOut(
            id=current.id, kind=current.kind, text=current.text,
            answers=[FlowAnswerChoiceOut(index=i, label=a.label)
                     for i, a in enumerate(current.answers)],
            article_id=current.article, tier=current.tier,
        )  # fmt: skip
        allowed = [str(outcome) for outcome in services.allowed_outcomes(run, current)]
    return FlowRunOut(
        id=run.pk,
        flow=run.flow.slug,
        flow_version=run.flow_version.number,
        ticket=run.ticket.number if run.ticket else None,
        channel=run.channel,
        outcome=run.outcome,
        path=[
            FlowStepOut(node=s["node"], question=s["question"], answer=s["answer"])
            for s in run.path
        ],
        node=node,
        allowed_outcomes=allowed,
        result=run.result,
        started_at=run.started_at,
        finished_at=run.finished_at,
    )


def _run(request: HttpRequest, run_id: int) -> FlowRun:
    return services.get_visible_run(request.auth, run_id)


# -- flows -----------------------------------------------------------------------------


@router.get("", response=list[FlowSummaryOut], summary="Flows you may run (requesters: public)")
def list_flows(request: HttpRequest, language: Language | None = None):
    """In your language first (or the one asked for), then by title; agents get each
    flow's outcomes."""
    user = request.auth
    flows = services.visible_flows(user)
    if user.is_agent:
        flows = services.with_stats(flows)
    ordered = services.in_language_first(flows[:500], language or user.language)
    return [_summary(user, flow) for flow in ordered]


@router.post(
    "/import", response={201: FlowImportOut}, summary="Import a flow as YAML (supervisors)"
)
def import_flow(request: HttpRequest, data: FlowImportIn):
    """A new flow, or a new version of the flow with the same slug. Invalid YAML is 400,
    a rule broken 422 (naming the node); nothing changes then."""
    flow, changed = services.import_flow(data.yaml, acting_user=request.auth)
    return HttpStatus(201, FlowImportOut(changed=changed, flow=_detail(request.auth, flow)))


@router.get("/runs/{run_id}", response=FlowRunOut, summary="A run: its path and the step shown")
def read_run(request: HttpRequest, run_id: Id):
    return _run_out(_run(request, run_id))


@router.post("/runs/{run_id}/answer", response=FlowRunOut, summary="Answer the question shown")
def answer_run(request: HttpRequest, run_id: Id, data: FlowAnswerIn):
    run = services.answer(_run(request, run_id), acting_user=request.auth, choice=data.answer)
    return _run_out(_run(request, run.pk))


@router.post("/runs/{run_id}/back", response=FlowRunOut, summary="Undo the last answer")
def back_run(request: HttpRequest, run_id: Id):
    run = services.back(_run(request, run_id), acting_user=request.auth)
    return _run_out(_run(request, run.pk))


@router.post(
    "/runs/{run_id}/finish",
    response=FlowRunOut,
    summary="End the run: solved, escalated or abandoned (recorded on its ticket)",
)
def finish_run(request: HttpRequest, run_id: Id, data: FlowFinishIn):
    run = services.finish(_run(request, run_id), acting_user=request.auth, outcome=data.outcome)
    return _run_out(_run(request, run.pk))


@router.get("/{slug}", response=FlowDetailOut, summary="A flow and its current definition")
def read_flow(request: HttpRequest, slug: Slug):
    user = request.auth
    flows = services.visible_flows(user).filter(slug=slug)
    if user.is_agent:
        flows = services.with_stats(flows)
    flow = flows.first() or _flow(request, slug)
    return _detail(user, flow)


@router.get(
    "/{slug}/export",
    summary="The flow as YAML (agents)",
    openapi_extra={
        "responses": {200: {"description": "YAML", "content": {"application/yaml": {"schema": {}}}}}
    },
)
def export_flow(request: HttpRequest, slug: Slug):
    user = request.auth
    flow = _flow(request, slug)
    if not user.is_agent:
        raise PermissionDenied("Only agents may export flows.")
    response = HttpResponse(services.export_flow(flow), content_type="application/yaml")
    response["Content-Disposition"] = f'attachment; filename="{flow.slug}.yaml"'
    return response


@router.get("/{slug}/stats", response=FlowStatsOut, summary="How its runs ended (agents)")
def flow_stats(request: HttpRequest, slug: Slug):
    flow = _flow(request, slug)
    if not request.auth.is_agent:
        raise PermissionDenied("Only agents may read a flow's statistics.")
    return _stats(flow)


@router.post("/{slug}/runs", response={201: FlowRunOut}, summary="Start running the flow")
def start_run(request: HttpRequest, slug: Slug, data: FlowRunStartIn):
    """Agents may name the ticket they work on (the path is recorded on it when the run
    ends); requesters run public flows without one."""
    user = request.auth
    flow = _flow(request, slug)
    ticket = None
    if data.ticket is not None:
        if not user.is_agent:
            raise PermissionDenied("Only agents run flows on tickets.")
        ticket = accounts_policy.get_visible_ticket(user, data.ticket)
    run = services.start_run(flow, acting_user=user, ticket=ticket)
    return HttpStatus(201, _run_out(_run(request, run.pk)))
