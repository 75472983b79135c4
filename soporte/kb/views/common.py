"""What the help center and the desk's knowledge-base pages share."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.translation import get_language

from ..models import Language


def language_of(request: HttpRequest) -> str:
    """The reader's language, as one of the articles' languages."""
    code = (getattr(request, "LANGUAGE_CODE", "") or get_language() or "en").split("-")[0]
    return code if code in Language.values else Language.EN


def session_key(request: HttpRequest, *, create: bool = False) -> str:
    """The browser session's key ("" without one, unless asked to start one): what tells
    anonymous readers apart."""
    if request.session.session_key is None and create:
        request.session.save()
    return request.session.session_key or ""
