"""A site under load, as deployed: two web processes (`soporte serve`), a Celery worker on
Redis, PostgreSQL, and concurrent clients on the loopback opening tickets and answering
them through the API. Afterwards every accepted request is looked for in the database:
zero errors, zero lost and zero duplicated messages, every mail recorded once and sent.

    python bench/load.py [--clients 8] [--seconds 20]
        [--database postgres://postgres@127.0.0.1:5432/soporte_load] [--json] [--redis-db 12]

Prints throughput and latency (p50/p95, wall time seen by the clients); exits 1 when
anything was lost, duplicated or failed. The load is bounded in time and stays on
127.0.0.1. No peer column: django-helpdesk has no API to drive the same way.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
REDIS_DB = 12  # this benchmark's own Redis database, flushed at start

SETUP = textwrap.dedent(
    """
    import json, sys
    import django
    django.setup()
    from soporte.accounts import services as accounts
    from soporte.accounts.models import Organization, Role, Team
    clients = int(sys.argv[1])
    org = Organization.objects.create(name="Load Inc")
    team = Team.objects.create(name="Load desk")
    agent = accounts.create_user(acting_user=None, username="agent", email="agent@load.example",
                                 role=Role.AGENT, tier="L1", teams=[team])
    tokens = {"agent": accounts.create_api_token(acting_user=agent, name="load")[1]}
    for i in range(clients):
        person = accounts.create_user(acting_user=None, username=f"user{i}",
                                      email=f"user{i}@load.example", organization=org)
        tokens[f"user{i}"] = accounts.create_api_token(acting_user=person, name="load")[1]
    print(json.dumps(tokens))
    """
)

CHECK = textwrap.dedent(
    """
    import json, sys, time
    import django
    django.setup()
    from django.db.models import Count
    from soporte.jobs.models import Job, JobStatus
    from soporte.mail.models import OutboundKind, OutboundMail, OutboundStatus
    from soporte.tickets.models import Message, Ticket
    expected = json.load(open(sys.argv[1]))
    deadline = time.monotonic() + float(sys.argv[2])
    while Job.objects.filter(status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).exists():
        if time.monotonic() > deadline:
            break
        time.sleep(0.5)
    subjects = Ticket.objects.filter(subject__startswith="Load ").values_list("subject")
    subject_counts = dict(subjects.annotate(n=Count("id")).order_by())
    bodies = Message.objects.filter(body_text__startswith="reply ").values_list("body_text")
    body_counts = dict(bodies.annotate(n=Count("id")).order_by())
    mail = dict(OutboundMail.objects.values_list("status").annotate(n=Count("id")).order_by())
    replies_mailed = OutboundMail.objects.filter(kind=OutboundKind.REPLY).count()
    print(json.dumps({
        "lost": sum(1 for s in expected["tickets"] if s not in subject_counts)
                + sum(1 for b in expected["replies"] if b not in body_counts),
        "duplicated": sum(1 for n in subject_counts.values() if n > 1)
                      + sum(1 for n in body_counts.values() if n > 1),
        "unexpected": len(set(subject_counts) - set(expected["tickets"]))
                      + len(set(body_counts) - set(expected["replies"])),
        "mail": mail,
        "reply_mail": replies_mailed,
        "jobs_left": Job.objects.filter(status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).count(),
        "jobs_failed": Job.objects.filter(status=JobStatus.FAILED).count(),
    }))
    """
)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def percentile(samples: list[float], pct: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def reset_postgres(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    server = url.rsplit("/", 1)[0].split("://", 1)[1]
    host = server.split("@")[-1].split(":")[0]
    for statement in (f"DROP DATABASE IF EXISTS {name} WITH (FORCE)", f"CREATE DATABASE {name}"):
        subprocess.run(
            ["psql", "-h", host, "-U", "postgres", "-q", "-c", statement],
            check=True, capture_output=True,
        )  # fmt: skip


def flush_redis(db: int = REDIS_DB) -> None:
    with socket.create_connection(("127.0.0.1", 6379), 5) as redis:
        redis.sendall(f"SELECT {db}\r\nFLUSHDB\r\n".encode())
        redis.recv(100)


def site_env(database: str, work: Path, redis_db: int = REDIS_DB) -> dict[str, str]:
    """The environment of a deployed site's processes: this database, Redis database
    `redis_db` as the broker, mail sent nowhere, files under `work`."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "soporte.settings",
        "SOPORTE_DATABASE_URL": database,
        "SOPORTE_BROKER_URL": f"redis://127.0.0.1:6379/{redis_db}",
        "SOPORTE_SECRET_KEY": "load-test-secret-key",
        "SOPORTE_EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
        "SOPORTE_MEDIA_ROOT": str(work / "media"),
        "SOPORTE_LOG_LEVEL": "WARNING",
    }
    env.pop("SOPORTE_JOBS_MODE", None)
    return env


def start_site(
    env: dict[str, str], work: Path, processes: list[subprocess.Popen], web: int = 2
) -> list[int]:
    """Start `web` web processes (`soporte serve`, one gunicorn worker of 4 threads
    each) and a Celery worker, appending them to `processes` (the caller stops them,
    see stop_site, even when this fails); the web processes' ports, once they answer."""
    python = [sys.executable]
    ports = [free_port() for _ in range(web)]
    for number, port in enumerate(ports):
        out = (work / f"web{number}.log").open("w")
        processes.append(
            subprocess.Popen(
                [
                    *python,
                    "-m",
                    "soporte",
                    "serve",
                    "--bind",
                    f"127.0.0.1:{port}",
                    "--workers",
                    "1",
                    "--threads",
                    "4",
                ],
                env={**env, "SOPORTE_VAR_DIR": str(work / f"var{number}")},
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        )
    worker_log = (work / "worker.log").open("w")
    processes.append(
        subprocess.Popen(
            [
                *python,
                "-m",
                "celery",
                "-A",
                "soporte",
                "worker",
                "--concurrency",
                "2",
                "--without-gossip",
                "--without-mingle",
                "--loglevel",
                "WARNING",
            ],
            env=env,
            cwd=ROOT,
            stdout=worker_log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    )
    deadline = time.monotonic() + 90
    for port in ports:
        while True:
            try:
                probe = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                probe.request("GET", "/readyz")
                if probe.getresponse().status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"the web process on {port} did not start")
            time.sleep(0.3)
    return ports


def stop_site(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


class Client(threading.Thread):
    """One person at a keyboard, as fast as the site lets them: opens a ticket on one web
    process, and the agent answers it on the other."""

    def __init__(self, index: int, ports: list[int], tokens: dict, stop_at: float):
        super().__init__(daemon=True)
        self.index, self.tokens, self.stop_at = index, tokens, stop_at
        self.ports = ports[index % 2 :] + ports[: index % 2]
        self.connections = [
            http.client.HTTPConnection("127.0.0.1", p, timeout=60) for p in self.ports
        ]
        self.latency: dict[str, list[float]] = {"create": [], "reply": []}
        self.errors: list[str] = []
        self.tickets: list[str] = []
        self.replies: list[str] = []

    def call(self, which: int, token: str, path: str, body: dict) -> tuple[int, dict]:
        connection = self.connections[which]
        payload = json.dumps(body)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        try:
            connection.request("POST", f"/api/v1{path}", payload, headers)
            response = connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as error:
            connection.close()
            return 0, {"detail": repr(error)}
        try:
            return response.status, json.loads(data or b"{}")
        except ValueError:
            return response.status, {"detail": data[:200].decode(errors="replace")}

    def run(self) -> None:
        user = f"user{self.index}"
        count = 0
        while time.monotonic() < self.stop_at:
            subject = f"Load {self.index}-{count}"
            start = time.perf_counter()
            status, data = self.call(
                0, self.tokens[user], "/tickets", {"subject": subject, "body": "Busy."}
            )
            self.latency["create"].append(time.perf_counter() - start)
            if status != 201:
                self.errors.append(f"create {status}: {data.get('detail')}")
                count += 1
                continue
            self.tickets.append(subject)
            body = f"reply {self.index}-{count}"
            start = time.perf_counter()
            status, data = self.call(
                1, self.tokens["agent"], f"/tickets/{data['number']}/messages",
                {"kind": "reply", "body": body, "version": data["version"]},
            )  # fmt: skip
            self.latency["reply"].append(time.perf_counter() - start)
            if status != 201:
                self.errors.append(f"reply {status}: {data.get('detail')}")
            else:
                self.replies.append(body)
            count += 1


def prepare_site(env: dict[str, str], work: Path, redis_db: int, setup: str, *args: str) -> str:
    """A fresh site: its PostgreSQL database emptied, its Redis database flushed, migrated,
    then the `setup` script run in it with `args`; what the script printed."""
    database = env["SOPORTE_DATABASE_URL"]
    if not database.startswith("sqlite"):
        reset_postgres(database)
    flush_redis(redis_db)
    subprocess.run(
        [sys.executable, "-m", "soporte", "migrate", "-v0"], env=env, cwd=ROOT, check=True
    )
    (work / "setup.py").write_text(setup)
    return subprocess.run(
        [sys.executable, str(work / "setup.py"), *args],
        env=env, cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip


def run_check(source: str, expected: dict, work: Path, env: dict[str, str]) -> dict:
    """Run a check script (`source`, given the expected data's file and a 120 s wait for
    the worker) against the site's database in a fresh process; what it printed, as JSON."""
    (work / "expected.json").write_text(json.dumps(expected))
    (work / "check.py").write_text(source)
    checked = subprocess.run(
        [sys.executable, str(work / "check.py"), str(work / "expected.json"), "120"],
        env=env, cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    if checked.returncode != 0:
        raise SystemExit(f"the check failed: {checked.stderr[-2000:]}")
    return json.loads(checked.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--database", default="postgres://postgres@127.0.0.1:5432/soporte_load")
    parser.add_argument("--json", action="store_true", help="print the results as JSON only")
    parser.add_argument(
        "--redis-db", type=int, default=REDIS_DB,
        help="the broker's Redis database, flushed at start: one per run at the same time",
    )  # fmt: skip
    args = parser.parse_args()
    clients = max(1, min(args.clients, 64))
    seconds = max(1.0, min(args.seconds, 600.0))

    work = Path(tempfile.mkdtemp(prefix="soporte-load-"))
    env = site_env(args.database, work, args.redis_db)
    processes: list[subprocess.Popen] = []
    try:
        tokens = json.loads(prepare_site(env, work, args.redis_db, SETUP, str(clients)))
        ports = start_site(env, work, processes)
        log(f"load: {clients} clients for {seconds:.0f} s on 2 web processes + a Celery worker")
        started = time.perf_counter()
        stop_at = time.monotonic() + seconds
        workers = [Client(i, ports, tokens, stop_at) for i in range(clients)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        elapsed = time.perf_counter() - started
        expected = {
            "tickets": [s for w in workers for s in w.tickets],
            "replies": [b for w in workers for b in w.replies],
        }
        found = run_check(CHECK, expected, work, env)
    finally:
        stop_site(processes)
    errors = [e for w in workers for e in w.errors]
    create = [x for w in workers for x in w.latency["create"]]
    reply = [x for w in workers for x in w.latency["reply"]]
    operations = len(create) + len(reply)
    result = {
        "clients": clients,
        "seconds": round(elapsed, 1),
        "requests": operations,
        "requests_per_s": round(operations / elapsed, 1),
        "create_p50_ms": round(statistics.median(create) * 1000, 1) if create else None,
        "create_p95_ms": round(percentile(create, 95) * 1000, 1) if create else None,
        "reply_p50_ms": round(statistics.median(reply) * 1000, 1) if reply else None,
        "reply_p95_ms": round(percentile(reply, 95) * 1000, 1) if reply else None,
        "errors": len(errors),
        "error_samples": errors[:5],
        "tickets": len(expected["tickets"]),
        "replies": len(expected["replies"]),
        **found,
    }
    ok = (
        not errors and found["lost"] == 0 and found["duplicated"] == 0
        and found["unexpected"] == 0 and found["jobs_failed"] == 0 and found["jobs_left"] == 0
        and found["reply_mail"] == len(expected["replies"])
    )  # fmt: skip
    result["ok"] = ok
    if args.json:
        print(json.dumps(result))
    else:
        print("\nSite under load: 2 web processes, 1 Celery worker (Redis), PostgreSQL")
        print(
            "| clients | requests | requests/s | create p50/p95 ms | reply p50/p95 ms "
            "| errors | lost | duplicated |"
        )
        print("|---|---|---|---|---|---|---|---|")
        print(
            f"| {clients} | {operations:,} | {result['requests_per_s']} | "
            f"{result['create_p50_ms']} / {result['create_p95_ms']} | "
            f"{result['reply_p50_ms']} / {result['reply_p95_ms']} | {len(errors)} | "
            f"{found['lost']} | {found['duplicated']} |"
        )
        print(
            f"mail: {found['mail']}; jobs failed {found['jobs_failed']}, left {found['jobs_left']}"
        )
        results = HERE / "results"
        results.mkdir(exist_ok=True)
        (results / "load.json").write_text(json.dumps(result, indent=1))
    if ok:
        shutil.rmtree(work, ignore_errors=True)
    else:
        log(f"load: logs kept in {work}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
