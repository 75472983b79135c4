"""The triage API (/api/v1/triage): suggestions for a ticket and the agent's decision,
probable duplicates, the model (metrics; training by administrators), probable major
incidents and the settings. Thin: each handler parses, calls one service, answers."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Schema
from ninja import Status as HttpStatus
from pydantic import Field as PydanticField

from soporte.accounts import policy
from soporte.lib.errors import NotFound
from soporte.lib.schema import Id, Number, Version, text
from soporte.tickets.models import Ticket

from . import services
from .models import DuplicateFlag, Incident, IncidentTicket

router = Router(tags=["triage"])

FieldName = Literal["category", "priority", "team"]


# -- schemas ---------------------------------------------------------------------------


class TriageSuggestionOut(Schema):
    field: str
    value: str
    label: str
    confidence: float
    status: str
    model_version: int


class TriageDuplicateOut(Schema):
    original: int = PydanticField(description="The number of the earlier ticket.")
    similarity: float
    status: str


class TriageSimilarOut(Schema):
    number: int
    subject: str
    status: str
    score: float


class TriageIncidentOut(Schema):
    id: int
    title: str
    reason: str
    status: str
    status_message: str
    ticket_count: int
    problem_id: int | None
    first_ticket_at: datetime
    detected_at: datetime
    last_ticket_at: datetime


class TriageTicketOut(Schema):
    number: int
    version: int
    suggestions: list[TriageSuggestionOut]
    duplicate: TriageDuplicateOut | None
    incident: TriageIncidentOut | None
    similar: list[TriageSimilarOut]


class TriageAcceptIn(Schema):
    expected_version: Version | None = None


class TriageModelOut(Schema):
    version: int | None
    trained_at: datetime | None
    samples: int
    metrics: dict


class TriageTrainOut(Schema):
    job_id: int


class TriageIncidentPatch(Schema):
    status: Literal["open", "closed"] | None = None
    status_message: text(5000) | None = None


class TriageSettingsIo(Schema):
    enabled: bool
    auto_apply_threshold: float = PydanticField(ge=0, le=1.01)
    duplicate_hours: int = PydanticField(ge=1, le=720)
    duplicate_similarity: float = PydanticField(ge=0.1, le=1)
    storm_size: int = PydanticField(ge=2, le=1000)
    storm_minutes: int = PydanticField(ge=1, le=1440)
    storm_similarity: float = PydanticField(ge=0.05, le=1)
    storm_by_category: bool
    storm_auto_reply: bool


# -- helpers -----------------------------------------------------------------------------


def _ticket(request: HttpRequest, number: int) -> Ticket:
    return policy.get_visible_ticket(request.auth, number)


def _incident(incident_id: int) -> Incident:
    found = Incident.objects.filter(pk=incident_id).first()
    if found is None:
        raise NotFound(_("Incident not found."))
    return found


def _ticket_out(request: HttpRequest, ticket: Ticket) -> TriageTicketOut:
    flag = DuplicateFlag.objects.select_related("original").filter(ticket=ticket).first()
    link = IncidentTicket.objects.select_related("incident").filter(ticket=ticket).first()
    return TriageTicketOut(
        number=ticket.number,
        version=ticket.version,
        suggestions=[
            TriageSuggestionOut.model_validate(s, from_attributes=True)
            for s in services.suggestions_for(ticket)
        ],
        duplicate=TriageDuplicateOut(
            original=flag.original.number, similarity=round(flag.similarity, 4), status=flag.status
        )
        if flag
        else None,
        incident=TriageIncidentOut.model_validate(link.incident, from_attributes=True)
        if link
        else None,
        similar=[
            TriageSimilarOut(number=s.number, subject=s.subject, status=s.status, score=s.score)
            for s in services.similar_tickets(request.auth, ticket)
        ],
    )


# -- tickets -------------------------------------------------------------------------------


@router.get(
    "/tickets/{number}",
    response=TriageTicketOut,
    summary="Suggestions, duplicate flag, incident and similar tickets of a ticket (agents)",
)
def ticket_triage(request: HttpRequest, number: Number):
    ticket = _ticket(request, number)
    policy.require_work(request.auth, ticket)
    return _ticket_out(request, ticket)


@router.post(
    "/tickets/{number}/suggestions/{field}/accept",
    response=TriageTicketOut,
    summary="Apply a suggestion to the ticket (agents)",
)
def accept(request: HttpRequest, number: Number, field: FieldName, data: TriageAcceptIn):
    ticket = _ticket(request, number)
    ticket = services.accept_suggestion(
        ticket, field, acting_user=request.auth, expected_version=data.expected_version
    )
    return _ticket_out(request, ticket)


@router.post(
    "/tickets/{number}/suggestions/{field}/reject",
    response=TriageSuggestionOut,
    summary="Reject a suggestion; the next training learns from it (agents)",
)
def reject(request: HttpRequest, number: Number, field: FieldName):
    ticket = _ticket(request, number)
    return services.reject_suggestion(ticket, field, acting_user=request.auth)


@router.post(
    "/tickets/{number}/duplicate/merge",
    response=TriageTicketOut,
    summary="Merge a probable duplicate into its original (agents)",
)
def merge_duplicate(request: HttpRequest, number: Number):
    ticket = _ticket(request, number)
    into = services.merge_duplicate(ticket, acting_user=request.auth)
    return _ticket_out(request, into)


@router.post(
    "/tickets/{number}/duplicate/dismiss",
    response=TriageDuplicateOut,
    summary="Not a duplicate (agents)",
)
def dismiss_duplicate(request: HttpRequest, number: Number):
    ticket = _ticket(request, number)
    flag = services.dismiss_duplicate(ticket, acting_user=request.auth)
    return TriageDuplicateOut(
        original=flag.original.number, similarity=round(flag.similarity, 4), status=flag.status
    )


# -- the model ---------------------------------------------------------------------------


@router.get(
    "/model",
    response=TriageModelOut,
    summary="The current model: accuracy and macro-F1 on held-out history (supervisors)",
)
def model(request: HttpRequest):
    if not request.auth.is_supervisor:
        policy.require_admin(request.auth)
    row = services.model_metrics()
    if row is None:
        return TriageModelOut(version=None, trained_at=None, samples=0, metrics={})
    return TriageModelOut(
        version=row.version, trained_at=row.trained_at, samples=row.samples, metrics=row.metrics
    )


@router.post(
    "/model/train",
    response={202: TriageTrainOut},
    summary="Train a new model from the history now (administrators)",
)
def train(request: HttpRequest):
    from soporte.jobs.queue import enqueue

    policy.require_admin(request.auth)
    job = enqueue("triage.train", request.auth.pk)
    assert job is not None  # written at once: a request buffers no jobs
    return HttpStatus(202, TriageTrainOut(job_id=job.pk))


# -- incidents ---------------------------------------------------------------------------


@router.get(
    "/incidents",
    response=list[TriageIncidentOut],
    summary="Probable major incidents, newest first (agents)",
)
def incidents(request: HttpRequest, status: Literal["open", "closed"] | None = None):
    return services.visible_incidents(request.auth, status=status)


@router.patch(
    "/incidents/{incident_id}",
    response=TriageIncidentOut,
    summary="Close an incident or set its status message (supervisors)",
)
def update_incident(request: HttpRequest, incident_id: Id, data: TriageIncidentPatch):
    policy.require_agent(request.auth)
    incident = _incident(incident_id)
    return services.update_incident(
        incident,
        acting_user=request.auth,
        status=data.status,
        status_message=data.status_message,
    )


# -- settings ----------------------------------------------------------------------------


@router.get("/settings", response=TriageSettingsIo, summary="Triage settings (administrators)")
def get_settings(request: HttpRequest):
    policy.require_admin(request.auth)
    return services.get_settings()


@router.put("/settings", response=TriageSettingsIo, summary="Change the triage settings (admins)")
def put_settings(request: HttpRequest, data: TriageSettingsIo):
    return services.update_settings(acting_user=request.auth, **data.model_dump())
