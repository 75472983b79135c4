"""/healthz: the process answers. /readyz: it can do its work (database, and the broker
when jobs go through one); 503 naming what is down, for the load balancer."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

log = logging.getLogger(__name__)
TIMEOUT = 2  # seconds: a probe must answer quickly even when a dependency hangs


def database_ok() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:  # any driver error means not ready
        log.warning("readyz: the database does not answer: %s", error)
        return "down"
    return "ok"


def broker_ok() -> str:
    if settings.JOBS_MODE != "celery":
        return "not used"
    from kombu import Connection

    try:
        with Connection(settings.CELERY_BROKER_URL, connect_timeout=TIMEOUT) as broker:
            broker.ensure_connection(max_retries=1, timeout=TIMEOUT)
    except Exception as error:  # kombu raises the transport's own errors
        log.warning("readyz: the broker does not answer: %s", error)
        return "down"
    return "ok"


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    checks = {"database": database_ok(), "broker": broker_ok()}
    ready = "down" not in checks.values()
    return JsonResponse(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status=200 if ready else 503,
    )
