"""Speak the signed-in person's language and show times in their time zone."""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.utils import timezone, translation

_LANGUAGES = {code for code, _ in settings.LANGUAGES}


class UserPreferencesMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        language = translation.get_language()
        if user is not None and user.is_authenticated:
            if user.language in _LANGUAGES:
                translation.activate(user.language)
                request.LANGUAGE_CODE = user.language
            try:
                timezone.activate(zoneinfo.ZoneInfo(user.time_zone))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            # The thread serves other people next: leave no language or zone behind.
            translation.activate(language)
            timezone.deactivate()
