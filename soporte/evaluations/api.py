"""The evaluations API (/api/v1/evaluations): product evaluations with their test plan,
compatibility matrix, ease-of-use scores, issues found, recommendation and vendor
feedback, and the report by status and outcome. Every agent reads; L2/L3 agents,
supervisors and admins change; requesters are refused with 403."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema
from ninja import Status as HttpStatus

from soporte.assets.models import AssetType, SoftwareProduct
from soporte.lib.errors import InvalidInput
from soporte.lib.schema import AwareDatetime, Id, text

from . import services
from .models import (
    Compatibility,
    Evaluation,
    EvaluationStatus,
    FeedbackMethod,
    ProductKind,
    Recommendation,
    StepResult,
    SystemKind,
)

router = Router(tags=["evaluations"])

MAX_LIMIT = 100
CSV_RESPONSE = {
    "responses": {
        "200": {
            "description": "CSV: status, recommendation, evaluations",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        }
    }
}


# -- schemas -----------------------------------------------------------------------------


class EvaluationStepOut(Schema):
    id: int
    position: int
    text: str
    result: str
    note: str
    checked_by: str | None
    checked_at: datetime | None


class EvaluationCompatibilityOut(Schema):
    id: int
    system_kind: str
    system_id: int | None
    system: str
    result: str
    note: str


class EvaluationScoreOut(Schema):
    tester: str
    score: int
    note: str


class EvaluationFindingOut(Schema):
    id: int
    title: str
    description: str
    found_by: str | None
    problem_id: int | None
    feedback_id: int | None


class EvaluationFeedbackOut(Schema):
    id: int
    method: str
    contact: str
    to: str
    subject: str
    body: str
    status: str
    attempts: int
    last_error: str
    sent_at: datetime | None
    created_at: datetime


class EvaluationSummaryOut(Schema):
    id: int
    title: str
    kind: str
    product: str
    status: str
    recommendation: str
    updated_at: datetime


class EvaluationPageOut(Schema):
    items: list[EvaluationSummaryOut]
    next_offset: int | None


class EvaluationOut(EvaluationSummaryOut):
    description: str
    asset_type_id: int | None
    manufacturer: str
    model: str
    software_product_id: int | None
    product_version: str
    vendor: str
    vendor_contact: str
    vendor_email: str
    conditions: str
    decided_at: datetime | None
    decided_by: str | None
    created_at: datetime
    average_score: float | None = Field(description="The testers' mean, 1-5.")
    steps: list[EvaluationStepOut]
    compatibility: list[EvaluationCompatibilityOut]
    scores: list[EvaluationScoreOut]
    findings: list[EvaluationFindingOut]
    feedback: list[EvaluationFeedbackOut]


class EvaluationQuery(Schema):
    status: EvaluationStatus | None = None
    recommendation: Recommendation | None = None
    q: text(200) = ""
    limit: int = Field(20, ge=1, le=MAX_LIMIT)
    offset: int = Field(0, ge=0, le=1_000_000)


class EvaluationPatch(Schema):
    title: text(200, 1) | None = None
    description: text(50_000) | None = None
    kind: ProductKind | None = None
    asset_type_id: Id | None = None
    manufacturer: text(100) | None = None
    model: text(100) | None = None
    software_product_id: Id | None = None
    product_version: text(100) | None = None
    vendor: text(200) | None = None
    vendor_contact: text(200) | None = None
    vendor_email: text(254) | None = None


class EvaluationIn(Schema):
    title: text(200, 1)
    description: text(50_000) = ""
    kind: ProductKind
    asset_type_id: Id | None = None
    manufacturer: text(100) = ""
    model: text(100) = ""
    software_product_id: Id | None = None
    product_version: text(100) = ""
    vendor: text(200) = ""
    vendor_contact: text(200) = ""
    vendor_email: text(254) = ""
    steps: list[text(500, 1)] = Field([], max_length=services.MAX_STEPS)


class EvaluationStatusIn(Schema):
    status: Literal["testing", "decided"]
    recommendation: Recommendation | None = None
    conditions: text(50_000) = ""


class EvaluationStepIn(Schema):
    text: text(500, 1)


class EvaluationStepResultIn(Schema):
    result: StepResult
    note: text(50_000) = ""


class EvaluationCompatibilityIn(Schema):
    system_kind: SystemKind
    system_id: Id | None = Field(None, description="The asset type or software product.")
    os_name: text(100) = Field("", description="An operating system of the inventory.")
    result: Compatibility
    note: text(50_000) = ""


class EvaluationScoreIn(Schema):
    score: int = Field(ge=1, le=5)
    note: text(50_000) = ""


class EvaluationFindingIn(Schema):
    title: text(200, 1)
    description: text(50_000) = ""


class EvaluationProblemIn(Schema):
    report: bool = Field(False, description="Also report the problem to development.")
    tracker_id: Id | None = None


class EvaluationFeedbackIn(Schema):
    method: FeedbackMethod = FeedbackMethod.MAIL
    body: text(50_000, 1)
    subject: text(250) = ""
    to: text(254) = ""
    contact: text(200) = ""
    sent_at: AwareDatetime | None = Field(None, description="By hand: when it was sent.")
    finding_ids: list[Id] = Field([], max_length=500)


class EvaluationReportRowOut(Schema):
    status: str
    recommendation: str
    count: int


class EvaluationReportOut(Schema):
    rows: list[EvaluationReportRowOut]
    total: int


# -- helpers -----------------------------------------------------------------------------


def _evaluation(request: HttpRequest, evaluation_id: int) -> Evaluation:
    return services.get_evaluation(request.auth, evaluation_id)


def _row(model, pk: int | None, what: str):
    if pk is None:
        return None
    row = model.objects.filter(pk=pk).first()
    if row is None:
        raise InvalidInput(f"{what} {pk} does not exist.")
    return row


def _name(user) -> str | None:
    return user.get_username() if user is not None else None


def _step_out(s) -> dict:
    return {
        "id": s.pk, "position": s.position, "text": s.text, "result": s.result,
        "note": s.note, "checked_by": _name(s.checked_by), "checked_at": s.checked_at,
    }  # fmt: skip


def _summary(evaluation: Evaluation) -> dict:
    return {
        "id": evaluation.pk, "title": evaluation.title, "kind": evaluation.kind,
        "product": evaluation.product_label(), "status": evaluation.status,
        "recommendation": evaluation.recommendation, "updated_at": evaluation.updated_at,
    }  # fmt: skip


def _detail(evaluation: Evaluation) -> dict:
    evaluation = Evaluation.objects.select_related(
        "asset_type", "software_product", "decided_by"
    ).get(pk=evaluation.pk)
    steps = evaluation.steps.select_related("checked_by")
    compatibility = evaluation.compatibility.select_related("asset_type", "software_product")
    scores = list(evaluation.scores.select_related("tester"))
    return {
        **_summary(evaluation),
        "description": evaluation.description,
        "asset_type_id": evaluation.asset_type_id,
        "manufacturer": evaluation.manufacturer,
        "model": evaluation.model,
        "software_product_id": evaluation.software_product_id,
        "product_version": evaluation.product_version,
        "vendor": evaluation.vendor,
        "vendor_contact": evaluation.vendor_contact,
        "vendor_email": evaluation.vendor_email,
        "conditions": evaluation.conditions,
        "decided_at": evaluation.decided_at,
        "decided_by": _name(evaluation.decided_by),
        "created_at": evaluation.created_at,
        "average_score": services.average_score(evaluation),
        "steps": [
            {
                "id": s.pk,
                "position": s.position,
                "text": s.text,
                "result": s.result,
                "note": s.note,
                "checked_by": _name(s.checked_by),
                "checked_at": s.checked_at,
            }  # fmt: skip
            for s in steps
        ],
        "compatibility": [
            {
                "id": c.pk,
                "system_kind": c.system_kind,
                "system_id": c.asset_type_id or c.software_product_id,
                "system": c.system_label(),
                "result": c.result,
                "note": c.note,
            }  # fmt: skip
            for c in compatibility
        ],
        "scores": [
            {"tester": s.tester.get_username(), "score": s.score, "note": s.note} for s in scores
        ],
        "findings": [
            {
                "id": f.pk,
                "title": f.title,
                "description": f.description,
                "found_by": _name(f.found_by),
                "problem_id": f.problem_id,
                "feedback_id": f.feedback_id,
            }  # fmt: skip
            for f in evaluation.findings.select_related("found_by")
        ],
        "feedback": list(evaluation.feedback.all()[:50]),
    }


# -- endpoints ---------------------------------------------------------------------------


@router.get("", response=EvaluationPageOut, summary="Evaluations, latest changed first (agents)")
def list_evaluations(request: HttpRequest, query: Query[EvaluationQuery]):
    services.require_read(request.auth)
    evaluations = services.filter_evaluations(
        services.visible_evaluations(request.auth),
        status=query.status or "",
        recommendation=query.recommendation or "",
        q=query.q,
    ).select_related("asset_type", "software_product")
    rows = list(evaluations[query.offset : query.offset + query.limit + 1])
    more = len(rows) > query.limit
    return {
        "items": [_summary(row) for row in rows[: query.limit]],
        "next_offset": query.offset + query.limit if more else None,
    }


@router.post("", response={201: EvaluationOut}, summary="Plan an evaluation (L2/L3, supervisors)")
def create_evaluation(request: HttpRequest, data: EvaluationIn):
    services.require_run(request.auth)
    fields = data.dict(exclude={"asset_type_id", "software_product_id", "steps", "title", "kind"})
    evaluation = services.create_evaluation(
        acting_user=request.auth,
        title=data.title,
        kind=data.kind,
        steps=data.steps,
        asset_type=_row(AssetType, data.asset_type_id, "Asset type"),
        software_product=_row(SoftwareProduct, data.software_product_id, "Software product"),
        **fields,
    )
    return HttpStatus(201, _detail(evaluation))


@router.get("/report", response=EvaluationReportOut, summary="Evaluations by status and outcome")
def report(request: HttpRequest):
    rows = services.outcome_report(request.auth)
    return {"rows": rows, "total": sum(row["count"] for row in rows)}


@router.get(
    "/report.csv", summary="Evaluations by status and outcome, CSV", openapi_extra=CSV_RESPONSE
)
def report_csv(request: HttpRequest):
    response = HttpResponse(
        services.outcome_csv(request.auth), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="evaluations.csv"'
    return response


@router.get("/{evaluation_id}", response=EvaluationOut, summary="An evaluation (agents)")
def read_evaluation(request: HttpRequest, evaluation_id: Id):
    return _detail(_evaluation(request, evaluation_id))


@router.patch("/{evaluation_id}", response=EvaluationOut, summary="Change an evaluation")
def update_evaluation(request: HttpRequest, evaluation_id: Id, data: EvaluationPatch):
    evaluation = _evaluation(request, evaluation_id)
    given = data.dict(exclude_unset=True)
    fields = {k: v for k, v in given.items() if k not in ("asset_type_id", "software_product_id")}
    if any(v is None for v in fields.values()):
        raise InvalidInput("Fields other than the asset type and software product cannot be null.")
    if "asset_type_id" in given:
        fields["asset_type"] = _row(AssetType, given["asset_type_id"], "Asset type")
    if "software_product_id" in given:
        fields["software_product"] = _row(
            SoftwareProduct, given["software_product_id"], "Software product"
        )
    services.update_evaluation(evaluation, acting_user=request.auth, **fields)
    return _detail(evaluation)


@router.post(
    "/{evaluation_id}/status",
    response=EvaluationOut,
    summary="Start testing, or decide with the recommendation",
)
def change_status(request: HttpRequest, evaluation_id: Id, data: EvaluationStatusIn):
    evaluation = _evaluation(request, evaluation_id)
    if data.status == EvaluationStatus.TESTING:
        services.start_testing(evaluation, acting_user=request.auth)
    else:
        if data.recommendation is None:
            services.require_run(request.auth)
            raise InvalidInput("A decision needs the recommendation.")
        services.decide(
            evaluation,
            acting_user=request.auth,
            recommendation=data.recommendation,
            conditions=data.conditions,
        )
    return _detail(evaluation)


@router.post("/{evaluation_id}/steps", response={201: EvaluationStepOut}, summary="Add a test step")
def add_step(request: HttpRequest, evaluation_id: Id, data: EvaluationStepIn):
    evaluation = _evaluation(request, evaluation_id)
    step = services.add_step(evaluation, acting_user=request.auth, text=data.text)
    return HttpStatus(201, _step_out(step))


@router.put(
    "/{evaluation_id}/steps/{step_id}",
    response=EvaluationStepOut,
    summary="Record a step's result (pass, fail, n/a)",
)
def record_step(request: HttpRequest, evaluation_id: Id, step_id: Id, data: EvaluationStepResultIn):
    evaluation = _evaluation(request, evaluation_id)
    services.require_run(request.auth)
    step = services.get_step(evaluation, step_id)
    step = services.record_step(step, acting_user=request.auth, result=data.result, note=data.note)
    return _step_out(step)


@router.put(
    "/{evaluation_id}/compatibility",
    response=EvaluationCompatibilityOut,
    summary="Set the result against one existing system",
)
def record_compatibility(request: HttpRequest, evaluation_id: Id, data: EvaluationCompatibilityIn):
    evaluation = _evaluation(request, evaluation_id)
    row = services.record_compatibility(
        evaluation,
        acting_user=request.auth,
        system_kind=data.system_kind,
        system_id=data.system_id,
        os_name=data.os_name,
        result=data.result,
        note=data.note,
    )
    return {
        "id": row.pk, "system_kind": row.system_kind,
        "system_id": row.asset_type_id or row.software_product_id, "system": row.system_label(),
        "result": row.result, "note": row.note,
    }  # fmt: skip


@router.delete(
    "/{evaluation_id}/compatibility/{result_id}",
    response={204: None},
    summary="Remove a compatibility result",
)
def remove_compatibility(request: HttpRequest, evaluation_id: Id, result_id: Id):
    evaluation = _evaluation(request, evaluation_id)
    services.remove_compatibility(evaluation, result_id, acting_user=request.auth)
    return HttpStatus(204, None)


@router.put(
    "/{evaluation_id}/score", response=EvaluationOut, summary="The caller's ease-of-use score"
)
def score(request: HttpRequest, evaluation_id: Id, data: EvaluationScoreIn):
    evaluation = _evaluation(request, evaluation_id)
    services.score(evaluation, acting_user=request.auth, value=data.score, note=data.note)
    return _detail(evaluation)


@router.post(
    "/{evaluation_id}/findings",
    response={201: EvaluationFindingOut},
    summary="Record an issue found",
)
def add_finding(request: HttpRequest, evaluation_id: Id, data: EvaluationFindingIn):
    evaluation = _evaluation(request, evaluation_id)
    finding = services.add_finding(
        evaluation, acting_user=request.auth, title=data.title, description=data.description
    )
    return HttpStatus(201, _finding_out(finding))


def _finding_out(finding) -> dict:
    return {
        "id": finding.pk, "title": finding.title, "description": finding.description,
        "found_by": _name(finding.found_by), "problem_id": finding.problem_id,
        "feedback_id": finding.feedback_id,
    }  # fmt: skip


@router.post(
    "/{evaluation_id}/findings/{finding_id}/problem",
    response={201: EvaluationFindingOut},
    summary="Make an issue a problem; optionally report it to development",
)
def finding_problem(
    request: HttpRequest, evaluation_id: Id, finding_id: Id, data: EvaluationProblemIn
):
    from soporte.problems.models import Tracker

    evaluation = _evaluation(request, evaluation_id)
    services.require_run(request.auth)
    finding = services.get_finding(evaluation, finding_id)
    with transaction.atomic():
        tracker = None
        if data.tracker_id is not None:
            tracker = Tracker.objects.filter(pk=data.tracker_id, active=True).first()
            if tracker is None:
                raise InvalidInput(f"Tracker {data.tracker_id} does not exist or is not active.")
        services.finding_to_problem(
            finding, acting_user=request.auth, report=data.report, tracker=tracker
        )
    finding.refresh_from_db()
    return HttpStatus(201, _finding_out(finding))


@router.post(
    "/{evaluation_id}/feedback",
    response={201: EvaluationFeedbackOut},
    summary="Feedback to the vendor: mailed by a job, or recorded as sent by hand",
)
def send_feedback(request: HttpRequest, evaluation_id: Id, data: EvaluationFeedbackIn):
    evaluation = _evaluation(request, evaluation_id)
    if data.sent_at is not None and data.method != FeedbackMethod.BY_HAND:
        raise InvalidInput("sent_at is given only for feedback sent by hand.")
    feedback = services.send_feedback(
        evaluation,
        acting_user=request.auth,
        method=data.method,
        body=data.body,
        subject=data.subject,
        to=data.to,
        contact=data.contact,
        sent_on=data.sent_at,
        finding_ids=data.finding_ids,
    )
    feedback.refresh_from_db()
    return HttpStatus(201, feedback)


@router.post(
    "/{evaluation_id}/feedback/{feedback_id}/retry",
    response=EvaluationFeedbackOut,
    summary="Mail failed feedback again",
)
def retry_feedback(request: HttpRequest, evaluation_id: Id, feedback_id: Id):
    from soporte.lib.errors import NotFound

    evaluation = _evaluation(request, evaluation_id)
    services.require_run(request.auth)
    feedback = evaluation.feedback.filter(pk=feedback_id).first()
    if feedback is None:
        raise NotFound(f"Feedback {feedback_id} not found.")
    return services.retry_feedback(feedback, acting_user=request.auth)
