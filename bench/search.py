"""Full-text search speed: full reindex rate and search latency, SQLite and PostgreSQL.

Loads N ticket messages of varied bilingual (Spanish/English) help desk text with bulk
inserts (tickets of 1 to 8 messages, a fifth of them internal notes), then times:
  1. a full reindex (`soporte.search.services.reindex`, which writes through
     `index_documents`): documents per second, target >= 5,000/s;
  2. 200 varied searches (`soporte.search.queries.search_tickets`, ranked, scoped by
     policy, 20 results with snippets) as a supervisor, an agent and requesters:
     p50 / p95 / max in ms, target p95 <= 50 ms; timed after 20 other searches per
     role (a server's caches after minutes of use);
  3. the peer, django-helpdesk 2.6.1 (bench/.peer, set up by bench/peer.py), in the same
     run: its search is the staff ticket list's keyword filter (the DataTables JSON the
     list page fetches, `search_string` in its base64 query: icontains on the title,
     description, resolution and a few more columns, no ranking), over as many tickets
     as ours hold, each with its opening follow-up (and a closing one when closed), on
     SQLite (the peer worker's only database); the same number of searches, from the
     peer's own vocabulary so they match its data.
Search times are wall time per search; the CPU time of each search is shown beside them
(this process's, plus its PostgreSQL backend's when the server runs on this machine, read
from /proc/PID/schedstat), since the wall time moves with other load on the machine. So
does the reindex's: its CPU time counts every backend of the database it opened.
SQLite runs on a file under a temporary directory; PostgreSQL (database
soporte_bench_search, dropped and created) when the server answers. Each database runs
in its own process.

    python bench/search.py [--messages 200000] [--queries 200] [--only sqlite|postgres]
                           [--no-peer] [--peer-tickets N]
    python bench/search.py --messages 1000000          # the full target
    python bench/search.py --postgres postgres://postgres@127.0.0.1:5432/soporte_bench_search
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/soporte_bench_search"
ORGANIZATIONS = 40
REQUESTERS = 2000
TEAMS = 6
AGENTS = 30
# Untimed searches per role before the timed ones (bench_search).
WARM_UP = 20


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def percentile(samples: list[float], pct: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return ordered[index]


# -- text -----------------------------------------------------------------------------

# (English words, Spanish words) per topic: devices, symptoms and the like.
TOPICS = [
    (
        "printer printers toner paper jam tray prints blank pages driver queue spooler",
        "impresora impresoras tóner papel atasco bandeja imprime páginas blanco controlador cola",
    ),
    (
        "vpn tunnel disconnects connection drops token certificate gateway remote",
        "vpn túnel desconecta conexión cae token certificado pasarela remoto",
    ),
    (
        "password expired locked account reset login sign mfa authenticator",
        "contraseña caducada bloqueada cuenta restablecer acceso iniciar sesión autenticador",
    ),
    (
        "email outlook mailbox inbox calendar invitation attachment signature sync",
        "correo outlook buzón bandeja calendario invitación adjunto firma sincroniza",
    ),
    (
        "laptop battery charger screen keyboard touchpad fan overheating docking",
        "portátil batería cargador pantalla teclado touchpad ventilador sobrecalienta base",
    ),
    (
        "network wifi cable switch router dhcp dns latency packet loss",
        "red wifi cable switch router dhcp dns latencia paquetes pérdida",
    ),
    (
        "monitor display flickers resolution hdmi adapter projector meeting room",
        "monitor pantalla parpadea resolución hdmi adaptador proyector sala reuniones",
    ),
    (
        "invoice erp sap report export excel macro spreadsheet formula",
        "factura erp sap informe exportar excel macro hoja fórmula",
    ),
    (
        "phone mobile iphone android app notifications voicemail headset",
        "teléfono móvil iphone android aplicación notificaciones buzón voz auriculares",
    ),
    (
        "software install license update upgrade version crash freezes error",
        "software instalar licencia actualización versión bloquea congela error",
    ),
    (
        "backup restore files folder share permissions drive onedrive sharepoint",
        "copia restaurar archivos carpeta compartida permisos unidad onedrive sharepoint",
    ),
    (
        "badge access door camera alarm building parking visitor",
        "tarjeta acceso puerta cámara alarma edificio aparcamiento visitante",
    ),
]
PRODUCTS = (
    "Windows 11, macOS Sonoma, Ubuntu 22.04, Teams, Zoom, Chrome, Firefox, SAP GUI, "
    "HP LaserJet M607, Canon iR-ADV C5535, Dell Latitude 7420, ThinkPad T14, GlobalProtect, "
    "FortiClient, Office 365, OneDrive, Jira, Salesforce, AutoCAD, Photoshop"
).split(", ")
PLACES_EN = "floor 2|floor 3|room 12|the warehouse|the Madrid office|reception|the lab".split("|")
PLACES_ES = "piso 2|planta 3|sala 12|el almacén|la oficina de Sevilla|recepción|el taller".split(
    "|"
)
NAMES = "María José Lucía Pedro Carmen Javier Ana Luis Sofía Diego Paula Marco".split()
EN_SENTENCES = [
    "Since this morning the {a} on {place} {b} and nobody can work.",
    "Hi, my {a} keeps showing an error {code} when I open {product}.",
    "The {a} {b} again after the last update of {product}.",
    "Could you check the {a}? It {b} every few minutes.",
    "I already restarted the {a} twice but it still {b}.",
    "{name} from accounting says the {a} {b} too.",
    "We need this fixed before the audit on Friday.",
    "Thanks for the quick answer, it works now.",
    "Any news? The {a} is still not working.",
    "Attached a screenshot of the {a} with error {code}.",
]
ES_SENTENCES = [
    "Desde esta mañana la {a} de {place} {b} y nadie puede trabajar.",
    "Hola, mi {a} muestra el error {code} al abrir {product}.",
    "La {a} {b} otra vez después de la última actualización de {product}.",
    "¿Pueden revisar la {a}? Se {b} cada pocos minutos.",
    "Ya reinicié la {a} dos veces pero sigue igual, {b}.",
    "{name} de contabilidad dice que la {a} también {b}.",
    "Necesitamos resolverlo antes de la auditoría del viernes.",
    "Gracias por la respuesta rápida, ya funciona.",
    "¿Alguna novedad? La {a} sigue sin funcionar.",
    "Adjunto captura de la {a} con el error {code}.",
]
NOTES = [
    "Escalado al proveedor, caso {code}. Driver {product} conocido.",
    "Known issue with {product}; workaround: clear the {a} cache.",
    "Llamé a {name}, dice que la {a} {b} solo por la tarde.",
    "Checked the logs: {code} repeated {n} times, {a} {b}.",
]


class TextMaker:
    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.topics = [(en.split(), es.split()) for en, es in TOPICS]

    def _fill(self, template: str, words: list[str], places: list[str]) -> str:
        rng = self.rng
        return template.format(
            a=rng.choice(words),
            b=rng.choice(words),
            place=rng.choice(places),
            product=rng.choice(PRODUCTS),
            name=rng.choice(NAMES),
            code=f"0x{rng.randrange(16**6):06X}" if rng.random() < 0.5 else rng.randrange(9999),
            n=rng.randrange(2, 500),
        )

    def message(self, topic: int, spanish: bool, note: bool = False) -> str:
        rng = self.rng
        en, es = self.topics[topic]
        words = es if spanish else en
        places = PLACES_ES if spanish else PLACES_EN
        if note:
            return self._fill(rng.choice(NOTES), words, places)
        pool = ES_SENTENCES if spanish else EN_SENTENCES
        count = rng.choice((1, 2, 2, 3, 3, 4, 6))
        return " ".join(self._fill(rng.choice(pool), words, places) for _ in range(count))

    def subject(self, topic: int, spanish: bool) -> str:
        rng = self.rng
        en, es = self.topics[topic]
        words = es if spanish else en
        return f"{rng.choice(words).capitalize()} {rng.choice(words)} - {rng.choice(PRODUCTS)}"


def queries(count: int, seed: int = 7) -> list[str]:
    """Searches people type: one to three words, both languages, accents or not, codes."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        en, es = TOPICS[rng.randrange(len(TOPICS))]
        words = (es if i % 2 else en).split()
        kind = i % 5
        if kind == 0:
            text = rng.choice(words)
        elif kind == 1:
            text = " ".join(rng.sample(words, 2))
        elif kind == 2:
            text = " ".join(rng.sample(words, 3))
        elif kind == 3:
            text = f"{rng.choice(words)} {rng.choice(PRODUCTS).split()[0]}"
        else:
            text = f"error {rng.choice(words)}"
        if rng.random() < 0.2:  # typed without accents, or shouting
            text = text.upper() if rng.random() < 0.5 else text.replace("ñ", "n").replace("ó", "o")
        out.append(text)
    return out


# -- one database, in its own process ---------------------------------------------------


def setup_django(database_url: str, var_dir: str) -> None:
    os.environ["SOPORTE_DATABASE_URL"] = database_url
    os.environ["SOPORTE_VAR_DIR"] = var_dir
    os.environ["SOPORTE_SECRET_KEY"] = "bench-only"
    os.environ["DJANGO_SETTINGS_MODULE"] = "soporte.settings"
    import django

    django.setup()
    import logging

    logging.disable(logging.WARNING)


def reset_postgres(database_url: str) -> None:
    from urllib.parse import urlsplit

    import psycopg

    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    admin = database_url.replace(parts.path, "/postgres", 1)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def postgres_answers(database_url: str) -> bool:
    from urllib.parse import urlsplit

    try:
        import psycopg

        parts = urlsplit(database_url)
        admin = database_url.replace(parts.path, "/postgres", 1)
        psycopg.connect(admin, connect_timeout=3).close()
        return True
    except Exception:  # noqa: BLE001 - any failure means "not reachable"
        return False


def people():
    """Organizations, requesters (some trusted with their organization's tickets),
    teams and agents, in bulk."""
    from soporte.accounts.models import Organization, Role, Team, Tier, User

    orgs = Organization.objects.bulk_create(
        Organization(name=f"Company {i}") for i in range(ORGANIZATIONS)
    )
    requesters = User.objects.bulk_create(
        User(
            username=f"user{i}",
            email=f"user{i}@example.org",
            password="!",
            organization=orgs[i % ORGANIZATIONS],
            sees_organization_tickets=i < ORGANIZATIONS,  # one lead per organization
        )
        for i in range(REQUESTERS)
    )
    teams = Team.objects.bulk_create(Team(name=f"Queue {i}", tier=Tier.L1) for i in range(TEAMS))
    agents = User.objects.bulk_create(
        User(username=f"agent{i}", email=f"agent{i}@x.org", password="!", role=Role.AGENT)
        for i in range(AGENTS)
    )
    for i, agent in enumerate(agents):
        teams[i % TEAMS].members.add(agent)
    supervisor = User.objects.create(
        username="boss", email="boss@x.org", password="!", role=Role.SUPERVISOR
    )
    return requesters, teams, agents, supervisor


def load(total: int, requesters, teams, agents) -> dict:
    """Tickets and `total` messages with bulk inserts (not indexed: reindex does that)."""
    from django.db import connection, transaction
    from django.utils import timezone

    from soporte.tickets.models import Message, MessageKind, Ticket

    rng = random.Random(3)
    maker = TextMaker(4)
    now = timezone.now()
    number = 1000
    done = 0
    start = time.perf_counter()
    while done < total:
        tickets, conversations = [], []
        while done < total and len(tickets) < 2000:
            topic, spanish = rng.randrange(len(TOPICS)), rng.random() < 0.5
            requester = rng.choice(requesters)
            created = now - timedelta(minutes=rng.randrange(2 * 365 * 24 * 60))
            number += 1
            tickets.append(
                Ticket(
                    number=number,
                    subject=maker.subject(topic, spanish),
                    status=rng.choice(["new", "open", "resolved", "closed"]),
                    channel="email",
                    requester=requester,
                    organization_id=requester.organization_id,
                    team=rng.choice(teams) if rng.random() < 0.9 else None,
                    created_at=created,
                    updated_at=created,
                )
            )
            size = min(total - done, rng.choice((1, 2, 3, 4, 4, 5, 6, 8)))
            conversations.append((topic, spanish, requester, size))
            done += size
        with transaction.atomic():
            Ticket.objects.bulk_create(tickets)
            messages = []
            for ticket, (topic, spanish, requester, size) in zip(
                tickets, conversations, strict=True
            ):
                for i in range(size):
                    note = i > 0 and rng.random() < 0.2
                    agent = rng.choice(agents)
                    messages.append(
                        Message(
                            ticket=ticket,
                            kind=MessageKind.NOTE if note else MessageKind.REPLY,
                            internal=note,
                            author=requester if i == 0 or (i % 2 == 0 and not note) else agent,
                            channel="email",
                            body_text=maker.message(topic, spanish, note),
                        )
                    )
            Message.objects.bulk_create(messages, batch_size=5000)
        log(f"  loaded {done:,} messages")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE tickets_counter SET value = %s WHERE name = 'ticket'", [number])
        # As autovacuum would leave them: hint bits set, visibility map built.
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    return {
        "messages": total,
        "tickets": Ticket.objects.count(),
        "load_s": round(time.perf_counter() - start, 1),
    }


def load_articles(count: int) -> None:
    """`count` knowledge base articles' documents, as kb/indexing.py writes them: they
    share the index with the tickets' (a ticket search must skip them)."""
    from django.utils import timezone

    from soporte.search.models import Document, Kind
    from soporte.search.services import index_documents

    rng = random.Random(5)
    maker = TextMaker(6)
    now = timezone.now()

    def documents():
        for i in range(1, count + 1):
            topic, spanish = rng.randrange(len(TOPICS)), rng.random() < 0.5
            body = " ".join(maker.message(topic, spanish) for _ in range(4))
            yield Document(
                kind=Kind.ARTICLE,
                object_id=i,
                title=maker.subject(topic, spanish),
                body=body,
                updated_at=now,
            )

    index_documents(documents())


def bench_reindex() -> dict:
    from soporte.search.services import reindex

    last = [0.0]
    backends = ServerCpu()

    def progress(done: int, expected: int) -> None:
        backends.sample()  # reindex's worker connections, while they are open
        now = time.perf_counter()
        if now - last[0] > 5:
            last[0] = now
            log(f"  reindexed {done:,}/{expected:,}")

    start, start_cpu = time.perf_counter(), time.process_time()
    start_wait = pid_cpu(os.getpid(), 1)
    count = reindex(progress=progress)
    elapsed = time.perf_counter() - start
    backends.sample()
    # On a shared machine the wall time mostly measures the others' load: the CPU time
    # of this process and of its PostgreSQL backends (when local) is shown beside it.
    cpu = time.process_time() - start_cpu + backends.total()
    # Time runnable but waiting for a CPU, this process's and its backends': on a busy
    # machine it is most of the wall time (a parallel reindex's waits overlap).
    waited = pid_cpu(os.getpid(), 1) - start_wait + backends.waited()
    return {
        "documents": count,
        "reindex_s": round(elapsed, 1),
        "reindex_per_s": round(count / elapsed),
        "reindex_cpu_s": round(cpu, 1),
        "reindex_per_cpu_s": round(count / cpu),
        "reindex_cpu_wait_s": round(waited, 1),
    }


def pid_cpu(pid: int, field: int = 0) -> float:
    """CPU seconds a local process has run so far (nanosecond resolution, unlike
    /proc/PID/stat's 10 ms ticks), or with field 1 the seconds it has waited, runnable,
    for a CPU; 0 when it is not on this machine."""
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[field]) / 1e9
    except (OSError, ValueError, IndexError):
        return 0.0


def backend_pid() -> int | None:
    """This connection's PostgreSQL backend process (None for SQLite, whose work is
    this process's)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


class ServerCpu:
    """The CPU time of every PostgreSQL backend connected to this database (a reindex's
    worker threads open their own), sampled now and then: a backend's time counts up to
    its last sample, so a worker's last chunk may be missed (under 1% of a 1M reindex)."""

    def __init__(self):
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.first_wait: dict[int, float] = {}
        self.last_wait: dict[int, float] = {}
        pid = backend_pid()
        if pid is not None:
            self.first[pid] = self.last[pid] = pid_cpu(pid)
            self.first_wait[pid] = self.last_wait[pid] = pid_cpu(pid, 1)

    def sample(self) -> None:
        from django.db import connection

        if connection.vendor != "postgresql":
            return
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                " AND backend_type = 'client backend'"
            )
            pids = [row[0] for row in cursor]
        for pid in pids:
            self.first.setdefault(pid, 0.0)  # opened since: all of its time is ours
            self.last[pid] = max(self.last.get(pid, 0.0), pid_cpu(pid))
            self.first_wait.setdefault(pid, 0.0)
            self.last_wait[pid] = max(self.last_wait.get(pid, 0.0), pid_cpu(pid, 1))

    def total(self) -> float:
        return sum(self.last[pid] - self.first[pid] for pid in self.last)

    def waited(self) -> float:
        """Seconds these backends waited, runnable, for a CPU (other load)."""
        return sum(self.last_wait[pid] - self.first_wait[pid] for pid in self.last_wait)


def bench_search(count: int, requesters, agents, supervisor) -> dict:
    from soporte.search.queries import search_tickets

    texts = queries(count)
    # Who searches, in turn: a supervisor (everything), an agent (one team's queue and
    # the unassigned), an organization's lead (its tickets), a plain requester (theirs).
    users = [supervisor, agents[0], requesters[0], requesters[ORGANIZATIONS + 1]]
    roles = ["supervisor", "agent", "org lead", "requester"]
    # Warm-up: what a server has in its caches after minutes of use (pages of the index
    # and of each kind of person's rows, the words' tsqueries, statistics), for every
    # role measured: WARM_UP other searches each, not timed.
    for user in users:
        for text in queries(WARM_UP, seed=99):
            search_tickets(user, text)
    samples: dict[str, list[float]] = {role: [] for role in roles}
    role_cpu: dict[str, list[float]] = {role: [] for role in roles}
    cpu: list[float] = []
    hits = []
    server = backend_pid()

    def used() -> float:  # CPU seconds of this process and of its PostgreSQL backend
        return time.process_time() + (pid_cpu(server) if server is not None else 0.0)

    for i, text in enumerate(texts):
        user = users[i % len(users)]
        start, start_cpu = time.perf_counter(), used()
        page = search_tickets(user, text, limit=20)
        samples[roles[i % len(users)]].append((time.perf_counter() - start) * 1000)
        cpu.append((used() - start_cpu) * 1000)
        role_cpu[roles[i % len(users)]].append(cpu[-1])
        hits.append(len(page.items))
    every = [ms for values in samples.values() for ms in values]
    result = {
        "queries": len(every),
        "search_p50_ms": round(statistics.median(every), 2),
        "search_p95_ms": round(percentile(every, 95), 2),
        "search_max_ms": round(max(every), 2),
        "search_cpu_p95_ms": round(percentile(cpu, 95), 2),
        "mean_results": round(statistics.mean(hits), 1),
        "empty_results": sum(1 for count in hits if not count),
    }
    for role, values in samples.items():
        result[f"p95_{role.replace(' ', '_')}_ms"] = round(percentile(values, 95), 2)
        result[f"cpu_p95_{role.replace(' ', '_')}_ms"] = round(percentile(role_cpu[role], 95), 2)
    return result


def child(vendor: str, args) -> dict:
    tmp = tempfile.mkdtemp(prefix="soporte-search-bench-")
    try:
        return run(vendor, args, tmp)
    finally:
        if args.keep:
            log(f"{vendor}: kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def postgres_exists(database_url: str) -> bool:
    from urllib.parse import urlsplit

    import psycopg

    parts = urlsplit(database_url)
    admin = database_url.replace(parts.path, "/postgres", 1)
    with psycopg.connect(admin, autocommit=True) as conn:
        found = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [parts.path.lstrip("/")]
        ).fetchone()
    return found is not None


def loaded_people():
    """The people of a previous run's data (see people())."""
    from soporte.accounts.models import User

    requesters = list(User.objects.filter(username__startswith="user").order_by("id"))
    agents = list(User.objects.filter(username__startswith="agent").order_by("id"))
    return requesters, agents, User.objects.get(username="boss")


def run(vendor: str, args, tmp: str) -> dict:
    # With --reuse, the data of a previous run with as many messages is searched again
    # rather than built again (a 1M load takes minutes).
    if vendor == "postgres":
        database_url = args.postgres
        if not (args.reuse and postgres_exists(database_url)):
            reset_postgres(database_url)
    elif args.reuse:
        Path(args.reuse).mkdir(parents=True, exist_ok=True)
        database_url = f"sqlite:///{Path(args.reuse).resolve()}/search-{args.messages}.sqlite3"
    else:
        database_url = f"sqlite:///{tmp}/bench.sqlite3"
    setup_django(database_url, tmp)
    from django.core.management import call_command
    from django.db import connection

    from soporte.search.models import Document
    from soporte.tickets.models import Message, Ticket

    call_command("migrate", verbosity=0, interactive=False)
    result: dict = {"database": connection.vendor}
    if args.reuse and Message.objects.count() == args.messages:
        log(f"{vendor}: reusing {args.messages:,} messages ({database_url})")
        requesters, agents, supervisor = loaded_people()
        result.update({"messages": args.messages, "tickets": Ticket.objects.count()})
        if not Document.objects.filter(kind="article").exists():
            # A previous run stopped between loading the messages and the articles.
            log(f"{vendor}: {args.articles:,} articles")
            load_articles(args.articles)
        reindex = not args.no_reindex or not Document.objects.exclude(kind="article").exists()
    else:
        if args.reuse and Message.objects.exists():
            raise SystemExit(f"{database_url} holds another data set: remove it first")
        requesters, teams, agents, supervisor = people()
        log(f"{vendor}: loading {args.messages:,} messages")
        result.update(load(args.messages, requesters, teams, agents))
        log(f"{vendor}: {args.articles:,} articles")
        load_articles(args.articles)
        reindex = True
    if reindex:
        log(f"{vendor}: full reindex")
        result.update(bench_reindex())
    else:
        result["documents"] = Document.objects.count()
    log(f"{vendor}: {args.queries} searches")
    result.update(bench_search(args.queries, requesters, agents, supervisor))
    return result


def report(results: list[dict]) -> None:
    rows = [
        ("messages", "messages", ""),
        ("tickets", "tickets", ""),
        ("documents indexed", "documents", ""),
        ("bulk load of rows (s)", "load_s", ""),
        ("full reindex (s)", "reindex_s", ""),
        ("full reindex (documents/s)", "reindex_per_s", ">= 5,000"),
        ("full reindex, CPU (s)", "reindex_cpu_s", ""),
        ("full reindex (documents/CPU s)", "reindex_per_cpu_s", ""),
        ("full reindex, waiting for a CPU (s)", "reindex_cpu_wait_s", ""),
        ("search p50 (ms)", "search_p50_ms", ""),
        ("search p95 (ms)", "search_p95_ms", "<= 50"),
        ("search max (ms)", "search_max_ms", ""),
        ("search p95, CPU incl. server (ms)", "search_cpu_p95_ms", ""),
        ("  p95 as supervisor (ms)", "p95_supervisor_ms", ""),
        ("  p95 as agent (ms)", "p95_agent_ms", ""),
        ("  p95 as organization lead (ms)", "p95_org_lead_ms", ""),
        ("  p95 as requester (ms)", "p95_requester_ms", ""),
        ("  CPU p95 as supervisor (ms)", "cpu_p95_supervisor_ms", ""),
        ("  CPU p95 as agent (ms)", "cpu_p95_agent_ms", ""),
        ("  CPU p95 as organization lead (ms)", "cpu_p95_org_lead_ms", ""),
        ("  CPU p95 as requester (ms)", "cpu_p95_requester_ms", ""),
        ("mean results per search", "mean_results", ""),
        ("searches without results", "empty_results", ""),
    ]
    print()
    print(f"{'measure':<36}" + "".join(f"{r['database']:>16}" for r in results) + "  target")
    for label, key, target in rows:
        values = "".join(
            f"{r[key]:>16,}" if isinstance(r.get(key), int) else f"{r.get(key, '-'):>16}"
            for r in results
        )
        print(f"{label:<36}{values}  {target}")
    print(f"searches timed after a warm-up of {WARM_UP} other searches per role")
    for r in results:
        if r.get("note"):
            print(f"{r['database']}: {r['note']}")
    # How many times slower the peer's search is than ours, in the same run.
    peer = next((r for r in results if r["database"] == PEER_NAME and "search_p95_ms" in r), None)
    for r in results:
        if peer is not None and r is not peer and r.get("search_p95_ms"):
            wall = peer["search_p95_ms"] / r["search_p95_ms"]
            cpu = peer["search_cpu_p95_ms"] / r["search_cpu_p95_ms"]
            print(f"{PEER_NAME} / {r['database']}: p95 {wall:,.0f}x, CPU p95 {cpu:,.0f}x")


# -- the peer: django-helpdesk 2.6.1 -------------------------------------------------------

PEER_NAME = "helpdesk-sqlite"


def run_peer(tickets: int, count: int) -> dict:
    """Run peer_child under the peer's own interpreter (bench/.peer); its result, or a
    row saying why it is missing."""
    from peer import _venv_python, ensure_venv

    error = ensure_venv()
    if error:
        return {"database": PEER_NAME, "note": f"not measured: {error}"}
    # Our Django settings must not leak into the peer's interpreter.
    hidden = ("DJANGO_SETTINGS_MODULE", "PYTHONPATH", "PYTHONHOME")
    env = {k: v for k, v in os.environ.items() if k not in hidden}
    command = [str(_venv_python()), __file__, "--peer-child", "--peer-tickets", str(tickets),
               "--queries", str(count)]  # fmt: skip
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True, env=env, check=False)
    lines = done.stdout.strip().splitlines()
    if done.returncode or not lines:
        return {"database": PEER_NAME, "note": f"not measured: exited {done.returncode}"}
    return json.loads(lines[-1])


def peer_queries(count: int, words: list[str], seed: int = 7) -> list[str]:
    """Searches shaped like ours (one word, two, a word and a code...) in the peer's
    vocabulary: its filter looks for the whole text as one substring."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        kind = i % 5
        if kind in (0, 3):
            text = rng.choice(words)
        elif kind in (1, 2):
            text = " ".join(rng.sample(words, 2))
        else:
            text = f"error {rng.choice(words)}"
        out.append(text.upper() if rng.random() < 0.1 else text)
    return out


def peer_child(tickets: int, count: int) -> dict:
    """In the peer's interpreter: load `tickets` tickets with their follow-ups, then time
    `count` keyword searches through the staff ticket list's JSON endpoint, as a staff
    member, first page (20 rows, newest first)."""
    sys.path.insert(0, str(HERE))
    tmp = tempfile.mkdtemp(prefix="soporte-search-peer-")
    try:
        import peer_worker as pw

        pw.configure(Path(tmp) / "peer.sqlite3")
        from django.db import connection
        from django.test import Client
        from django.urls import include, path, reverse
        from helpdesk.models import FollowUp
        from helpdesk.query import query_to_base64

        # peer_worker doubles as the peer's URLconf, as in its own main().
        pw.urlpatterns = [path("helpdesk/", include("helpdesk.urls"))]
        staff, agents, queues = pw.setup_data()
        rng = random.Random(1)
        started = time.perf_counter()
        pw.bulk_load(tickets, agents, queues, rng)
        load_s = time.perf_counter() - started
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        client = Client()
        client.force_login(staff)

        def search(text: str) -> tuple[float, float, int]:
            query = {"filtering": {}, "filtering_null": {}, "sorting": "created",
                     "sortreverse": "on", "search_string": text}  # fmt: skip
            url = reverse("helpdesk:datatables_ticket_list", args=[query_to_base64(query)])
            params = {"draw": "1", "start": "0", "length": "20", "search[value]": "",
                      "order[0][column]": "5", "order[0][dir]": "desc"}  # fmt: skip
            start, start_cpu = time.perf_counter(), time.process_time()
            response = client.get(url, params)
            wall = (time.perf_counter() - start) * 1000
            cpu = (time.process_time() - start_cpu) * 1000
            if response.status_code != 200:
                raise RuntimeError(f"{url} answered {response.status_code}")
            return wall, cpu, len(response.json()["data"])

        for text in peer_queries(10, pw.WORDS, seed=99):  # warm-up
            search(text)
        walls, cpus, hits = [], [], []
        for text in peer_queries(count, pw.WORDS):
            wall, cpu, found = search(text)
            walls.append(wall)
            cpus.append(cpu)
            hits.append(found)
        from helpdesk.models import Ticket

        return {
            "database": PEER_NAME,
            "tickets": Ticket.objects.count(),
            "messages": FollowUp.objects.count(),
            "load_s": round(load_s, 1),
            "queries": len(walls),
            "search_p50_ms": round(statistics.median(walls), 2),
            "search_p95_ms": round(percentile(walls, 95), 2),
            "search_max_ms": round(max(walls), 2),
            "search_cpu_p95_ms": round(percentile(cpus, 95), 2),
            "mean_results": round(statistics.mean(hits), 1),
            "empty_results": sum(1 for n in hits if not n),
            "note": "django-helpdesk 2.6.1, staff ticket list keyword filter (icontains, "
            "unranked, no snippets), all tickets as a superuser; 'messages' are its "
            "follow-ups",
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--only", choices=["sqlite", "postgres"])
    parser.add_argument("--postgres", default=POSTGRES_URL)
    parser.add_argument("--child", choices=["sqlite", "postgres"], help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the SQLite file afterwards")
    parser.add_argument(
        "--reuse",
        metavar="DIR",
        help="keep the data between runs (the SQLite file in DIR, the PostgreSQL database "
        "as it is) and search it again when it holds as many messages",
    )
    parser.add_argument(
        "--no-reindex", action="store_true", help="with --reuse: search the existing index"
    )
    parser.add_argument("--no-peer", action="store_true", help="skip django-helpdesk")
    parser.add_argument(
        "--peer-tickets", type=int, help="the peer's tickets (default: as many as ours)"
    )
    parser.add_argument("--peer-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.peer_child:
        print(json.dumps(peer_child(args.peer_tickets or 1000, args.queries)))
        return
    if args.child:
        print(json.dumps(child(args.child, args)))
        return
    vendors = [args.only] if args.only else ["sqlite", "postgres"]
    if "postgres" in vendors and not postgres_answers(args.postgres):
        log("postgres: not reachable, skipped")
        vendors.remove("postgres")
    results = []
    for vendor in vendors:
        command = [
            sys.executable,
            __file__,
            "--child",
            vendor,
            "--messages",
            str(args.messages),
            "--queries",
            str(args.queries),
            "--articles",
            str(args.articles),
            "--postgres",
            args.postgres,
            *(["--keep"] if args.keep else []),
            *(["--reuse", args.reuse] if args.reuse else []),
            *(["--no-reindex"] if args.no_reindex else []),
        ]
        done = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=True)
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    if not args.no_peer:
        tickets = args.peer_tickets or max((r.get("tickets", 0) for r in results), default=0)
        log(f"peer: django-helpdesk 2.6.1, {tickets:,} tickets")
        results.append(run_peer(tickets or 1000, args.queries))
    if args.json:
        print(json.dumps(results, indent=2))
    report(results)


if __name__ == "__main__":
    main()
