"""Probes, metrics, request IDs and the deployment check, as an operator meets them."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.http import HttpResponse
from django.test import Client

from soporte.jobs.models import Job, JobStatus
from soporte.ops.requestid import JsonFormatter, RequestIdFilter, RequestIdMiddleware
from soporte.tickets import services
from soporte.tickets.models import EventKind

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "a-long-enough-metrics-token-0123456789"


def _sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample of the Prometheus text format."""
    for line in text.splitlines():
        if not line.startswith(name):
            continue
        match = re.match(r"^([a-z_]+)(\{[^}]*\})? (\S+)$", line)
        if not match or match.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(2) or ""))
        if all(found.get(key) == value for key, value in labels.items()):
            return float(match.group(3))
    raise AssertionError(f"no sample {name} {labels} in:\n{text[:2000]}")


@pytest.mark.django_db
def test_healthz_and_readyz_say_what_is_down(settings):
    client = Client()
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "broker": "not used"}

    settings.JOBS_MODE = "celery"
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    down = client.get("/readyz")
    assert down.status_code == 503
    assert down.json()["checks"] == {"database": "ok", "broker": "down"}
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/13"
    assert client.get("/readyz").json()["checks"]["broker"] == "ok"
    assert client.post("/readyz").status_code == 405


@pytest.mark.django_db
def test_metrics_need_the_token_and_count_what_the_database_holds(settings, ticket, alice):
    client = Client()
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    settings.METRICS_TOKEN = TOKEN
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401

    Job.objects.create(name="mail.poll_mailboxes", args=[], status=JobStatus.FAILED)
    # A bundle counts as the runs it holds, not as one row.
    Job.objects.create(name="search.index_tickets", args=[[1], [2], [3]], bundle=True)
    Job.objects.create(name="search.index_tickets", args=[4])
    for _ in range(2):
        services.log_event(ticket, acting_user=None, kind=EventKind.SLA_BREACHED, target="x")
    client.get("/healthz")
    text = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()
    failed = Job.objects.filter(status=JobStatus.FAILED).count()
    assert _sample(text, "soporte_jobs", status="failed") == failed
    queued = sum(len(job.runs) for job in Job.objects.filter(status=JobStatus.QUEUED))
    assert queued >= 4
    assert _sample(text, "soporte_jobs", status="queued") == queued
    assert _sample(text, "soporte_jobs", status="running") == 0
    assert _sample(text, "soporte_sla_breaches_total") == 2
    assert (
        _sample(text, "soporte_http_request_duration_seconds_count", route="healthz", status="2xx")
        >= 1
    )


def test_request_ids_are_kept_or_made_and_in_every_log_line():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("soporte.test.requestid")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)

    def view(request):
        logger.info("working on it")
        try:
            raise ValueError("boom")
        except ValueError:
            logger.exception("it broke")
        return HttpResponse("ok")

    from django.test import RequestFactory

    middleware = RequestIdMiddleware(view)
    try:
        given = middleware(RequestFactory().get("/", HTTP_X_REQUEST_ID="nginx-42.abc"))
        made = middleware(RequestFactory().get("/", HTTP_X_REQUEST_ID="bad id\nInjected: 1"))
    finally:
        logger.removeHandler(handler)
    assert given["X-Request-ID"] == "nginx-42.abc"
    assert re.fullmatch(r"[0-9a-f]{32}", made["X-Request-ID"])
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["request_id"] for line in lines] == ["nginx-42.abc"] * 2 + [
        made["X-Request-ID"]
    ] * 2
    assert lines[1]["level"] == "ERROR" and "ValueError: boom" in lines[1]["exception"]


@pytest.mark.django_db
def test_check_deploy_names_each_unsafe_setting_and_passes_a_safe_site(settings):
    settings.DEBUG = True
    settings.SECRET_KEY = "test"
    settings.HTTPS = False
    out = io.StringIO()
    with pytest.raises(CommandError, match="problem"):
        call_command("check-deploy", stdout=out)
    report = out.getvalue()
    for words in ("Debug is on", "secret key is weak", "HTTPS is off", "Allowed hosts"):
        assert words in report

    settings.DEBUG = False
    settings.SECRET_KEY = "k" + "".join(chr(65 + i % 50) for i in range(60))
    settings.HTTPS = True
    settings.ALLOWED_HOSTS = ["help.example.com"]
    settings.JOBS_MODE = "celery"
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/13"
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.DEFAULT_FROM_EMAIL = "help@example.com"
    settings.METRICS_TOKEN = TOKEN
    out = io.StringIO()
    call_command("check-deploy", stdout=out)
    assert "No problems found" in out.getvalue()
    assert "ERROR" not in out.getvalue()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url: str, **headers: str) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback)
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.mark.slow
def test_serve_runs_several_processes_whose_metrics_add_up(tmp_path):
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "SOPORTE_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.sqlite3'}",
        "SOPORTE_VAR_DIR": str(tmp_path / "var"),
        "SOPORTE_SECRET_KEY": "test",
        "SOPORTE_METRICS_TOKEN": TOKEN,
        "SOPORTE_LOG_FORMAT": "json",
    }
    for name in ("SOPORTE_BROKER_URL", "SOPORTE_JOBS_MODE", "PROMETHEUS_MULTIPROC_DIR"):
        env.pop(name, None)
    migrate = subprocess.run(
        [sys.executable, "-m", "soporte", "migrate", "-v0"],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert migrate.returncode == 0, migrate.stderr[-2000:]
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "soporte", "serve", "--bind", f"127.0.0.1:{port}",
         "--workers", "2", "--threads", "1"],
        env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if _get(f"{base}/healthz")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline and server.poll() is None, "serve did not start"
            time.sleep(0.3)
        status, body = _get(f"{base}/readyz")
        assert status == 200 and json.loads(body)["checks"]["database"] == "ok"
        for _ in range(40):
            assert _get(f"{base}/healthz")[0] == 200
        status, text = _get(f"{base}/metrics", Authorization=f"Bearer {TOKEN}")
        assert status == 200
        # Every request counted once, whichever of the two processes answered it.
        served = _sample(
            text, "soporte_http_request_duration_seconds_count", route="healthz", status="2xx"
        )
        assert served >= 41
        assert served <= 41 + 60 / 0.3
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0]
    pids = {int(p) for p in re.findall(r"Booting worker with pid: (\d+)", output)}
    assert len(pids) == 2, output[-2000:]
