"""What `soporte check-deploy` finds unsafe or missing in this installation's settings.

Each finding is (level, what, how to fix); "error" means not fit for production,
"warning" means worth a look. Pure reads of settings and a couple of connections."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import connections

from .health import broker_ok, database_ok

WEAK_KEYS = {"test", "secret", "changeme", "django-insecure", "dev"}


@dataclass(frozen=True)
class Finding:
    level: str  # "error" or "warning"
    what: str
    fix: str


def _secret_findings() -> list[Finding]:
    key = settings.SECRET_KEY
    generated = not os.environ.get("SOPORTE_SECRET_KEY")
    found = []
    if len(key) < 40 or len(set(key)) < 12 or key.lower() in WEAK_KEYS:
        found.append(
            Finding(
                "error",
                "The secret key is weak.",
                "Set SOPORTE_SECRET_KEY to 50+ random characters.",
            )
        )
    elif generated:
        found.append(
            Finding(
                "warning",
                f"The secret key is generated into {Path(settings.VAR_DIR) / 'secret_key'}.",
                "Set SOPORTE_SECRET_KEY (the same on every web process and worker).",
            )
        )
    return found


def findings() -> list[Finding]:
    found = _secret_findings()
    if settings.DEBUG:
        found.append(
            Finding("error", "Debug is on: errors show code and settings.", "Unset SOPORTE_DEBUG.")
        )
    if not settings.HTTPS:
        found.append(
            Finding(
                "error",
                "HTTPS is off: session and CSRF cookies travel in clear, no HSTS.",
                "Serve behind TLS and set SOPORTE_HTTPS=true.",
            )
        )
    if connections["default"].vendor == "sqlite":
        found.append(
            Finding(
                "warning",
                "The database is SQLite: fine for one small site on one machine.",
                "Set SOPORTE_DATABASE_URL=postgres://... for several web processes or hosts.",
            )
        )
    if database_ok() != "ok":
        found.append(
            Finding("error", "The database does not answer.", "Check SOPORTE_DATABASE_URL.")
        )
    if settings.JOBS_MODE != "celery":
        found.append(
            Finding(
                "warning",
                "No broker: jobs run in `soporte worker` beside the site, on one machine.",
                "Set SOPORTE_BROKER_URL=redis://... and run `soporte worker` and `soporte beat`.",
            )
        )
    elif broker_ok() != "ok":
        found.append(Finding("error", "The broker does not answer.", "Check SOPORTE_BROKER_URL."))
    if settings.JOBS_MODE == "eager":
        found.append(
            Finding(
                "error",
                "Jobs run eagerly inside requests (a test setting).",
                "Unset SOPORTE_JOBS_MODE.",
            )
        )
    hosts = set(settings.ALLOWED_HOSTS)
    if "*" in hosts or hosts <= {"127.0.0.1", "localhost", "[::1]", "testserver"}:
        found.append(
            Finding(
                "error",
                f"Allowed hosts are {', '.join(sorted(hosts))}.",
                "Set SOPORTE_ALLOWED_HOSTS to the site's host names.",
            )
        )
    if settings.EMAIL_BACKEND.endswith(
        ("console.EmailBackend", "locmem.EmailBackend", "dummy.EmailBackend")
    ):
        found.append(
            Finding(
                "error",
                "Mail is not sent (a development mail backend).",
                "Unset SOPORTE_EMAIL_BACKEND and set the SMTP settings.",
            )
        )
    if settings.DEFAULT_FROM_EMAIL.endswith("@localhost"):
        found.append(
            Finding("warning", "Mail comes from an @localhost address.", "Set SOPORTE_FROM_EMAIL.")
        )
    if not settings.METRICS_TOKEN:
        found.append(
            Finding("warning", "/metrics is off.", "Set SOPORTE_METRICS_TOKEN for Prometheus.")
        )
    elif len(settings.METRICS_TOKEN) < 20:
        found.append(Finding("error", "The metrics token is short.", "Use 20+ random characters."))
    media = Path(settings.MEDIA_ROOT)
    if media.exists() and not os.access(media, os.W_OK):
        found.append(
            Finding(
                "error", f"Attachments cannot be written to {media}.", "Fix the folder's owner."
            )
        )
    return found
