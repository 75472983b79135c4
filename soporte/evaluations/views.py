"""The agents' evaluation pages: list, new, the evaluation page (checklist, compatibility
matrix, scores, issues, recommendation, vendor feedback) and the report by status and
outcome. Every view: an agent signed in, a form parses, one service runs, a page
renders; service errors come back as a message with their 4xx status, never a 500."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from soporte.lib.errors import NotFound, ServiceError
from soporte.tickets.views.common import agent_required, first_error

from . import services
from .forms import (
    CompatibilityForm,
    ConfirmForm,
    DecideForm,
    EvaluationForm,
    FeedbackForm,
    FilterForm,
    FindingForm,
    ProblemForm,
    ScoreForm,
    StepForm,
    StepResultForm,
)
from .models import Evaluation, StepResult

PAGE_SIZE = 50


def _evaluation(request: HttpRequest, evaluation_id: int) -> Evaluation:
    try:
        return services.get_evaluation(request.user, evaluation_id)
    except NotFound:
        raise Http404 from None


def _fail(request: HttpRequest, message: str, status: int, back: str) -> HttpResponse:
    """The reason with its 4xx status, and the way back."""
    messages.error(request, message)
    return render(request, "evaluations/desk/error.html", {"back": back}, status=status)


@agent_required
@require_GET
def evaluation_list(request: HttpRequest) -> HttpResponse:
    form = FilterForm(request.GET)
    evaluations = services.visible_evaluations(request.user)
    status = 200
    if form.is_valid():
        evaluations = services.filter_evaluations(evaluations, **form.cleaned_data)
    else:
        messages.error(request, first_error(form))
        evaluations, status = evaluations.none(), 400
    try:
        offset = max(0, min(int(request.GET.get("offset", 0)), 1_000_000))
    except ValueError:
        offset = 0
    rows = list(
        evaluations.select_related("asset_type", "software_product")[
            offset : offset + PAGE_SIZE + 1
        ]
    )
    next_url = None
    if len(rows) > PAGE_SIZE:
        query = request.GET.copy()
        query["offset"] = offset + PAGE_SIZE
        next_url = "?" + query.urlencode()
    context = {
        "form": form, "rows": rows[:PAGE_SIZE], "next_url": next_url,
        "may_run": services.may_run(request.user),
    }  # fmt: skip
    return render(request, "evaluations/desk/list.html", context, status=status)


@agent_required
@require_http_methods(["GET", "POST"])
def evaluation_new(request: HttpRequest) -> HttpResponse:
    if not services.may_run(request.user):
        return _fail(
            request,
            _("Only L2/L3 agents and supervisors run evaluations."),
            403,
            reverse("evaluations:list"),
        )
    form = EvaluationForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                evaluation = services.create_evaluation(
                    acting_user=request.user, **form.cleaned_data
                )
            except ServiceError as error:
                messages.error(request, error.message)
                status = error.status
            else:
                messages.success(request, _("Evaluation planned."))
                return redirect("evaluations:evaluation", evaluation.pk)
        else:
            messages.error(request, first_error(form))
            status = 422
    return render(request, "evaluations/desk/new.html", {"form": form}, status=status)


@agent_required
@require_GET
def evaluation_page(request: HttpRequest, evaluation_id: int) -> HttpResponse:
    evaluation = _evaluation(request, evaluation_id)
    findings = list(evaluation.findings.select_related("found_by", "problem", "feedback"))
    context = {
        "evaluation": evaluation,
        "may_run": services.may_run(request.user),
        "steps": list(evaluation.steps.select_related("checked_by")),
        "step_results": StepResult.choices,
        "compatibility": list(
            evaluation.compatibility.select_related("asset_type", "software_product")
        ),
        "scores": list(evaluation.scores.select_related("tester")),
        "average": services.average_score(evaluation),
        "findings": findings,
        "feedback": list(evaluation.feedback.all()[:50]),
        "systems": services.inventory_systems(),
        "step_form": StepForm(),
        "compat_form": CompatibilityForm(),
        "score_form": ScoreForm(),
        "finding_form": FindingForm(),
        "decide_form": DecideForm(),
        "feedback_form": FeedbackForm(
            findings=findings,
            initial={
                "contact": evaluation.vendor_contact,
                "to": evaluation.vendor_email,
                "body": services.default_feedback(evaluation),
            },
        ),
    }
    return render(request, "evaluations/desk/evaluation.html", context)


def _act(
    request: HttpRequest,
    evaluation_id: int,
    form: Any,
    call: Callable[[Evaluation, dict], Any],
    success: str,
) -> HttpResponse:
    """The usual POST of the evaluation page: parse the form, run one service, back to
    the page; a bad form is 422, a refused service its own status."""
    evaluation = _evaluation(request, evaluation_id)
    back = reverse("evaluations:evaluation", args=[evaluation.pk])
    if not form.is_valid():
        return _fail(request, first_error(form), 422, back)
    try:
        with transaction.atomic():
            call(evaluation, form.cleaned_data)
    except ServiceError as error:
        return _fail(request, error.message, error.status, back)
    messages.success(request, success)
    return redirect("evaluations:evaluation", evaluation.pk)


@agent_required
@require_POST
def start(request: HttpRequest, evaluation_id: int) -> HttpResponse:
    return _act(
        request, evaluation_id, ConfirmForm({}),
        lambda ev, data: services.start_testing(ev, acting_user=request.user),
        _("Testing started."),
    )  # fmt: skip


@agent_required
@require_POST
def add_step(request: HttpRequest, evaluation_id: int) -> HttpResponse:
    return _act(
        request, evaluation_id, StepForm(request.POST),
        lambda ev, data: services.add_step(ev, acting_user=request.user, text=data["text"]),
        _("Step added."),
    )  # fmt: skip


@agent_required
@require_POST
def record_step(request: HttpRequest, evaluation_id: int, step_id: int) -> HttpResponse:
    def call(ev: Evaluation, data: dict) -> None:
        services.require_run(request.user)
        step = services.get_step(ev, step_id)
        services.record_step(step, acting_user=request.user, **data)

    return _act(request, evaluation_id, StepResultForm(request.POST), call, _("Result recorded."))


@agent_required
@require_POST
def compatibility(request: HttpRequest, evaluation_id: int) -> HttpResponse:
    def call(ev: Evaluation, data: dict) -> None:
        services.record_compatibility(
            ev, acting_user=request.user, result=data["result"], note=data["note"],
            **data["system"],
        )  # fmt: skip

    form = CompatibilityForm(request.POST)
    return _act(request, evaluation_id, form, call, _("Compatibility recorded."))


@agent_required
@require_POST
def score(request: HttpRequest, evaluation_id: int) -> HttpResponse:
    return _act(
        request, evaluation_id, ScoreForm(request.POST),
        lambda ev, data: services.score(
            ev, acting_user=request.user, value=data["score"], note=data["note"]
        ),
        _("Score recorded."),
    )  # fmt: skip


@agent_required
@require_POST
def add_finding(request: HttpRequest, evaluation_id: int) -> HttpResponse:
    return _act(
        request, evaluation_id, FindingForm(request.POST),
        lambda ev, data: services.add_finding(ev, acting_user=request.user, **data),
        _("Issue recorded."),
    )  # fmt: skip


@agent_required
@require_POST
def finding_problem(request: HttpRequest, evaluation_id: int, finding_id: int) -> HttpResponse:
    def call(ev: Evaluation, data: dict) -> None:
        services.require_run(request.user)
        finding = services.get_finding(ev, finding_id)
        services.finding_to_problem(finding, acting_user=request.user, report=data["report"])

    form = ProblemForm(request.POST)
    return _act(request, evaluation_id, form, call, _("The issue is now a problem."))


@agent_required
@require_POST
def decide(request: HttpRequest, evaluation_id: int) -> HttpResponse:
    return _act(
        request, evaluation_id, DecideForm(request.POST),
        lambda ev, data: services.decide(ev, acting_user=request.user, **data),
        _("Decision recorded."),
    )  # fmt: skip


@agent_required
@require_POST
def feedback(request: HttpRequest, evaluation_id: int) -> HttpResponse:
    evaluation = _evaluation(request, evaluation_id)
    form = FeedbackForm(request.POST, findings=list(evaluation.findings.all()[:500]))

    def call(ev: Evaluation, data: dict) -> None:
        services.send_feedback(
            ev, acting_user=request.user, method=data["method"], body=data["body"],
            subject=data["subject"], to=data["to"], contact=data["contact"],
            sent_on=data["sent_on"], finding_ids=data["findings"],
        )  # fmt: skip

    return _act(request, evaluation_id, form, call, _("Feedback recorded."))


@agent_required
@require_POST
def retry_feedback(request: HttpRequest, evaluation_id: int, feedback_id: int) -> HttpResponse:
    def call(ev: Evaluation, data: dict) -> None:
        services.require_run(request.user)
        feedback = ev.feedback.filter(pk=feedback_id).first()
        if feedback is None:
            raise NotFound(_("Feedback %(id)s not found.") % {"id": feedback_id})
        services.retry_feedback(feedback, acting_user=request.user)

    return _act(
        request, evaluation_id, ConfirmForm({}), call, _("The feedback will be sent again.")
    )


@agent_required
@require_GET
def report(request: HttpRequest) -> HttpResponse:
    rows = services.outcome_report(request.user)
    total = sum(row["count"] for row in rows)
    return render(request, "evaluations/desk/report.html", {"rows": rows, "total": total})


@agent_required
@require_GET
def report_csv(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(
        services.outcome_csv(request.user), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="evaluations.csv"'
    return response
