"""Login throttling: repeated failures lock the account name, and the client address,
for a while. Counted in the database so every web process sees the same numbers."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from .models import LoginFailure


def _since():
    return timezone.now() - timedelta(seconds=settings.LOGIN_LOCK_SECONDS)


def locked_for(username: str, ip: str | None) -> bool:
    """True when this name or this address failed too often in the lock window."""
    recent = LoginFailure.objects.filter(created_at__gte=_since())
    if recent.filter(username__iexact=username).count() >= settings.LOGIN_MAX_FAILURES:
        return True
    return bool(ip) and recent.filter(ip=ip).count() >= settings.LOGIN_MAX_FAILURES_PER_IP


def record_failure(username: str, ip: str | None) -> None:
    LoginFailure.objects.create(username=username[:150], ip=ip or None)
    # Old rows are useless; drop them now and then instead of needing a cron job.
    LoginFailure.objects.filter(created_at__lt=_since() - timedelta(days=1)).delete()


def clear(username: str) -> None:
    LoginFailure.objects.filter(username__iexact=username).delete()
