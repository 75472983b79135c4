"""Every change to an evaluation. Each service is atomic and checks who acts: every agent
may read evaluations, agents of tier L2/L3, supervisors and admins run them; requesters
never see them. Mail to the vendor is a job (evaluations.send_feedback) after commit.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import models, transaction
from django.db.models import Avg, Count, Max, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from soporte.accounts.models import Tier, User
from soporte.assets.models import Asset, AssetType, SoftwareProduct
from soporte.lib.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from soporte.problems import services as problem_services
from soporte.problems.models import Problem, Tracker

from .models import (
    Compatibility,
    CompatibilityResult,
    Evaluation,
    EvaluationStatus,
    Feedback,
    FeedbackMethod,
    FeedbackStatus,
    Finding,
    ProductKind,
    Recommendation,
    Score,
    Step,
    StepResult,
    SystemKind,
)

MAX_TEXT = 50_000
MAX_STEPS = 200
MAX_FEEDBACK_ATTEMPTS = 5
LIMITS = {
    "title": 200, "manufacturer": 100, "model": 100, "product_version": 100, "vendor": 200,
    "vendor_contact": 200, "vendor_email": 254, "text": 500, "subject": 250, "contact": 200,
    "os_name": 100, "to": 254,
}  # fmt: skip
EDITABLE = (
    "title", "description", "kind", "asset_type", "manufacturer", "model",
    "software_product", "product_version", "vendor", "vendor_contact", "vendor_email",
)  # fmt: skip


# -- who may do what ---------------------------------------------------------------------


def may_read(user: User | None) -> bool:
    return bool(user and user.is_authenticated and user.is_active and user.is_agent)


def may_run(user: User | None) -> bool:
    """L2/L3 agents, supervisors and admins run evaluations."""
    if not may_read(user):
        return False
    assert user is not None
    return user.is_supervisor or user.tier in (Tier.L2, Tier.L3)


def require_read(user: User | None) -> None:
    if not may_read(user):
        raise PermissionDenied(_("Only agents may see evaluations."))


def require_run(user: User | None) -> None:
    require_read(user)
    if not may_run(user):
        raise PermissionDenied(_("Only L2/L3 agents and supervisors run evaluations."))


def visible_evaluations(user: User) -> QuerySet[Evaluation]:
    if not may_read(user):
        return Evaluation.objects.none()
    return Evaluation.objects.all()


def filter_evaluations(
    evaluations: QuerySet[Evaluation], *, status: str = "", recommendation: str = "", q: str = ""
) -> QuerySet[Evaluation]:
    if status:
        evaluations = evaluations.filter(status=status)
    if recommendation:
        evaluations = evaluations.filter(recommendation=recommendation)
    q = q.strip()
    if q:
        evaluations = evaluations.filter(title__icontains=q)
    return evaluations


def get_evaluation(user: User, evaluation_id: int) -> Evaluation:
    """The evaluation, PermissionDenied for a requester, NotFound when it does not exist."""
    require_read(user)
    evaluation = (
        Evaluation.objects.select_related("asset_type", "software_product", "created_by")
        .filter(pk=evaluation_id)
        .first()
    )
    if evaluation is None:
        raise NotFound(_("Evaluation %(id)s not found.") % {"id": evaluation_id})
    return evaluation


def average_score(evaluation: Evaluation) -> float | None:
    """The testers' mean ease-of-use score, rounded to 0.1 (one query)."""
    mean = evaluation.scores.aggregate(mean=Avg("score"))["mean"]
    return None if mean is None else round(float(mean), 1)


def inventory_systems() -> dict[str, list]:
    """What an evaluation is checked against: the asset types, software products and
    operating systems found in the inventory (three queries)."""
    systems = (
        Asset.objects.exclude(os_name="")
        .order_by("os_name")
        .values_list("os_name", flat=True)
        .distinct()
    )
    return {
        "asset_types": list(AssetType.objects.order_by("name")),
        "software": list(SoftwareProduct.objects.order_by("name")[:1000]),
        "os": sorted(set(systems[:1000]), key=str.casefold),
    }


# -- cleaning ----------------------------------------------------------------------------


def _text(name: str, value: Any, *, required: bool = False, label: str = "") -> str:
    value = "" if value is None else str(value).strip()
    label = label or name
    if "\x00" in value:
        raise InvalidInput(_("%(field)s must not contain NUL characters.") % {"field": label})
    limit = LIMITS.get(name, MAX_TEXT)
    if len(value) > limit:
        raise InvalidInput(
            _("%(field)s is longer than %(max)s characters.") % {"field": label, "max": limit}
        )
    if required and not value:
        raise InvalidInput(_("%(field)s is required.") % {"field": label})
    return value


def _choice(value: Any, choices: type[models.TextChoices], label: str) -> str:
    if value not in choices.values:
        raise InvalidInput(_("Unknown %(field)s %(value)s.") % {"field": label, "value": value})
    return value


def _product(values: dict[str, Any]) -> None:
    """A hardware evaluation names an asset type (or at least a model); software names
    a software product."""
    if values["kind"] == ProductKind.SOFTWARE:
        if values.get("software_product") is None:
            raise InvalidInput(_("A software evaluation names the software product."))
        values["asset_type"] = None
    else:
        if values.get("asset_type") is None and not values.get("model"):
            raise InvalidInput(_("A hardware evaluation names the asset type or the model."))
        values["software_product"] = None


def _locked(evaluation: Evaluation) -> Evaluation:
    return Evaluation.objects.select_for_update().get(pk=evaluation.pk)


def _touch(evaluation: Evaluation) -> None:
    now = timezone.now()
    Evaluation.objects.filter(pk=evaluation.pk).update(updated_at=now)
    evaluation.updated_at = now


def _require_open(evaluation: Evaluation) -> None:
    if evaluation.status == EvaluationStatus.DECIDED:
        raise Conflict(_("The evaluation is decided; it can no longer change."))


def _require_testing(evaluation: Evaluation) -> None:
    if evaluation.status != EvaluationStatus.TESTING:
        raise Conflict(_("Results are recorded while the evaluation is in testing."))


# -- evaluations -------------------------------------------------------------------------


@transaction.atomic
def create_evaluation(
    *, acting_user: User, title: str, kind: str, steps: Iterable[str] = (), **fields: Any
) -> Evaluation:
    """Plan an evaluation, with its test plan's steps (texts, in order)."""
    require_run(acting_user)
    unknown = set(fields) - set(EDITABLE)
    if unknown:
        raise InvalidInput(_("Unknown fields: %(names)s.") % {"names": ", ".join(sorted(unknown))})
    values = _clean_fields({"title": title, "kind": kind, **fields})
    steps = [_text("text", step, required=True, label=_("Step")) for step in steps]
    if len(steps) > MAX_STEPS:
        raise InvalidInput(_("A test plan has at most %(max)s steps.") % {"max": MAX_STEPS})
    evaluation = Evaluation.objects.create(created_by=acting_user, **values)
    Step.objects.bulk_create(
        Step(evaluation=evaluation, position=index, text=text)
        for index, text in enumerate(steps, start=1)
    )
    return evaluation


def _clean_fields(values: dict[str, Any]) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    for name, value in values.items():
        if name == "kind":
            cleaned[name] = _choice(value, ProductKind, _("kind"))
        elif name in ("asset_type", "software_product"):
            if value is not None and not isinstance(value, AssetType | SoftwareProduct):
                raise InvalidInput(_("Unknown %(field)s.") % {"field": name})
            cleaned[name] = value
        else:
            cleaned[name] = _text(name, value, required=name == "title", label=name)
    if "kind" in cleaned:
        _product(cleaned)
    return cleaned


@transaction.atomic
def update_evaluation(evaluation: Evaluation, *, acting_user: User, **fields: Any) -> Evaluation:
    """Change what is evaluated and its vendor, until it is decided."""
    require_run(acting_user)
    evaluation = _locked(evaluation)
    _require_open(evaluation)
    unknown = set(fields) - set(EDITABLE)
    if unknown:
        raise InvalidInput(_("Unknown fields: %(names)s.") % {"names": ", ".join(sorted(unknown))})
    current = {name: getattr(evaluation, name) for name in EDITABLE}
    values = _clean_fields({**current, **fields})
    for name, value in values.items():
        setattr(evaluation, name, value)
    evaluation.updated_at = timezone.now()
    evaluation.save()
    return evaluation


@transaction.atomic
def start_testing(evaluation: Evaluation, *, acting_user: User) -> Evaluation:
    """planned -> testing."""
    require_run(acting_user)
    evaluation = _locked(evaluation)
    if evaluation.status != EvaluationStatus.PLANNED:
        raise Conflict(_("Only a planned evaluation can start testing."))
    evaluation.status = EvaluationStatus.TESTING
    evaluation.updated_at = timezone.now()
    evaluation.save(update_fields=["status", "updated_at"])
    return evaluation


@transaction.atomic
def decide(
    evaluation: Evaluation, *, acting_user: User, recommendation: str, conditions: str = ""
) -> Evaluation:
    """testing -> decided, with the recommendation (conditions are required for "adopt
    with conditions", and dropped otherwise)."""
    require_run(acting_user)
    evaluation = _locked(evaluation)
    if evaluation.status != EvaluationStatus.TESTING:
        raise Conflict(_("Only an evaluation in testing can be decided."))
    recommendation = _choice(recommendation, Recommendation, _("recommendation"))
    conditions = _text("conditions", conditions, label=_("Conditions"))
    if recommendation == Recommendation.ADOPT_WITH_CONDITIONS:
        if not conditions:
            raise InvalidInput(_("Adopting with conditions needs the conditions."))
    else:
        conditions = ""
    now = timezone.now()
    evaluation.status = EvaluationStatus.DECIDED
    evaluation.recommendation = recommendation
    evaluation.conditions = conditions
    evaluation.decided_at = now
    evaluation.decided_by = acting_user
    evaluation.updated_at = now
    evaluation.save()
    return evaluation


# -- the test plan -----------------------------------------------------------------------


@transaction.atomic
def add_step(evaluation: Evaluation, *, acting_user: User, text: str) -> Step:
    require_run(acting_user)
    evaluation = _locked(evaluation)
    _require_open(evaluation)
    text = _text("text", text, required=True, label=_("Step"))
    info = evaluation.steps.aggregate(count=Count("id"), last=Max("position"))
    if info["count"] >= MAX_STEPS:
        raise InvalidInput(_("A test plan has at most %(max)s steps.") % {"max": MAX_STEPS})
    step = Step.objects.create(evaluation=evaluation, position=(info["last"] or 0) + 1, text=text)
    _touch(evaluation)
    return step


def get_step(evaluation: Evaluation, step_id: int) -> Step:
    step = evaluation.steps.filter(pk=step_id).first()
    if step is None:
        raise NotFound(_("Step %(id)s not found.") % {"id": step_id})
    return step


@transaction.atomic
def record_step(step: Step, *, acting_user: User, result: str, note: str = "") -> Step:
    """The step's result (pass, fail, not applicable), by whom and when."""
    require_run(acting_user)
    evaluation = _locked(step.evaluation)
    _require_testing(evaluation)
    step.result = _choice(result, StepResult, _("result"))
    step.note = _text("note", note, label=_("Note"))
    if step.result == StepResult.PENDING:
        step.checked_by, step.checked_at = None, None
    else:
        step.checked_by, step.checked_at = acting_user, timezone.now()
    step.save(update_fields=["result", "note", "checked_by", "checked_at"])
    _touch(evaluation)
    return step


# -- compatibility -----------------------------------------------------------------------


@transaction.atomic
def record_compatibility(
    evaluation: Evaluation,
    *,
    acting_user: User,
    system_kind: str,
    result: str,
    system_id: int | None = None,
    os_name: str = "",
    note: str = "",
) -> CompatibilityResult:
    """Set one cell of the matrix (again: the new result replaces the old). The system is
    an asset type or software product (by id) or an operating system in the inventory."""
    require_run(acting_user)
    evaluation = _locked(evaluation)
    _require_testing(evaluation)
    system_kind = _choice(system_kind, SystemKind, _("system kind"))
    result = _choice(result, Compatibility, _("result"))
    note = _text("note", note, label=_("Note"))
    target: dict[str, Any] = {"asset_type": None, "software_product": None, "os_name": ""}
    if system_kind == SystemKind.OS:
        name = _text("os_name", os_name, required=True, label=_("Operating system"))
        known = Asset.objects.filter(os_name__iexact=name).values_list("os_name", flat=True)
        found = known.first()
        if found is None:
            raise InvalidInput(_("No asset in the inventory runs %(os)s.") % {"os": name})
        target["os_name"], key = found, found.casefold()[:100]
    else:
        model = AssetType if system_kind == SystemKind.ASSET_TYPE else SoftwareProduct
        system = model.objects.filter(pk=system_id).first() if system_id else None
        if system is None:
            raise InvalidInput(_("Choose a system of the inventory."))
        target["asset_type" if model is AssetType else "software_product"] = system
        key = str(system.pk)
    row, _created = CompatibilityResult.objects.update_or_create(
        evaluation=evaluation,
        system_kind=system_kind,
        system_key=key,
        defaults={
            **target, "result": result, "note": note, "recorded_by": acting_user,
            "recorded_at": timezone.now(),
        },
    )  # fmt: skip
    _touch(evaluation)
    return row


@transaction.atomic
def remove_compatibility(evaluation: Evaluation, result_id: int, *, acting_user: User) -> None:
    require_run(acting_user)
    evaluation = _locked(evaluation)
    _require_testing(evaluation)
    deleted, _rows = evaluation.compatibility.filter(pk=result_id).delete()
    if not deleted:
        raise NotFound(_("Compatibility result %(id)s not found.") % {"id": result_id})
    _touch(evaluation)


# -- ease of use -------------------------------------------------------------------------


@transaction.atomic
def score(evaluation: Evaluation, *, acting_user: User, value: int, note: str = "") -> Score:
    """The acting tester's ease-of-use score (1-5); scoring again replaces it."""
    require_run(acting_user)
    evaluation = _locked(evaluation)
    _require_testing(evaluation)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
        raise InvalidInput(_("The ease-of-use score is a whole number from 1 to 5."))
    note = _text("note", note, label=_("Note"))
    row, _created = Score.objects.update_or_create(
        evaluation=evaluation,
        tester=acting_user,
        defaults={"score": value, "note": note, "scored_at": timezone.now()},
    )
    _touch(evaluation)
    return row


# -- issues found ------------------------------------------------------------------------


@transaction.atomic
def add_finding(
    evaluation: Evaluation, *, acting_user: User, title: str, description: str = ""
) -> Finding:
    require_run(acting_user)
    evaluation = _locked(evaluation)
    _require_testing(evaluation)
    finding = Finding.objects.create(
        evaluation=evaluation,
        title=_text("title", title, required=True, label=_("Title")),
        description=_text("description", description, label=_("Description")),
        found_by=acting_user,
    )
    _touch(evaluation)
    return finding


def get_finding(evaluation: Evaluation, finding_id: int) -> Finding:
    finding = evaluation.findings.select_related("problem").filter(pk=finding_id).first()
    if finding is None:
        raise NotFound(_("Issue %(id)s not found.") % {"id": finding_id})
    return finding


@transaction.atomic
def finding_to_problem(
    finding: Finding, *, acting_user: User, report: bool = False, tracker: Tracker | None = None
) -> Problem:
    """Make the issue a problem (once) and, when asked, report it to development through
    the problems area (its job delivers the bug)."""
    require_run(acting_user)
    finding = Finding.objects.select_for_update().select_related("evaluation").get(pk=finding.pk)
    problem = finding.problem
    if problem is None:
        evaluation = finding.evaluation
        description = "\n\n".join(
            part
            for part in (
                _("Found while evaluating %(product)s (evaluation #%(id)s: %(title)s).")
                % {"product": evaluation.product_label(), "id": evaluation.pk,
                   "title": evaluation.title},
                finding.description,
            )
            if part
        )  # fmt: skip
        problem = problem_services.create_problem(
            acting_user=acting_user, title=finding.title, description=description
        )
        finding.problem = problem
        finding.save(update_fields=["problem"])
    if report:
        problem_services.report_to_development(problem, acting_user=acting_user, tracker=tracker)
    return problem


# -- feedback to the vendor --------------------------------------------------------------


def default_feedback(evaluation: Evaluation) -> str:
    """A starting text for the vendor: the recommendation and the issues found."""
    lines = [evaluation.title, ""]
    if evaluation.recommendation:
        lines.append(_("Our decision: %(r)s.") % {"r": evaluation.get_recommendation_display()})
        if evaluation.conditions:
            lines.append(evaluation.conditions)
        lines.append("")
    findings = list(evaluation.findings.all()[:100])
    if findings:
        lines.append(_("Issues found:"))
        lines.extend(f"- {finding.title}" for finding in findings)
    return "\n".join(lines).strip()


@transaction.atomic
def send_feedback(
    evaluation: Evaluation,
    *,
    acting_user: User,
    body: str,
    subject: str = "",
    method: str = FeedbackMethod.MAIL,
    to: str = "",
    contact: str = "",
    sent_on: Any = None,
    finding_ids: Iterable[int] = (),
) -> Feedback:
    """Feedback to the vendor: mailed after commit by a job (to the given address or the
    evaluation's vendor e-mail), or recorded as sent by hand (at `sent_on`, default now).
    The named issues are marked as told to the vendor."""
    require_run(acting_user)
    evaluation = _locked(evaluation)
    if evaluation.status == EvaluationStatus.PLANNED:
        raise Conflict(_("Feedback is sent once testing has started."))
    method = _choice(method, FeedbackMethod, _("method"))
    body = _text("body", body, required=True, label=_("Text"))
    subject = _text("subject", subject, label=_("Subject")) or _("Evaluation of %(product)s") % {
        "product": (evaluation.product_label() or evaluation.title)[:200]
    }
    contact = _text("contact", contact, label=_("Contact")) or evaluation.vendor_contact
    to = _text("to", to, label=_("To")) or evaluation.vendor_email
    if method == FeedbackMethod.MAIL:
        from django.core.exceptions import ValidationError
        from django.core.validators import validate_email

        if not to:
            raise InvalidInput(_("The vendor's e-mail address is needed to mail the feedback."))
        try:
            validate_email(to)
        except ValidationError:
            raise InvalidInput(_("%(to)s is not an e-mail address.") % {"to": to}) from None
    ids = sorted({int(i) for i in finding_ids})
    findings = list(evaluation.findings.filter(pk__in=ids).values_list("pk", flat=True))
    if len(findings) != len(ids):
        raise InvalidInput(_("Some of the issues are not of this evaluation."))
    now = timezone.now()
    if sent_on is not None and sent_on > now:
        raise InvalidInput(_("The feedback cannot have been sent in the future."))
    by_hand = method == FeedbackMethod.BY_HAND
    feedback = Feedback.objects.create(
        evaluation=evaluation, method=method, contact=contact, to=to, subject=subject,
        body=body, recorded_by=acting_user,
        status=FeedbackStatus.SENT if by_hand else FeedbackStatus.PENDING,
        sent_at=(sent_on or now) if by_hand else None,
    )  # fmt: skip
    if findings:
        Finding.objects.filter(pk__in=findings).update(feedback=feedback)
    _touch(evaluation)
    if not by_hand:
        from .tasks import mail_feedback

        mail_feedback.enqueue(feedback.pk)
    return feedback


def deliver_feedback(feedback_id: int) -> str:
    """The job: claim a waiting feedback, mail it, record the outcome. A network error
    is tried again (the job's retry) until the last attempt marks it failed."""
    claimed = Feedback.objects.filter(pk=feedback_id, status=FeedbackStatus.PENDING).update(
        status=FeedbackStatus.SENDING
    )
    if not claimed:
        return "skipped"
    feedback = Feedback.objects.get(pk=feedback_id)
    message = EmailMessage(
        subject=feedback.subject,
        body=feedback.body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[feedback.to],
    )
    try:
        message.send()
    except OSError as error:
        attempts = feedback.attempts + 1
        status = (
            FeedbackStatus.FAILED if attempts >= MAX_FEEDBACK_ATTEMPTS else FeedbackStatus.PENDING
        )
        Feedback.objects.filter(pk=feedback_id).update(
            status=status, attempts=attempts, last_error=str(error)[:2000]
        )
        if status == FeedbackStatus.PENDING:
            raise
        return "failed"
    Feedback.objects.filter(pk=feedback_id).update(
        status=FeedbackStatus.SENT, sent_at=timezone.now(), attempts=feedback.attempts + 1,
        last_error="",
    )  # fmt: skip
    return "sent"


@transaction.atomic
def retry_feedback(feedback: Feedback, *, acting_user: User) -> Feedback:
    require_run(acting_user)
    updated = Feedback.objects.filter(pk=feedback.pk, status=FeedbackStatus.FAILED).update(
        status=FeedbackStatus.PENDING, attempts=0
    )
    if not updated:
        raise Conflict(_("Only failed feedback can be sent again."))
    from .tasks import mail_feedback

    mail_feedback.enqueue(feedback.pk)
    feedback.refresh_from_db()
    return feedback


# -- reports -----------------------------------------------------------------------------


def outcome_report(user: User) -> list[dict[str, Any]]:
    """Evaluations counted by status and recommendation (one query), every status and
    outcome pair that occurs, in the order of the flow."""
    require_read(user)
    rows = (
        Evaluation.objects.values("status", "recommendation").annotate(count=Count("id")).order_by()
    )
    counts = {(row["status"], row["recommendation"]): row["count"] for row in rows}
    statuses = list(EvaluationStatus.values)
    outcomes = ["", *Recommendation.values]
    labels = dict(Recommendation.choices)
    return [
        {
            "status": status,
            "status_label": str(EvaluationStatus(status).label),
            "recommendation": outcome,
            "recommendation_label": str(labels.get(outcome, _("Undecided"))),
            "count": counts[(status, outcome)],
        }
        for status in statuses
        for outcome in outcomes
        if (status, outcome) in counts
    ]


def outcome_csv(user: User) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([_("Status"), _("Recommendation"), _("Evaluations")])
    for row in outcome_report(user):
        writer.writerow([row["status_label"], row["recommendation_label"], row["count"]])
    return buffer.getvalue()
