from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from soporte.accounts import policy

from ..downloads import attachment_response
from .common import get_ticket, signed_in


@signed_in
@require_GET
def download(request: HttpRequest, number: int, attachment_id: int) -> HttpResponse:
    ticket = get_ticket(request.user, number)
    attachment = policy.visible_attachments(request.user, ticket).filter(pk=attachment_id).first()
    if attachment is None:
        raise Http404
    return attachment_response(attachment)
