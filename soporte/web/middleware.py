"""Refuse request bodies that are too big before anything reads them."""

from __future__ import annotations

import json

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _


class RequestSizeLimitMiddleware:
    # Room for the multipart envelope and form fields around the largest attachment.
    ENVELOPE = 1_048_576

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        limit = settings.MAX_ATTACHMENT_BYTES + self.ENVELOPE
        if length > limit:
            detail = _("The request is larger than the %(mb)s MB limit.") % {
                "mb": limit // 1_048_576
            }
            if request.path.startswith("/api/"):
                return HttpResponse(
                    json.dumps({"detail": detail}), status=413, content_type="application/json"
                )
            return HttpResponse(detail, status=413, content_type="text/plain; charset=utf-8")
        return self.get_response(request)


class ApiJsonErrorsMiddleware:
    """Every error under /api/ is JSON {"detail": ...}, also those Django answers before
    the API sees the request (unknown path, wrong method)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            request.path.startswith("/api/")
            and response.status_code >= 400
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            detail = response.reason_phrase
            if response.status_code == 405 and response.get("Allow"):
                detail = f"{detail}. Allowed: {response['Allow']}"
            replacement = HttpResponse(
                json.dumps({"detail": detail}),
                status=response.status_code,
                content_type="application/json",
            )
            for header in ("Allow", "WWW-Authenticate"):
                if response.get(header):
                    replacement[header] = response[header]
            return replacement
        return response
