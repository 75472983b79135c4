"""Refuse request bodies that are too big before anything reads them."""

from __future__ import annotations

import json

from django.conf import settings
from django.http import HttpRequest, HttpResponse


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
            detail = f"The request is larger than the {limit // 1_048_576} MB limit."
            if request.path.startswith("/api/"):
                return HttpResponse(
                    json.dumps({"detail": detail}), status=413, content_type="application/json"
                )
            return HttpResponse(detail, status=413, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
