"""`make bench`: Soporte's speed on the foundation's work, beside django-helpdesk's.

Measures, on a fresh SQLite file in WAL mode (the default deployment):
  1. ticket creation through the service layer (each with its first message and event);
  2. the ticket list API, 50 per page, filtered by status and team, 100,000 tickets
     in the database, server time through Django's test client (no network);
  3. the agent's list page and a ticket page with 50 messages;
  4. inbound mail end to end: a generated corpus (bench/mailcorpus.py: sizes, charsets,
     attachments, replies) stored, processed into tickets and replies, and every
     background job that leads to run in this one process (see bench_mail);
then runs the same work on django-helpdesk 2.6.1 (bench/peer.py) and prints the ratio.

    python bench/run.py [--tickets 100000] [--create 2000] [--requests 200] [--no-peer]
    python bench/run.py --only mail [--mail 10000]
    python bench/run.py --database postgres://postgres@127.0.0.1:5432/soporte_bench
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

TEAMS = 5
# Same status mix as the peer's data set: (status, weight).
STATUS_WEIGHTS = [
    ("new", 20),
    ("pending_customer", 5),
    ("open", 25),
    ("resolved", 45),
    ("closed", 5),
]
LIST_STATUS = "new"  # ~20% of tickets, like the peer's "Open" filter
WORDS = (
    "invoice refund login password printer email vpn account error crash slow update "
    "payment order shipping laptop screen network access report export"
).split()


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def percentile(samples: list[float], pct: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return ordered[index]


def _broker() -> str:
    """Side effects (mail, indexing) are queued, as in production, not run inline: to a
    scratch Redis database when Redis answers, else kombu's in-process memory."""
    import socket

    try:
        socket.create_connection(("127.0.0.1", 6379), 1).close()
        return "redis://127.0.0.1:6379/15"
    except OSError:
        return "memory://"


def setup_django(database_url: str, var_dir: str) -> None:
    os.environ["SOPORTE_BROKER_URL"] = _broker()
    os.environ["SOPORTE_DATABASE_URL"] = database_url
    os.environ["SOPORTE_VAR_DIR"] = var_dir
    # The base install: soporte[semantic]'s embedding at intake is an extra whose cost
    # bench/triage.py measures (SOPORTE_SEMANTIC=on here to include it).
    os.environ.setdefault("SOPORTE_SEMANTIC", "off")
    os.environ["SOPORTE_SECRET_KEY"] = "bench-only"
    os.environ["SOPORTE_EMAIL_BACKEND"] = "django.core.mail.backends.locmem.EmailBackend"
    os.environ["DJANGO_SETTINGS_MODULE"] = "soporte.settings"
    import django

    django.setup()
    from django.conf import settings

    settings.LOGGING_CONFIG = None
    import logging

    logging.disable(logging.WARNING)


def reset_postgres(database_url: str) -> None:
    """Drop and recreate the bench database so every run starts empty."""
    from urllib.parse import urlsplit

    import psycopg

    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    admin = database_url.replace(parts.path, "/postgres", 1)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def prepare():
    from django.core.management import call_command

    from soporte.accounts import services as accounts
    from soporte.accounts.models import Organization, Role, Team, Tier

    call_command("migrate", verbosity=0, interactive=False)
    org = Organization.objects.create(name="Acme")
    agent = accounts.create_user(
        acting_user=None, username="agent", role=Role.AGENT, tier=Tier.L1, email="a@x.org"
    )
    requester = accounts.create_user(
        acting_user=None, username="requester", organization=org, email="r@x.org"
    )
    teams = [Team.objects.create(name=f"Queue {i}", tier=Tier.L1) for i in range(TEAMS)]
    teams[0].members.add(agent)
    return agent, requester, teams


def bench_create(requester, teams, count: int) -> dict:
    from soporte.tickets import services

    rng = random.Random(1)
    # Warm-up: first-use costs (statement caches, imports) are not the steady state.
    for _ in range(20):
        services.open_ticket(acting_user=requester, subject="warm-up", body="warm-up")
    start = time.perf_counter()
    for i in range(count):
        services.open_ticket(
            acting_user=requester,
            subject=f"{rng.choice(WORDS)} {rng.choice(WORDS)} problem {i}",
            body="Since this morning it fails with an error; I restarted twice.",
        )
    elapsed = time.perf_counter() - start
    return {
        "create_n": count,
        "create_s": round(elapsed, 3),
        "create_per_s": round(count / elapsed, 1),
    }


def bulk_load(requester, agent, teams, total: int) -> dict:
    """Fill the database up to `total` tickets (one message each) with bulk inserts."""
    from django.db import connection, transaction
    from django.utils import timezone

    from soporte.tickets.models import Message, MessageKind, Ticket

    rng = random.Random(2)
    statuses, weights = zip(*STATUS_WEIGHTS, strict=True)
    existing = Ticket.objects.count()
    next_number = (
        Ticket.objects.order_by("-number").values_list("number", flat=True).first() or 1000
    ) + 1
    now = timezone.now()
    start = time.perf_counter()
    batch = 5000
    remaining = total - existing
    while remaining > 0:
        size = min(batch, remaining)
        tickets = []
        for _ in range(size):
            created = now - timedelta(minutes=rng.randrange(2 * 365 * 24 * 60))
            status = rng.choices(statuses, weights)[0]
            tickets.append(
                Ticket(
                    number=next_number,
                    subject=f"{rng.choice(WORDS)} {rng.choice(WORDS)} {rng.choice(WORDS)}",
                    status=status,
                    channel="email",
                    requester=requester,
                    organization_id=requester.organization_id,
                    team=rng.choice(teams),
                    assignee=agent if rng.random() < 0.3 else None,
                    priority=rng.choice(["P1", "P2", "P3", "P4"]),
                    created_at=created,
                    updated_at=created + timedelta(minutes=rng.randrange(60 * 24)),
                )
            )
            next_number += 1
        with transaction.atomic():
            Ticket.objects.bulk_create(tickets)
            # bulk_create skips auto_now: the timestamps above are kept as generated.
            Message.objects.bulk_create(
                Message(
                    ticket=t,
                    kind=MessageKind.REPLY,
                    author=requester,
                    channel="email",
                    body_text="The application shows an error when I open the report.",
                )
                for t in tickets
            )
        remaining -= size
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE tickets_counter SET value = %s WHERE name = 'ticket'", [next_number - 1]
        )
        cursor.execute("ANALYZE")
    return {"load_s": round(time.perf_counter() - start, 1), "tickets": total}


def bench_list(agent, team, requests: int) -> dict:
    """p50/p95 server time of GET /api/v1/tickets?status=..&team=.. walking 20 pages deep."""
    from django.test import Client

    from soporte.accounts.services import create_api_token
    from soporte.tickets.models import Ticket

    _, key = create_api_token(acting_user=agent, name="bench")
    client = Client(headers={"Authorization": f"Bearer {key}"})
    base = f"/api/v1/tickets?status={LIST_STATUS}&team={team.pk}&limit=50"
    matching = Ticket.objects.filter(status=LIST_STATUS, team=team).count()

    def walk(pages: int, samples: list[float] | None) -> int:
        cursor, done = None, 0
        for _ in range(pages):
            url = base + (f"&cursor={cursor}" if cursor else "")
            start = time.perf_counter()
            response = client.get(url)
            elapsed = (time.perf_counter() - start) * 1000
            if response.status_code != 200:
                raise RuntimeError(
                    f"{url} answered {response.status_code}: {response.content[:200]}"
                )
            body = json.loads(response.content)
            if len(body["items"]) != 50 and body["next_cursor"]:
                raise RuntimeError("a page that is not the last one has fewer than 50 items")
            if samples is not None:
                samples.append(elapsed)
            done += 1
            cursor = body["next_cursor"]
            if not cursor:
                break
        return done

    walk(5, None)  # warm-up
    samples: list[float] = []
    while len(samples) < requests:
        walk(min(20, requests - len(samples)), samples)
    return {
        "list_p50_ms": round(statistics.median(samples), 2),
        "list_p95_ms": round(percentile(samples, 95), 2),
        "list_requests": len(samples),
        "list_matching": matching,
        "list_endpoint": "GET /api/v1/tickets?status&team&limit=50 (keyset cursor, 20 pages deep)",
    }


def timed_get(client, url: str) -> float:
    start = time.perf_counter()
    response = client.get(url)
    elapsed = (time.perf_counter() - start) * 1000
    if response.status_code != 200:
        raise RuntimeError(f"{url} answered {response.status_code}")
    return elapsed


def bench_pages(agent, requester, team, requests: int) -> dict:
    """Server time of the agent's list page (rows included) and a ticket page with 50
    messages, as a signed-in agent."""
    from django.test import Client

    from soporte.tickets import services

    client = Client()
    client.force_login(agent)
    base = f"/desk/tickets/?status={LIST_STATUS}&team={team.pk}"
    cursors: list[str | None] = [None]
    api = Client()
    api.force_login(agent)
    while len(cursors) < 20:
        url = f"/api/v1/tickets?status={LIST_STATUS}&team={team.pk}&limit=50"
        if cursors[-1]:
            url += f"&cursor={cursors[-1]}"
        nxt = json.loads(api.get(url).content)["next_cursor"]
        if not nxt:
            break
        cursors.append(nxt)
    for _ in range(5):
        timed_get(client, base)
    list_times = [
        timed_get(client, base + (f"&cursor={c}" if c else ""))
        for i in range(requests)
        for c in [cursors[i % len(cursors)]]
    ]

    ticket = services.open_ticket(
        acting_user=agent, requester=requester, subject="Fifty messages", body="1", team=team
    )
    for i in range(49):
        if i % 3 == 0:
            services.add_note(ticket, acting_user=agent, body=f"Note {i}: checked the logs.")
        else:
            author = agent if i % 2 else requester
            services.reply(ticket, acting_user=author, body=f"Message {i}: tried again.")
    url = f"/desk/tickets/{ticket.number}/"
    for _ in range(5):
        timed_get(client, url)
    ticket_times = [timed_get(client, url) for _ in range(requests)]
    return {
        "list_page_p50_ms": round(statistics.median(list_times), 2),
        "list_page_p95_ms": round(percentile(list_times, 95), 2),
        "ticket_page_p50_ms": round(statistics.median(ticket_times), 2),
        "ticket_page_p95_ms": round(percentile(ticket_times, 95), 2),
    }


# The jobs inbound mail leads to, in the order they follow each other.
MAIL_STAGES = [
    ("process", "mail.process_raw"),
    ("notify", "mail.notify_change"),
    ("send", "mail.send_outbound"),
]
MAIL_MEASURES = (
    "store_raw() of each message (what the SMTP receiver does), then every background job "
    "that leads to, run in this process as `soporte worker` runs them (soporte.jobs.queue."
    "run_batch: claimed 50 at a time, triage's new-ticket runs topped up to 200): "
    "mail.process_raw (the 50 in one transaction, a "
    "savepoint each: parse, thread, open the ticket or add the reply, SLA clock and "
    "rules, and, in the same transaction, record the "
    "acknowledgement, its sending job and the search indexing job), mail.send_outbound "
    "(render the acknowledgement, send it to Django's locmem backend), "
    "mail.notify_change when a change queued one, and any other job recorded "
    "(search.index_tickets: the new tickets and replies indexed); nothing is left queued"
)


def _run_queued(name: str | None) -> int:
    """Run the queued jobs called `name` (any name: None), oldest first, until none is
    left, in batches as `soporte worker` claims them; how many ran. Raises when one did
    not finish."""
    from soporte.jobs.models import Job, JobStatus
    from soporte.jobs.queue import run_batch
    from soporte.jobs.worker import Worker

    batch = Worker({}).batch
    ran = 0
    while done := run_batch(batch, due_only=False, names=[name] if name else ()):
        ran += done
    left = Job.objects.exclude(status=JobStatus.DONE)
    job = (left.filter(name=name) if name else left).first()
    if job is not None:
        raise RuntimeError(f"job {job} ended {job.status}: {job.last_error[-500:]}")
    return ran


def _ingest(corpus: list[bytes]) -> tuple[dict[str, float], float]:
    """Seconds per stage (store every message, then run each stage's jobs), and the
    CPU seconds this process used for all of it."""
    from django.core import mail as django_mail

    from soporte.mail.inbound import store_raw

    seconds: dict[str, float] = {}
    cpu = time.process_time()
    start = time.perf_counter()
    for raw in corpus:
        store_raw(raw, source="smtp")
    seconds["store"] = time.perf_counter() - start
    for stage, name in [*MAIL_STAGES, ("other jobs", None)]:
        start = time.perf_counter()
        _run_queued(name)
        seconds[stage] = time.perf_counter() - start
    cpu = time.process_time() - cpu
    django_mail.outbox = []
    return seconds, cpu


def bench_mail(paths: list[Path]) -> dict:
    """Inbound mail end to end, in this one process (MAIL_MEASURES says what is timed).

    Stage by stage, each over the whole corpus: first store every message, then run the
    processing jobs, then the notification jobs, then the sending jobs (each stage's jobs
    are recorded by the one before). The total is the end-to-end rate; "store + process"
    leaves out running the acknowledgement's two jobs (their recording is included).
    """
    from django.conf import settings
    from django.core import mail as django_mail

    from soporte.jobs.models import Job, JobStatus
    from soporte.mail.models import OutboundMail, OutboundStatus, RawMessage, RawStatus
    from soporte.tickets.models import Ticket

    settings.MAIL_SENDER_LIMIT_PER_HOUR = 1_000_000
    # Jobs are rows this process runs, not messages for a broker: nothing leaves it.
    settings.JOBS_MODE = "worker"
    # What `soporte worker` does once started (soporte/lib/startup.py: its pages and jobs
    # loaded, then what start-up made frozen out of the garbage collector's walks).
    from soporte.lib.startup import settle

    settle()
    from mailcorpus import generate

    # Warm-up: first-use costs (imports, templates, statement caches) are not the steady
    # state; a few other messages, counted nowhere.
    warm = generate(30, Path(tempfile.mkdtemp(prefix="soporte-mail-warm-")), seed=99)
    _ingest([path.read_bytes() for path in warm])
    before = RawMessage.objects.count()
    sent_before = OutboundMail.objects.filter(status=OutboundStatus.SENT).count()

    corpus = [path.read_bytes() for path in paths]
    tickets_before = Ticket.objects.count()
    load = os.getloadavg()[0]
    profile_to = os.environ.get("SOPORTE_BENCH_PROFILE")
    if profile_to:
        # cProfile slows every call alike: read it for shares, not for the rate.
        import cProfile

        profiler = cProfile.Profile(time.process_time)
        seconds, cpu = profiler.runcall(_ingest, corpus)
        profiler.dump_stats(profile_to)
    else:
        seconds, cpu = _ingest(corpus)
    done = RawMessage.objects.filter(status=RawStatus.DONE).count() - before
    if done != len(corpus):
        errors = list(
            RawMessage.objects.exclude(status=RawStatus.DONE).values_list("error", flat=True)[:3]
        )
        raise RuntimeError(f"only {done} of {len(corpus)} messages processed: {errors}")
    left = Job.objects.exclude(status=JobStatus.DONE).count()
    if left:
        raise RuntimeError(f"{left} jobs not done after the run")
    django_mail.outbox = []
    n = len(corpus)
    total = sum(seconds.values())
    stored_and_processed = seconds["store"] + seconds["process"]
    return {
        "mail_n": n,
        "mail_s": round(total, 2),
        "mail_per_s": round(n / total, 1),
        # On a shared machine the wall clock also counts time other processes took the CPU.
        "mail_cpu_per_s": round(n / cpu, 1),
        "mail_load_average": round(load, 2),
        "mail_tickets_before": tickets_before,
        "mail_store_process_per_s": round(n / stored_and_processed, 1),
        "mail_stage_ms": {stage: round(s * 1000 / n, 2) for stage, s in seconds.items()},
        "mail_acks_sent": OutboundMail.objects.filter(status=OutboundStatus.SENT).count()
        - sent_before,
        "mail_measures": MAIL_MEASURES,
    }


def run_ours(args) -> dict:
    tmp = tempfile.mkdtemp(prefix="soporte-bench-")
    database_url = args.database or f"sqlite:///{tmp}/bench.sqlite3"
    if database_url.startswith("postgres"):
        reset_postgres(database_url)
    setup_django(database_url, tmp)
    from django.conf import settings
    from django.db import connection

    agent, requester, teams = prepare()
    result = {"database": connection.vendor, "broker": settings.CELERY_BROKER_URL}
    if args.only != "mail":
        log(f"soporte: creating {args.create} tickets through the service layer")
        result.update(bench_create(requester, teams, args.create))
        log(f"soporte: loading up to {args.tickets} tickets")
        result.update(bulk_load(requester, agent, teams, args.tickets))
        log(f"soporte: {args.requests} list requests")
        result.update(bench_list(agent, teams[0], args.requests))
        log("soporte: agent pages")
        result.update(bench_pages(agent, requester, teams[0], args.requests))
    if args.mail:
        log(f"soporte: ingesting {len(args.mail_paths)} messages")
        result.update(bench_mail(args.mail_paths))
    return result


def ratio(ours: float, theirs: float, higher_is_better: bool) -> str:
    if not ours or not theirs:
        return "n/a"
    value = ours / theirs if higher_is_better else theirs / ours
    return f"{value:.1f}x"


def report(ours: dict, peer: dict) -> None:
    peer_ok = "error" not in peer
    rows = [
        ("ticket creation (tickets/s)", "create_per_s", True, ">= 1000 and >= 5x peer"),
        ("list p50 (ms)", "list_p50_ms", False, ""),
        ("list p95 (ms)", "list_p95_ms", False, "<= 30 ms and >= 5x peer"),
        ("list page p50 (ms)", "list_page_p50_ms", False, ""),
        ("list page p95 (ms)", "list_page_p95_ms", False, "<= 50 ms"),
        ("ticket page, 50 msgs p50 (ms)", "ticket_page_p50_ms", False, ""),
        ("ticket page, 50 msgs p95 (ms)", "ticket_page_p95_ms", False, "<= 50 ms"),
        ("mail, end to end (msgs/s)", "mail_per_s", True, ">= 300"),
    ]
    print(
        f"side effects queued on {ours['broker']} (mail: jobs run in this process); "
        f"peer mail failures: {peer.get('mail_failures')}"
    )
    print()
    peer_name = peer.get("peer", "django-helpdesk 2.6.1")
    scale = (
        f", {ours['tickets']:,} tickets, list filtered to ~{ours['list_matching']:,} matching"
        if "tickets" in ours
        else ""
    )
    print(f"Soporte ({ours['database']}) vs {peer_name}{scale}")
    print(f"{'measure':<30}{'soporte':>12}{'peer':>12}{'ratio':>10}  target")
    for label, key, higher, target in rows:
        if key not in ours:
            continue
        theirs = peer.get(key) if peer_ok else None
        print(
            f"{label:<30}{ours[key]:>12}{theirs if theirs is not None else '-':>12}"
            f"{ratio(ours[key], theirs, higher) if theirs else 'n/a':>10}  {target}"
        )
    if "mail_per_s" in ours:
        print(f"{'mail, store + process (msgs/s)':<30}{ours['mail_store_process_per_s']:>12}")
        theirs = peer.get("mail_cpu_per_s") if peer_ok else None
        print(
            f"{'mail, per CPU second (msgs/s)':<30}{ours['mail_cpu_per_s']:>12}"
            f"{theirs if theirs is not None else '-':>12}"
            f"{ratio(ours['mail_cpu_per_s'], theirs, True) if theirs else 'n/a':>10}"
            f"  load average {ours['mail_load_average']} at the start"
        )
        stages = ", ".join(f"{stage} {ms}" for stage, ms in ours["mail_stage_ms"].items())
        theirs_before = peer.get("mail_tickets_before")
        print(
            f"mail stages (ms per message, {ours['mail_n']:,} messages into a database of "
            f"{ours['mail_tickets_before']:,} tickets; the peer's had "
            f"{'?' if theirs_before is None else f'{theirs_before:,}'}): {stages}"
        )
        print(f"mail, soporte measures: {ours['mail_measures']}.")
        print(f"  acknowledgements sent: {ours['mail_acks_sent']:,}")
        if peer_ok and "mail_measures" in peer:
            print(f"mail, peer measures: {peer['mail_measures']}.")
    if peer_ok and "list_endpoint" in peer:
        print(
            f"peer list endpoint: {peer.get('list_endpoint')}; matching {peer.get('list_matching')}"
        )
    elif not peer_ok:
        print(f"peer not measured: {peer['error']}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--create", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--database", help="a SOPORTE_DATABASE_URL; default a fresh SQLite file")
    parser.add_argument("--no-peer", action="store_true", help="skip django-helpdesk")
    parser.add_argument("--mail", type=int, default=10_000, help="messages to ingest (0: skip)")
    parser.add_argument(
        "--only", choices=["mail"], help="measure only this (mail: inbound mail ingestion)"
    )
    args = parser.parse_args()
    if args.only == "mail" and not args.mail:
        parser.error("--only mail needs --mail above 0")
    args.mail_paths = []
    if args.mail:
        from mailcorpus import generate

        log(f"generating {args.mail} messages")
        args.mail_paths = generate(args.mail, Path(tempfile.mkdtemp(prefix="soporte-mail-")))

    ours = run_ours(args)
    peer: dict = {"error": "skipped (--no-peer)"}
    if not args.no_peer:
        from peer import run_peer

        log("peer: django-helpdesk 2.6.1 on the same work")
        peer = run_peer(
            tickets=args.tickets,
            create=args.create,
            requests=args.requests,
            mail_dir=str(args.mail_paths[0].parent) if args.mail_paths else None,
            only=args.only,
        )
    from soporte.celery import app as celery_app

    celery_app.control.purge()  # nothing will consume what the bench queued
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (results / f"{args.only or 'foundation'}-{stamp}.json").write_text(
        json.dumps({"soporte": ours, "peer": peer}, indent=2)
    )
    report(ours, peer)


if __name__ == "__main__":
    main()
