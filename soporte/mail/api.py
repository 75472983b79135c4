"""POST /api/v1/mail/inbound (raw RFC 5322, for MTA pipes and mail providers) and the
quarantine for admins."""

from __future__ import annotations

import secrets
from datetime import datetime

from django.conf import settings
from django.http import HttpRequest
from ninja import Router, Schema
from ninja import Status as HttpStatus

from soporte.accounts import policy
from soporte.lib.errors import PermissionDenied, ServiceError, TooLarge
from soporte.lib.schema import Id

from . import services
from .inbound import store_raw
from .models import RawMessage, RawStatus, Source

router = Router(tags=["mail"])


class StoredOut(Schema):
    id: int
    duplicate: bool
    status: str


class RawOut(Schema):
    id: int
    mail_id: str
    sender: str
    subject: str
    source: str
    size: int
    received_at: datetime
    status: str
    attempts: int
    error: str
    ticket_number: int | None

    @staticmethod
    def resolve_ticket_number(obj) -> int | None:
        return obj.ticket.number if obj.ticket_id else None


@router.post(
    "/inbound",
    auth=None,
    response={202: StoredOut},
    summary="Deliver one raw message (header X-Soporte-Ingest-Token)",
    openapi_extra={
        "requestBody": {
            "description": "The raw RFC 5322 message, as bytes (sent as message/rfc822 "
            "or application/octet-stream).",
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
            "required": True,
        }
    },
)
def inbound(request: HttpRequest):
    expected = settings.MAIL_INGEST_TOKEN
    given = request.headers.get("X-Soporte-Ingest-Token", "")
    if not expected or not secrets.compare_digest(given.encode(), expected.encode()):
        raise PermissionDenied("A valid X-Soporte-Ingest-Token header is required.")
    raw = request.body
    if len(raw) > settings.MAIL_MAX_BYTES:
        raise TooLarge(f"The message is larger than {settings.MAIL_MAX_BYTES} bytes.")
    if not raw.strip():
        raise ServiceError("The request body must be a raw RFC 5322 message.")
    stored, created = store_raw(raw, source=Source.API)
    stored.refresh_from_db(fields=["status"])
    return HttpStatus(202, {"id": stored.pk, "duplicate": not created, "status": stored.status})


@router.get("/quarantine", response=list[RawOut], summary="Messages that could not be processed")
def quarantine(request: HttpRequest):
    policy.require_admin(request.auth)
    return RawMessage.objects.filter(status=RawStatus.QUARANTINED).select_related("ticket")[:200]


@router.post("/quarantine/{raw_id}/retry", response=RawOut, summary="Process it again")
def retry(request: HttpRequest, raw_id: Id):
    return services.retry(raw_id, acting_user=request.auth)
