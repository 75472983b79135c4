"""Real worker processes run the jobs a committed change records: the acknowledgement of a
new ticket is recorded and sent by the worker, never lost while no worker was running.
One Celery worker on the machine's Redis; one `soporte worker` (no broker)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

REDIS = ("127.0.0.1", 6379)
REDIS_DB = 13  # kept for this test; flushed before it runs
ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent(
    """
    import json, sys
    import django
    django.setup()
    from soporte.accounts import services as accounts
    from soporte.accounts.models import Organization
    from soporte.jobs.models import Job
    from soporte.mail.models import OutboundMail
    from soporte.tickets import services

    if sys.argv[1] == "open":
        org = Organization.objects.create(name="Acme")
        maria = accounts.create_user(
            acting_user=None, username="maria", email="maria@acme.example", organization=org
        )
        services.open_ticket(acting_user=maria, subject="Printer jam", body="It jams.")
    print(json.dumps({
        # The mail's jobs (other areas queue theirs too: search indexing, triage...).
        "jobs": sorted(Job.objects.filter(name__startswith="mail.").values_list("name", "status")),
        "mail": list(OutboundMail.objects.values_list("status", flat=True)),
    }))
    """
)


def _redis_answers() -> bool:
    try:
        socket.create_connection(REDIS, 2).close()
    except OSError:
        return False
    return True


class Site:
    """A migrated SQLite database of its own, and commands run against it."""

    def __init__(self, tmp_path: Path, **env: str):
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "soporte.settings",
            "SOPORTE_DATABASE_URL": f"sqlite:///{tmp_path / 'jobs.sqlite3'}",
            "SOPORTE_VAR_DIR": str(tmp_path / "var"),
            "SOPORTE_SECRET_KEY": "test",
            "SOPORTE_EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
            **env,
        }
        for name in ("SOPORTE_JOBS_MODE", "SOPORTE_BROKER_URL"):
            if name not in env:
                self.env.pop(name, None)
        self.script = tmp_path / "change.py"
        self.script.write_text(SCRIPT)
        migrate = self.command("-m", "soporte", "migrate", "-v0")
        assert migrate.returncode == 0, migrate.stderr[-3000:]

    def command(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, *args], env=self.env, cwd=ROOT, capture_output=True, text=True,
            timeout=300,
        )  # fmt: skip

    def state(self, *args: str) -> dict:
        done = self.command(str(self.script), *args)
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads(done.stdout.strip().splitlines()[-1])

    def start(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, *args], env=self.env, cwd=ROOT, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip

    def wait_until_sent(self, seconds: float = 60) -> dict:
        deadline = time.monotonic() + seconds
        while True:
            state = self.state("status")
            finished = state["mail"] == ["sent"] and all(s == "done" for _, s in state["jobs"])
            if finished or time.monotonic() > deadline:
                return state
            time.sleep(0.5)


SENT = {
    "jobs": [["mail.notify_change", "done"], ["mail.send_outbound", "done"]],
    "mail": ["sent"],
}


@pytest.mark.slow
@pytest.mark.skipif(not _redis_answers(), reason="Redis is not answering on 127.0.0.1:6379")
def test_a_real_celery_worker_runs_the_jobs_of_a_committed_change(tmp_path):
    import redis

    broker = f"redis://{REDIS[0]}:{REDIS[1]}/{REDIS_DB}"
    redis.Redis.from_url(broker).flushdb()
    site = Site(tmp_path, SOPORTE_BROKER_URL=broker)

    # given a change committed while no worker runs: its job waits, recorded and published
    assert site.state("open") == {"jobs": [["mail.notify_change", "queued"]], "mail": []}

    # when a worker starts
    worker = site.start(
        "-m", "celery", "-A", "soporte", "worker", "--pool=solo", "--without-gossip",
        "--without-mingle", "-l", "info",
    )  # fmt: skip
    try:
        state = site.wait_until_sent()
    finally:
        worker.terminate()
        output = worker.communicate(timeout=30)[0]

    # then it ran the notification, which recorded the mail and queued its sending
    assert state == SENT, output[-3000:]
    assert "soporte.jobs.run" in output


@pytest.mark.slow
def test_without_a_broker_soporte_worker_runs_the_jobs_and_stops_cleanly(tmp_path):
    site = Site(tmp_path)
    assert site.state("open") == {"jobs": [["mail.notify_change", "queued"]], "mail": []}

    worker = site.start("-m", "soporte", "worker")
    try:
        state = site.wait_until_sent()
    finally:
        worker.send_signal(signal.SIGTERM)
        output = worker.communicate(timeout=30)[0]

    assert state == SENT, output[-3000:]
    assert worker.returncode == 0, output[-3000:]
    assert "Worker stopped." in output
