"""Peer benchmark worker: django-helpdesk 2.6.1 doing the work our bench measures.

Runs inside the bench/.peer virtualenv (started by bench/peer.py), never under
our project's Python. Progress goes to stderr; the last stdout line is one JSON
object with the results.

    python peer_worker.py --tickets 100000 --create 2000 --requests 200
"""

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import django
from django.conf import settings

PEER = "django-helpdesk 2.6.1"
QUEUES = ["billing", "sales", "support", "accounts", "outages"]
AGENTS = 5
PAGE = 50
PAGES = 20  # list requests cycle through the first PAGES pages
WARMUP = 5
# (status, weight): helpdesk defaults 1=Open 2=Reopened 3=Resolved 4=Closed 5=Duplicate
STATUS_WEIGHTS = [(1, 20), (2, 5), (3, 25), (4, 45), (5, 5)]
LIST_STATUS = 1  # the list is filtered by Open tickets of the first queue
WORDS = [
    "invoice",
    "refund",
    "login",
    "password",
    "printer",
    "email",
    "vpn",
    "account",
    "error",
    "crash",
    "slow",
    "update",
    "payment",
    "order",
    "shipping",
    "laptop",
    "screen",
    "network",
    "access",
    "report",
    "export",
]


def log(msg):
    print(f"[peer] {msg}", file=sys.stderr, flush=True)


def configure(db_path):
    settings.configure(
        DEBUG=False,  # DEBUG=True would record every SQL query and skew timings
        SECRET_KEY="peer-bench",
        ALLOWED_HOSTS=["testserver"],
        USE_TZ=True,
        TIME_ZONE="UTC",
        SITE_ID=1,
        # Attachments the mail path saves go to the temp dir, not the current folder.
        MEDIA_ROOT=str(Path(db_path).parent / "media"),
        DATABASES={
            "default": {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": str(db_path),
                # Same SQLite tuning as our own bench.
                "OPTIONS": {"init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL"},
            }
        },
        INSTALLED_APPS=[
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "django.contrib.sites",
            "django.contrib.messages",
            "django.contrib.humanize",
            "django.contrib.staticfiles",
            "rest_framework",
            "helpdesk",
        ],
        MIDDLEWARE=[
            "django.middleware.security.SecurityMiddleware",
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.common.CommonMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "django.contrib.messages.middleware.MessageMiddleware",
        ],
        TEMPLATES=[
            {
                "BACKEND": "django.template.backends.django.DjangoTemplates",
                "APP_DIRS": True,
                "OPTIONS": {
                    "context_processors": [
                        "django.template.context_processors.request",
                        "django.contrib.auth.context_processors.auth",
                        "django.contrib.messages.context_processors.messages",
                    ]
                },
            }
        ],
        # This module doubles as the URLconf (urlpatterns is set in main()).
        ROOT_URLCONF=__name__,
        STATIC_URL="/static/",
        LOGIN_URL="/helpdesk/login/",
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        DEFAULT_FROM_EMAIL="helpdesk@example.com",
        # Teams mode needs pinax-teams (an optional extra); the documented
        # alternative is to switch it off, which points KBItem.team at User.
        HELPDESK_TEAMS_MODE_ENABLED=False,
    )
    django.setup()


def setup_data():
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from helpdesk.models import Queue

    call_command("migrate", verbosity=0, interactive=False)
    User = get_user_model()
    staff = User.objects.create_user(
        "staff", "staff@example.com", None, is_staff=True, is_superuser=True
    )
    agents = [
        User.objects.create_user(f"agent{i}", f"agent{i}@example.com", None, is_staff=True)
        for i in range(AGENTS)
    ]
    queues = [
        Queue.objects.create(title=s.title(), slug=s, email_address=f"{s}@example.com")
        for s in QUEUES
    ]
    return staff, agents, queues


def text(rng, n):
    return " ".join(rng.choice(WORDS) for _ in range(n))


def bench_create(n, staff, queues, rng):
    """The staff "New ticket" path: CreateTicketView builds TicketForm with the
    user's queue choices, validates it and calls form.save(user=...), which
    saves the Ticket, its opening FollowUp, renders and "sends" the
    notification e-mails and checks back-links. Django's default autocommit
    (no ATOMIC_REQUESTS), as in a real deployment."""
    from django.core import mail
    from helpdesk.forms import TicketForm
    from helpdesk.views.staff import get_user_queues

    t0 = time.perf_counter()
    for i in range(n):
        data = {
            "queue": str(queues[i % len(queues)].id),
            "title": text(rng, 6),
            "body": text(rng, 60),
            "priority": str(rng.randint(1, 5)),
            "submitter_email": f"customer{i}@example.com",
            "assigned_to": "",
        }
        form = TicketForm(data=data, queue_choices=get_user_queues(staff))
        if not form.is_valid():
            raise RuntimeError(f"TicketForm rejected data: {form.errors.as_json()}")
        form.save(user=staff)
        mail.outbox = []  # keep locmem's outbox from growing without bound
    return time.perf_counter() - t0


def bulk_load(total, agents, queues, rng):
    """Fill the table up to `total` tickets, each with its opening FollowUp and
    a closing one when no longer open; timestamps over the last two years."""
    from helpdesk.models import Ticket

    todo = total - Ticket.objects.count()
    if todo <= 0:
        return 0.0
    # auto_now/auto_now_add would stamp every row with "now"; switch them off
    # so created/modified keep the realistic values we give them.
    fields = [Ticket._meta.get_field(name) for name in ("created", "modified")]
    saved = [(f.auto_now, f.auto_now_add) for f in fields]
    for f in fields:
        f.auto_now = f.auto_now_add = False
    try:
        return _bulk_insert(todo, agents, queues, rng)
    finally:
        # Later work (mail ingestion) creates tickets the normal way again.
        for f, (auto_now, auto_now_add) in zip(fields, saved, strict=True):
            f.auto_now, f.auto_now_add = auto_now, auto_now_add


def _bulk_insert(todo, agents, queues, rng):
    from django.db import transaction
    from django.utils import timezone
    from helpdesk.models import FollowUp, Ticket

    statuses, weights = zip(*STATUS_WEIGHTS, strict=True)
    now = timezone.now()
    span = 2 * 365 * 24 * 3600
    t0 = time.perf_counter()
    batch = 5000
    with transaction.atomic():
        for start in range(0, todo, batch):
            rows = []
            for i in range(start, min(start + batch, todo)):
                created = now - timedelta(seconds=rng.randrange(span))
                status = rng.choices(statuses, weights)[0]
                modified = min(now, created + timedelta(seconds=rng.randrange(7 * 86400)))
                rows.append(
                    Ticket(
                        title=text(rng, 6),
                        queue=queues[i % len(queues)],
                        created=created,
                        modified=modified,
                        submitter_email=f"customer{i % 20000}@example.com",
                        assigned_to=rng.choice(agents) if rng.random() < 0.7 else None,
                        status=status,
                        description=text(rng, 40),
                        priority=rng.randint(1, 5),
                    )
                )
            Ticket.objects.bulk_create(rows)  # SQLite returns the new pks
            fups = []
            for t in rows:
                fups.append(
                    FollowUp(
                        ticket=t,
                        title="Ticket Opened",
                        date=t.created,
                        public=True,
                        comment=t.description,
                    )
                )
                if t.status not in (1, 2):
                    fups.append(
                        FollowUp(
                            ticket=t,
                            title="Ticket Closed",
                            date=t.modified,
                            public=True,
                            comment=text(rng, 15),
                            new_status=t.status,
                        )
                    )
            FollowUp.objects.bulk_create(fups)
            log(f"loaded {min(start + batch, todo)}/{todo} tickets")
    return time.perf_counter() - t0


def bench_list(n_requests, staff, queue):
    """The JSON the staff ticket list page's DataTable fetches: the page encodes
    its filters as a base64 query in the URL (query_to_base64, as
    views.staff.ticket_list does) and DataTables adds draw/start/length/order."""
    from django.test import Client
    from django.urls import reverse
    from helpdesk.query import query_to_base64

    query = {
        "filtering": {"status__in": [LIST_STATUS], "queue__id__in": [queue.id]},
        "filtering_null": {},
        "sorting": "created",
        "sortreverse": "on",
        "search_string": "",
    }
    url = reverse("helpdesk:datatables_ticket_list", args=[query_to_base64(query)])
    client = Client()
    client.force_login(staff)

    def get(i, start):
        params = {
            "draw": str(i + 1),
            "start": str(start),
            "length": str(PAGE),
            "search[value]": "",
            "order[0][column]": "5",  # created, newest first
            "order[0][dir]": "desc",
        }
        t0 = time.perf_counter()
        resp = client.get(url, params)
        dt = time.perf_counter() - t0
        if resp.status_code != 200:
            raise RuntimeError(f"{url} returned HTTP {resp.status_code}")
        return dt * 1000, resp.json()

    # Only visit pages that have rows, so small test datasets stay comparable.
    matching = get(0, 0)[1]["recordsFiltered"]
    pages = max(1, min(PAGES, -(-matching // PAGE)))
    times = []
    for i in range(1, WARMUP + n_requests):
        ms, body = get(i, (i % pages) * PAGE)
        if len(body["data"]) != min(PAGE, matching - (i % pages) * PAGE):
            raise RuntimeError(f"unexpected page size {len(body['data'])}")
        if i >= WARMUP:
            times.append(ms)
    return times, matching, pages


def bench_pages(n_requests, staff, queue):
    """Server time of the two pages an agent lives in: the ticket list page (its HTML
    shell plus the DataTables JSON it fetches for the rows, as the browser does) and a
    ticket's page with 50 follow-ups."""
    from django.test import Client
    from django.urls import reverse
    from helpdesk.models import FollowUp, Ticket

    client = Client()
    client.force_login(staff)
    shell = reverse("helpdesk:list")
    rows_times, _, _ = bench_list(n_requests, staff, queue)
    shell_times = []
    for i in range(WARMUP + n_requests):
        t0 = time.perf_counter()
        resp = client.get(shell, {"status": str(LIST_STATUS), "queue": str(queue.id)})
        if resp.status_code != 200:
            raise RuntimeError(f"{shell} returned HTTP {resp.status_code}")
        if i >= WARMUP:
            shell_times.append((time.perf_counter() - t0) * 1000)
    list_times = [a + b for a, b in zip(shell_times, rows_times, strict=False)]

    ticket = Ticket.objects.filter(queue=queue).order_by("-id").first()
    FollowUp.objects.filter(ticket=ticket).delete()
    for i in range(50):
        FollowUp.objects.create(
            ticket=ticket,
            user=staff,
            title="Comment",
            comment=f"Message {i}: tried again.",
            public=i % 3 != 0,
        )
    view = reverse("helpdesk:view", args=[ticket.id])
    view_times = []
    for i in range(WARMUP + n_requests):
        t0 = time.perf_counter()
        resp = client.get(view)
        if resp.status_code != 200:
            raise RuntimeError(f"{view} returned HTTP {resp.status_code}")
        if i >= WARMUP:
            view_times.append((time.perf_counter() - t0) * 1000)
    return list_times, view_times


def bench_mail(corpus_dir, queue):
    """The peer's email-to-ticket path on our corpus: helpdesk.email.extract_email_metadata,
    which its IMAP/POP3/local-folder pollers call for each message (they decode the bytes
    with smart_str first, as done here)."""
    import logging

    from django.utils.encoding import smart_str
    from helpdesk.email import extract_email_metadata
    from helpdesk.models import Ticket

    logger = logging.getLogger("peer-mail")
    logger.addHandler(logging.NullHandler())
    logger.propagate = False
    corpus = [p.read_bytes() for p in sorted(Path(corpus_dir).glob("*.eml"))]
    failures = 0
    before = Ticket.objects.count()
    cpu = time.process_time()
    t0 = time.perf_counter()
    for raw in corpus:
        try:
            extract_email_metadata(smart_str(raw), queue, logger)
        except Exception as exc:  # noqa: BLE001 - counted, as the peer's poller logs and goes on
            failures += 1
            if failures == 1:
                # The peer's error quotes the whole message: its first line says enough.
                said = str(exc).split("You passed in")[0].strip()[:300]
                log(f"first mail failure: {type(exc).__name__}: {said}")
    elapsed = time.perf_counter() - t0
    return len(corpus), elapsed, failures, time.process_time() - cpu, before


def pctl(values, p):
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--tickets", type=int, default=100_000)
    ap.add_argument("--create", type=int, default=2000)
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--mail-corpus", help="a folder of .eml files to ingest")
    ap.add_argument("--only", choices=["mail"], help="measure only this (mail: ingestion)")
    args = ap.parse_args()
    if args.only == "mail" and not args.mail_corpus:
        ap.error("--only mail needs --mail-corpus")
    rng = random.Random(args.seed)

    with tempfile.TemporaryDirectory(prefix="peer-bench-") as tmp:
        configure(Path(tmp) / "peer.sqlite3")
        from django.urls import include, path

        globals()["urlpatterns"] = [path("helpdesk/", include("helpdesk.urls"))]

        log(f"django {django.get_version()}: migrating {tmp}")
        staff, agents, queues = setup_data()

        create_s = load_s = 0.0
        times = list_page_times = ticket_page_times = []
        matching = 0
        if args.only != "mail":
            log(f"creating {args.create} tickets through TicketForm.save()")
            create_s = bench_create(args.create, staff, queues, rng)
            log(f"created {args.create} in {create_s:.2f}s")

            load_s = bulk_load(args.tickets, agents, queues, rng)
            log(f"bulk-loaded up to {args.tickets} tickets in {load_s:.1f}s")

            times, matching, pages = bench_list(args.requests, staff, queues[0])
            list_page_times, ticket_page_times = bench_pages(args.requests, staff, queues[0])
        mail = None
        if args.mail_corpus:
            log(f"ingesting {args.mail_corpus}")
            mail = bench_mail(args.mail_corpus, queues[0])
        from django.db import connection

        connection.close()  # before the temp dir holding the database goes

    result = {"peer": PEER, "django": django.get_version()}
    if args.only != "mail":
        result.update(
            {
                "create_per_s": round(args.create / create_s, 1) if create_s else None,
                "create_n": args.create,
                "create_s": round(create_s, 3),
                "list_p50_ms": round(pctl(times, 50), 2),
                "list_p95_ms": round(pctl(times, 95), 2),
                "list_requests": len(times),
                "list_matching": matching,
                "list_endpoint": (
                    "GET helpdesk:datatables_ticket_list (views.staff.datatables_ticket_list)"
                    f" status={LIST_STATUS} queue={QUEUES[0]} length={PAGE}"
                    f" start=0..{(pages - 1) * PAGE} order=created desc, test Client as staff"
                ),
                "list_page_p50_ms": round(pctl(list_page_times, 50), 2),
                "list_page_p95_ms": round(pctl(list_page_times, 95), 2),
                "ticket_page_p50_ms": round(pctl(ticket_page_times, 50), 2),
                "ticket_page_p95_ms": round(pctl(ticket_page_times, 95), 2),
                "pages_endpoint": "GET helpdesk:list?status&queue + its datatables JSON; "
                "GET helpdesk:view with 50 follow-ups",
                "tickets": args.tickets,
                "load_s": round(load_s, 1),
            }
        )
    result.update(
        {
            **(
                {
                    "mail_n": mail[0],
                    "mail_s": round(mail[1], 2),
                    "mail_per_s": round(mail[0] / mail[1], 1),
                    "mail_failures": mail[2],
                    "mail_cpu_per_s": round(mail[0] / mail[3], 1),
                    "mail_tickets_before": mail[4],
                    "mail_measures": (
                        "helpdesk.email.extract_email_metadata(smart_str(raw), queue, logger)"
                        " per message, as its pollers call it: the ticket or follow-up, its"
                        " attachments, and the notification e-mail sent to locmem; autocommit"
                    ),
                }
                if mail
                else {}
            ),
            "notes": (
                "create = helpdesk.forms.TicketForm(data, queue_choices=get_user_queues(user))"
                ".is_valid() + .save(user=staff) (CreateTicketView's path: Ticket + opening"
                " FollowUp + locmem notification e-mail), autocommit, unassigned, "
                f"{len(QUEUES)} queues. Dataset: bulk_create, 70% assigned to {AGENTS} agents, "
                "1-2 FollowUps per ticket. "
                "REST /api/tickets/ not measured: it filters by status only (no queue) and "
                "its get_queryset iterates every matching ticket before paginating."
            ),
        }
    )
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
