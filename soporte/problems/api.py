"""The problems API (/api/v1/problems): problems and known errors, their tickets, reports
to development, and the trackers' status webhook. Agents only (requesters are refused
with 403 before anything is looked up); the webhook takes its tracker's signature
instead of a person."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja import Status as HttpStatus

from soporte.accounts import policy as accounts_policy
from soporte.assets.models import Asset
from soporte.lib.errors import InvalidInput, NotFound
from soporte.lib.schema import Id, Number, Version, text

from . import services
from .models import BugReport, Problem, ProblemStatus, Tracker

router = Router(tags=["problems"])

MAX_LIMIT = 100
MAX_LINKS = 200


class ProblemBugOut(Schema):
    tracker_id: int
    tracker: str
    key: str
    url: str
    state: str
    fixed_at: datetime | None


class ProblemReportOut(Schema):
    id: int
    problem_id: int
    tracker_id: int
    status: str
    attempts: int
    last_error: str
    created_at: datetime
    sent_at: datetime | None


class ProblemSummaryOut(Schema):
    id: int
    title: str
    status: str
    bug_key: str
    bug_state: str
    updated_at: datetime


class ProblemPageOut(Schema):
    items: list[ProblemSummaryOut]
    next_offset: int | None


class ProblemOut(Schema):
    id: int
    title: str
    description: str
    root_cause: str
    workaround: str
    workaround_public: bool
    status: str
    notify_when_fixed: bool
    version: int
    created_by: str
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    ticket_numbers: list[int] = Field(description="The linked tickets the caller may see.")
    asset_ids: list[int]
    bug: ProblemBugOut | None
    reports: list[ProblemReportOut]


class ProblemQuery(Schema):
    q: text(200) = Field("", description="Words of the title.")  # type: ignore[valid-type]
    status: ProblemStatus | None = None
    limit: int = Field(50, ge=1, le=MAX_LIMIT)
    offset: int = Field(0, ge=0, le=100_000)


class ProblemIn(Schema):
    title: text(200, 1)  # type: ignore[valid-type]
    description: text(50_000) = ""  # type: ignore[valid-type]
    root_cause: text(50_000) = ""  # type: ignore[valid-type]
    workaround: text(50_000) = ""  # type: ignore[valid-type]
    workaround_public: bool = True
    status: ProblemStatus = ProblemStatus.INVESTIGATING
    notify_when_fixed: bool = False
    ticket_numbers: list[Number] = Field(default_factory=list, max_length=MAX_LINKS)
    asset_ids: list[Id] = Field(default_factory=list, max_length=MAX_LINKS)


class ProblemPatch(Schema):
    title: text(200, 1) | None = None  # type: ignore[valid-type]
    description: text(50_000) | None = None  # type: ignore[valid-type]
    root_cause: text(50_000) | None = None  # type: ignore[valid-type]
    workaround: text(50_000) | None = None  # type: ignore[valid-type]
    workaround_public: bool | None = None
    status: ProblemStatus | None = None
    notify_when_fixed: bool | None = None
    asset_ids: list[Id] | None = Field(None, max_length=MAX_LINKS, description="Replaces them.")
    version: Version | None = Field(None, description="Refused (409) if changed since.")


class ProblemLinkIn(Schema):
    number: Number


class ProblemReportIn(Schema):
    tracker_id: Id | None = Field(None, description="The first active tracker if omitted.")


class ProblemTicketReportIn(Schema):
    problem_id: Id | None = Field(
        None, description="Through this problem; else the ticket's only one, or a new one."
    )
    tracker_id: Id | None = None


class ProblemWebhookOut(Schema):
    changed: int


def _problem(request: HttpRequest, problem_id: int) -> Problem:
    return services.get_problem(request.auth, problem_id)


def _assets(ids: list[int]) -> list[Asset]:
    found = Asset.objects.in_bulk(set(ids))
    missing = sorted(set(ids) - set(found))
    if missing:
        raise InvalidInput(f"Asset {missing[0]} does not exist.")
    return list(found.values())


def _tracker(tracker_id: int | None) -> Tracker | None:
    if tracker_id is None:
        return None
    tracker = Tracker.objects.filter(pk=tracker_id, active=True).first()
    if tracker is None:
        raise InvalidInput(f"Tracker {tracker_id} does not exist or is not active.")
    return tracker


def _report_out(report: BugReport) -> dict:
    return {
        "id": report.pk, "problem_id": report.problem_id, "tracker_id": report.tracker_id,
        "status": report.status, "attempts": report.attempts, "last_error": report.last_error,
        "created_at": report.created_at, "sent_at": report.sent_at,
    }  # fmt: skip


def _detail(request: HttpRequest, problem: Problem) -> dict:
    problem = Problem.objects.select_related("tracker", "created_by").get(pk=problem.pk)
    visible = accounts_policy.visible_tickets(request.auth)
    numbers = list(
        visible.filter(problem_links__problem=problem)
        .order_by("number")
        .values_list("number", flat=True)[:1000]
    )
    bug = None
    if problem.bug_key and problem.tracker is not None:
        bug = {
            "tracker_id": problem.tracker_id, "tracker": problem.tracker.name,
            "key": problem.bug_key, "url": problem.bug_url, "state": problem.bug_state,
            "fixed_at": problem.bug_fixed_at,
        }  # fmt: skip
    return {
        "id": problem.pk,
        "title": problem.title,
        "description": problem.description,
        "root_cause": problem.root_cause,
        "workaround": problem.workaround,
        "workaround_public": problem.workaround_public,
        "status": problem.status,
        "notify_when_fixed": problem.notify_when_fixed,
        "version": problem.version,
        "created_by": problem.created_by.get_username(),
        "created_at": problem.created_at,
        "updated_at": problem.updated_at,
        "resolved_at": problem.resolved_at,
        "ticket_numbers": numbers,
        "asset_ids": sorted(problem.assets.values_list("pk", flat=True)),
        "bug": bug,
        "reports": [_report_out(r) for r in problem.reports.all()[:20]],
    }


# The webhook first: its path must not be taken for a problem's.
@router.post(
    "/webhooks/{tracker_id}",
    auth=None,
    url_name="problems_webhook",
    response=ProblemWebhookOut,
    summary="A tracker's status webhook (signed: no person signs in)",
    openapi_extra={
        "requestBody": {
            "description": "The tracker's JSON event (GitHub issues, GitLab issue, Jira "
            "issue, or {key, state} signed with X-Soporte-Signature).",
            "content": {"application/json": {"schema": {"type": "object"}}},
            "required": True,
        }
    },
)
def webhook(request: HttpRequest, tracker_id: Id):
    changed = services.receive_webhook(
        tracker_id, headers=request.headers, query=request.GET, body=request.body
    )
    return {"changed": changed}


@router.get("", response=ProblemPageOut, summary="Problems, latest changed first (agents)")
def list_problems(request: HttpRequest, query: Query[ProblemQuery]):
    accounts_policy.require_agent(request.auth)
    problems = services.filter_problems(
        services.visible_problems(request.auth), q=query.q, status=query.status or ""
    )
    rows = list(problems[query.offset : query.offset + query.limit + 1])
    more = len(rows) > query.limit
    return {
        "items": rows[: query.limit],
        "next_offset": query.offset + query.limit if more else None,
    }


@router.post("", response={201: ProblemOut}, summary="Record a problem (agents)")
def create_problem(request: HttpRequest, data: ProblemIn):
    accounts_policy.require_agent(request.auth)
    with transaction.atomic():
        tickets = [
            accounts_policy.get_visible_ticket(request.auth, number)
            for number in dict.fromkeys(data.ticket_numbers)
        ]
        problem = services.create_problem(
            acting_user=request.auth,
            title=data.title, description=data.description, root_cause=data.root_cause,
            workaround=data.workaround, workaround_public=data.workaround_public,
            status=data.status, notify_when_fixed=data.notify_when_fixed,
            tickets=tickets, assets=_assets(data.asset_ids),
        )  # fmt: skip
    return HttpStatus(201, _detail(request, problem))


@router.get("/{problem_id}", response=ProblemOut, summary="A problem (agents)")
def read_problem(request: HttpRequest, problem_id: Id):
    return _detail(request, _problem(request, problem_id))


@router.patch("/{problem_id}", response=ProblemOut, summary="Change a problem (agents)")
def update_problem(request: HttpRequest, problem_id: Id, data: ProblemPatch):
    problem = _problem(request, problem_id)
    fields = {k: v for k, v in data.model_dump(exclude_unset=True).items() if v is not None}
    version = fields.pop("version", None)
    asset_ids = fields.pop("asset_ids", None)
    with transaction.atomic():
        problem = services.update_problem(
            problem, acting_user=request.auth, expected_version=version, **fields
        )
        if asset_ids is not None:
            problem.assets.set(_assets(asset_ids))
    return _detail(request, problem)


@router.post("/{problem_id}/tickets", response={201: ProblemOut}, summary="Link a ticket (agents)")
def link_ticket(request: HttpRequest, problem_id: Id, data: ProblemLinkIn):
    problem = _problem(request, problem_id)
    ticket = accounts_policy.get_visible_ticket(request.auth, data.number)
    services.link_ticket(problem, ticket, acting_user=request.auth)
    return HttpStatus(201, _detail(request, problem))


@router.delete(
    "/{problem_id}/tickets/{number}", response={204: None}, summary="Unlink a ticket (agents)"
)
def unlink_ticket(request: HttpRequest, problem_id: Id, number: Number):
    problem = _problem(request, problem_id)
    ticket = accounts_policy.get_visible_ticket(request.auth, number)
    if not services.unlink_ticket(problem, ticket, acting_user=request.auth):
        raise NotFound(f"Ticket #{number} is not linked to problem {problem.pk}.")
    return HttpStatus(204, None)


@router.post(
    "/{problem_id}/report",
    response={202: ProblemReportOut},
    summary="Report to development: file a bug in the tracker (agents)",
)
def report(request: HttpRequest, problem_id: Id, data: ProblemReportIn):
    problem = _problem(request, problem_id)
    created = services.report_to_development(
        problem, acting_user=request.auth, tracker=_tracker(data.tracker_id)
    )
    created.refresh_from_db()
    return HttpStatus(202, _report_out(created))


@router.post(
    "/reports/{report_id}/retry",
    response={202: ProblemReportOut},
    summary="Try a failed report again (agents)",
)
def retry_report(request: HttpRequest, report_id: Id):
    accounts_policy.require_agent(request.auth)
    found = BugReport.objects.filter(pk=report_id).first()
    if found is None:
        raise NotFound(f"Report {report_id} not found.")
    found = services.retry_report(found, acting_user=request.auth)
    return HttpStatus(202, _report_out(found))


@router.post(
    "/tickets/{number}/report",
    response={202: ProblemReportOut},
    summary="Report a ticket to development, through a problem (agents)",
)
def report_ticket(request: HttpRequest, number: Number, data: ProblemTicketReportIn):
    accounts_policy.require_agent(request.auth)
    ticket = accounts_policy.get_visible_ticket(request.auth, number)
    problem = _problem(request, data.problem_id) if data.problem_id else None
    created = services.report_ticket(
        ticket, acting_user=request.auth, problem=problem, tracker=_tracker(data.tracker_id)
    )
    created.refresh_from_db()
    return HttpStatus(202, _report_out(created))
