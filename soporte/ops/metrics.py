"""Prometheus metrics at /metrics, for a scraper that sends the token
(`Authorization: Bearer $SOPORTE_METRICS_TOKEN`); without the setting the page is off (404).

Two sources:
- request latency, measured by MetricsMiddleware in each web process. Under gunicorn
  several processes answer: with PROMETHEUS_MULTIPROC_DIR set (`soporte serve` sets it)
  prometheus_client sums them through files in that folder.
- the state of the site, read from the database at scrape time (so every process and
  every worker is counted once): jobs by status and the oldest one waiting, inbound mail
  by status, SLA breaches.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Iterator

from django.conf import settings
from django.db.models import Count, Min
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

REQUEST_SECONDS = Histogram(
    "soporte_http_request_duration_seconds",
    "Time to answer an HTTP request, by route pattern, method and status class.",
    ["route", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


class MetricsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        start = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        # The route pattern, never the path itself: label values must stay few.
        route = match.route if match is not None and match.route else "unmatched"
        REQUEST_SECONDS.labels(
            route=route[:100], method=request.method, status=f"{response.status_code // 100}xx"
        ).observe(time.perf_counter() - start)
        return response


class SiteCollector(Collector):
    """What the database says, read at each scrape with a few indexed counts."""

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        from soporte.jobs.models import Job, JobStatus
        from soporte.mail.models import RawMessage
        from soporte.tickets.models import EventKind, TicketEvent

        jobs = GaugeMetricFamily(
            "soporte_jobs", "Background job runs by status (a bundle's each).", labels=["status"]
        )
        counts = Job.objects.run_counts()
        for status in JobStatus.values:
            jobs.add_metric([status], counts.get(status, 0))
        yield jobs

        oldest = Job.objects.filter(status=JobStatus.QUEUED).aggregate(at=Min("run_after"))["at"]
        waiting = max(0.0, (timezone.now() - oldest).total_seconds()) if oldest else 0.0
        yield GaugeMetricFamily(
            "soporte_jobs_oldest_queued_seconds",
            "How long the oldest due job has been waiting (queue lag).",
            value=waiting,
        )

        mail = CounterMetricFamily(
            "soporte_inbound_mail", "Inbound messages by outcome.", labels=["status"]
        )
        for status, n in (
            RawMessage.objects.values_list("status").annotate(n=Count("id")).order_by()
        ):
            mail.add_metric([status], n)
        yield mail

        breaches = TicketEvent.objects.filter(kind=EventKind.SLA_BREACHED).count()
        yield CounterMetricFamily(
            "soporte_sla_breaches", "SLA targets breached, ever.", value=breaches
        )


def token() -> str:
    return settings.METRICS_TOKEN


def _authorized(request: HttpRequest) -> bool:
    given = request.headers.get("Authorization", "")
    scheme, _, value = given.partition(" ")
    return scheme.lower() == "bearer" and secrets.compare_digest(value.strip(), token())


def _registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(REQUEST_SECONDS)
    registry.register(SiteCollector())
    return registry


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if not token():
        return HttpResponseNotFound("Metrics are off: set SOPORTE_METRICS_TOKEN.")
    if not _authorized(request):
        response = HttpResponse("A valid metrics token is required.", status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)
