"""`make bench`, reports part: the supervisor dashboard at a million tickets.

    .venv/bin/python bench/reports.py [--tickets 1000000] [--requests 20]
                                      [--database sqlite|postgres|both]
                                      [--peer-tickets 100000 | --no-peer]

Target (from the issue): GET /desk/reports/ answers in <= 1 s of server time with
1,000,000 tickets. The dashboard reads the daily rollups, never the tickets (except the
open ones, for the backlog and the workload), so the bench bulk-loads what a million
tickets over two years leave behind: the ticket rows themselves (about 2.5 % still open)
and their rollup rows, generated directly (executemany on SQLite, COPY on PostgreSQL) and
never through the services, which would take hours. Every ticket gets its own random
team, organization, category, channel and agent, the worst case for the rollups (almost
one row per ticket; real desks repeat combinations far more).

The bench then derives the coarse projections the dashboard reads (DaySeries, DayFacet)
from those rollups, as `soporte rebuild_rollups` does. The dashboard is timed through
Django's test client (server time, no network), wall clock and this process's CPU time
(time.process_time), for several date ranges and filters, and one chart's CSV.
Each database runs in a process of its own (PostgreSQL in its own database,
soporte_reports_bench, dropped and created); the summary table comes last.

The peer, django-helpdesk 2.6.1 (bench/.peer, set up by bench/peer.py), has a reports
page too (helpdesk:report_index, and run_report "queuemonth"): it counts and loops over
the tickets on every request. It is loaded with --peer-tickets tickets through its own
harness (bench/peer_worker.py: with a follow-up per ticket, its bulk load takes minutes
per 100,000) and timed the same way.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import shutil
import statistics
import subprocess
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import databases
from run import log, percentile, reset_postgres, setup_django

HERE = Path(__file__).resolve().parent
PG_URL = "postgres://postgres@127.0.0.1:5432/soporte_reports_bench"
TARGET_S = 1.0
DAYS = 730
TEAMS, AGENTS, ORGS, CATEGORIES = 5, 30, 50, 20
OPEN_DAYS = 45
CHANNELS = [("email", 50), ("web", 30), ("phone", 12), ("api", 5), ("chat", 3)]
BATCH_DAYS = 20


def prepare(today: date):
    """Migrate; the people, teams, organizations and categories the rows point at."""
    from django.core.management import call_command

    from soporte.accounts.models import Organization, Role, Team, Tier, User
    from soporte.tickets.models import Category

    call_command("migrate", verbosity=0, interactive=False)
    tiers = [Tier.L1, Tier.L1, Tier.L1, Tier.L2, Tier.L3]
    teams = [Team.objects.create(name=f"Queue {i}", tier=tiers[i]) for i in range(TEAMS)]
    agents = [
        User.objects.create(
            username=f"agent{i}", role=Role.AGENT, tier=tiers[i % TEAMS], email=f"a{i}@x.org"
        )
        for i in range(AGENTS)
    ]
    orgs = [Organization.objects.create(name=f"Org {i}") for i in range(ORGS)]
    requesters = [
        User.objects.create(username=f"req{i}", organization=orgs[i], email=f"r{i}@x.org")
        for i in range(ORGS)
    ]
    categories = [Category.objects.create(name=f"Category {i}") for i in range(CATEGORIES)]
    supervisor = User.objects.create(username="boss", role=Role.SUPERVISOR, email="b@x.org")
    return {
        "teams": [t.pk for t in teams],
        "tiers": [str(t) for t in tiers],
        "agents": [a.pk for a in agents],
        "orgs": [o.pk for o in orgs],
        "requesters": [r.pk for r in requesters],
        "categories": [c.pk for c in categories],
        "supervisor": supervisor,
    }


def generate(setup: dict, total: int, today: date, seed: int = 7):
    """Per batch of days: (ticket rows, rollup rows), as value tuples for the columns
    TICKET_COLUMNS and ROLLUP_COLUMNS."""
    from soporte.reports import histogram
    from soporte.reports.models import VALUE_COLUMNS

    rng = random.Random(seed)
    index = {name: i for i, name in enumerate(VALUE_COLUMNS)}
    channels, weights = zip(*CHANNELS, strict=True)
    per_day = total / DAYS
    number = 1000
    made = 0
    start = today - timedelta(days=DAYS - 1)
    tickets: list[tuple] = []
    rollups: dict[tuple, list[int]] = {}
    for offset in range(DAYS):
        day = start + timedelta(days=offset)
        count = round(per_day * (offset + 1)) - round(per_day * offset)
        if offset == DAYS - 1:
            count = total - made
        midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
        for _n in range(count):
            made += 1
            number += 1
            agent = rng.randrange(AGENTS)
            team = agent % TEAMS
            org = int(ORGS * rng.random() ** 2)
            category = rng.randrange(CATEGORIES)
            channel = rng.choices(channels, weights)[0]
            tier = setup["tiers"][team]
            created = midnight + timedelta(seconds=rng.randrange(86_400))
            age_days = (today - day).days
            # The last weeks' tickets are partly still open (about 2.5 % of all).
            still_open = age_days < OPEN_DAYS and rng.random() < 0.8 * (1 - age_days / OPEN_DAYS)
            values = [0] * len(VALUE_COLUMNS)
            values[index["created"]] = 1
            values[index["entered"]] = 1
            fr = res = None
            if rng.random() < 0.95:
                fr = int(rng.lognormvariate(math.log(2 * 3600), 1.0))
                values[index["fr_count"]] = 1
                values[index["fr_seconds"]] = fr
                values[index[f"fr_h{histogram.bucket(fr)}"]] = 1
            if not still_open:
                res = int(rng.lognormvariate(math.log(20 * 3600), 1.2))
                values[index["resolved"]] = 1
                values[index["res_seconds"]] = res
                values[index[f"res_h{histogram.bucket(res)}"]] = 1
                values[index["fcr"]] = int(rng.random() < 0.6)
                values[index["reopened"]] = int(rng.random() < 0.08)
                values[index["sla_breached"]] = int(rng.random() < 0.1)
            values[index["escalated"]] = int(rng.random() < 0.12)
            if rng.random() < 0.4:
                values[index["time_seconds"]] = 1800
                values[index["billable_seconds"]] = 1800 if rng.random() < 0.5 else 0
            if not still_open and rng.random() < 0.25:
                score = rng.choices((1, 2, 3, 4, 5), (5, 5, 10, 35, 45))[0]
                values[index["csat_count"]] = 1
                values[index["csat_sum"]] = score
                values[index["csat_good"]] = int(score >= 4)
            key = (
                day,
                setup["teams"][team],
                setup["orgs"][org],
                setup["categories"][category],
                channel,
                tier,
                setup["agents"][agent],
            )
            found = rollups.get(key)
            if found is None:
                rollups[key] = values
            else:
                for i, v in enumerate(values):
                    found[i] += v
            tickets.append(
                (
                    number,
                    f"Bench ticket {number}",
                    "open" if still_open else "closed",
                    "medium",
                    "medium",
                    "P3",
                    channel,
                    setup["requesters"][org],
                    setup["orgs"][org],
                    setup["agents"][agent],
                    setup["teams"][team],
                    tier,
                    setup["categories"][category],
                    "" if still_open else "Done.",
                    created,
                    created + timedelta(seconds=res or 60),
                    created + timedelta(seconds=fr) if fr is not None else None,
                    None if still_open else created + timedelta(seconds=res or 60),
                    None if still_open else created + timedelta(seconds=res or 60),
                    1,
                )
            )
        if (offset + 1) % BATCH_DAYS == 0 or offset == DAYS - 1:
            yield tickets, [(*key, *values) for key, values in rollups.items()]
            tickets, rollups = [], {}


TICKET_COLUMNS = (
    "number", "subject", "status", "impact", "urgency", "priority", "channel",
    "requester_id", "organization_id", "assignee_id", "team_id", "tier", "category_id",
    "resolution", "created_at", "updated_at", "first_responded_at", "resolved_at",
    "closed_at", "version",
)  # fmt: skip


def bulk_load(setup: dict, total: int, today: date) -> dict:
    """Insert the tickets and rollup rows in one transaction, bypassing the ORM."""
    from django.core.management.color import no_style
    from django.db import connection, transaction

    from soporte.reports.models import DIMENSIONS, VALUE_COLUMNS, DailyRollup
    from soporte.tickets.models import Ticket

    postgres = connection.vendor == "postgresql"
    # Columns the bench does not generate take their field's default.
    given = set(TICKET_COLUMNS)
    extra = [f for f in Ticket._meta.concrete_fields if f.column not in given and f.column != "id"]
    extra_values = tuple(
        json.dumps(f.get_default()) if f.get_internal_type() == "JSONField" else f.get_default()
        for f in extra
    )
    ticket_columns = [*TICKET_COLUMNS, *(f.column for f in extra)]
    rollup_columns = ["day", *DIMENSIONS, *VALUE_COLUMNS]

    def as_db(value):
        # Django keeps SQLite datetimes as naive UTC text.
        if not postgres and isinstance(value, datetime):
            return str(value)[:-6]
        if not postgres and isinstance(value, date):
            return value.isoformat()
        return value

    def insert(cursor, table: str, columns: list[str], rows) -> None:
        names = ", ".join(columns)
        if postgres:
            with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" * len(columns))
            cursor.executemany(
                f"INSERT INTO {table} ({names}) VALUES ({marks})",  # noqa: S608
                ([as_db(v) for v in row] for row in rows),
            )

    started = time.perf_counter()
    done = rollup_rows = 0
    with transaction.atomic():
        connection.ensure_connection()
        raw = connection.connection.cursor()
        for tickets, rollups in generate(setup, total, today):
            insert(raw, Ticket._meta.db_table, ticket_columns, (t + extra_values for t in tickets))
            insert(raw, DailyRollup._meta.db_table, rollup_columns, rollups)
            done += len(tickets)
            rollup_rows += len(rollups)
            elapsed = time.perf_counter() - started
            log(f"  {done:,} tickets, {rollup_rows:,} rollup rows ({elapsed:.0f} s)")
        raw.close()
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE tickets_counter SET value = %s WHERE name = 'ticket'", [1000 + total]
            )
            for sql in connection.ops.sequence_reset_sql(no_style(), [Ticket, DailyRollup]):
                cursor.execute(sql)
    loaded = time.perf_counter() - started
    # The coarse projections the dashboard reads, derived from the daily rollups in SQL
    # (what `soporte rebuild_rollups` does after recomputing them).
    from soporte.reports import rollups

    with transaction.atomic():
        rollups.derive()
    derived = time.perf_counter() - started - loaded
    log(f"  projections derived ({derived:.0f} s)")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if postgres else "ANALYZE")
    return {
        "load_s": round(loaded, 1),
        "derive_s": round(derived, 1),
        "analyze_s": round(time.perf_counter() - started - loaded - derived, 1),
        "rollup_rows": rollup_rows,
        "open": Ticket.objects.filter(status="open").count(),
    }


def scenarios(setup: dict, today: date) -> list[tuple[str, dict]]:
    def since(days: int) -> str:
        return (today - timedelta(days=days - 1)).isoformat()

    team, org = setup["teams"][0], setup["orgs"][0]
    return [
        ("last 30 days (the default)", {}),
        ("last 30 days, one team", {"team": team}),
        ("last 30 days, one organization", {"organization": org}),
        ("last 30 days, one category", {"category": setup["categories"][0]}),
        ("last 30 days, tier L2", {"tier": "L2"}),
        # Two filters or more read the daily rollups (narrowed by two filters).
        ("last 30 days, team and organization", {"team": team, "organization": org}),
        ("last 90 days", {"start": since(90)}),
        ("last 365 days", {"start": since(365)}),
        ("last 365 days, one team", {"start": since(365), "team": team}),
        ("last 365 days, team and organization", {"start": since(365), "team": team,
                                                  "organization": org, "long": True}),
        ("last 730 days (all the data)", {"start": since(730)}),
        ("CSV of a chart, last 365 days", {"start": since(365), "csv": "agents"}),
    ]  # fmt: skip


def bench_dashboard(setup: dict, today: date, requests: int) -> list[dict]:
    from django.test import Client

    client = Client()
    client.force_login(setup["supervisor"])
    results = []
    for name, params in scenarios(setup, today):
        params = {"end": today.isoformat(), **params}
        count = min(requests, 5) if params.pop("long", False) else requests
        csv = params.pop("csv", None)
        url = f"/desk/reports/charts/{csv}.csv" if csv else "/desk/reports/"
        walls, cpus = [], []
        for i in range(2 + count):
            started, cpu = time.perf_counter(), time.process_time()
            response = client.get(url, params)
            wall, cpu = time.perf_counter() - started, time.process_time() - cpu
            if response.status_code != 200:
                raise RuntimeError(f"{url} {params}: HTTP {response.status_code}")
            if i >= 2:  # two warm-up requests
                walls.append(wall * 1000)
                cpus.append(cpu * 1000)
        result = {
            "scenario": name,
            "p50_ms": round(statistics.median(walls), 1),
            "p95_ms": round(percentile(walls, 95), 1),
            "cpu_p50_ms": round(statistics.median(cpus), 1),
            "cpu_p95_ms": round(percentile(cpus, 95), 1),
        }
        print(
            f"  {name:<40} wall p50 {result['p50_ms']:8.1f} ms  p95 {result['p95_ms']:8.1f} ms"
            f"   CPU p50 {result['cpu_p50_ms']:8.1f} ms  p95 {result['cpu_p95_ms']:8.1f} ms",
            flush=True,
        )
        results.append(result)
    return results


def run_one(database: str, tickets: int, requests: int) -> dict:
    tmp = tempfile.mkdtemp(prefix="soporte-bench-reports-")
    url = PG_URL if database == "postgres" else f"sqlite:///{tmp}/bench.sqlite3"
    if database == "postgres":
        reset_postgres(url)
    setup_django(url, tmp)
    from django.db import connection
    from django.utils import timezone

    print(f"\n== {connection.vendor}: {tickets:,} tickets ==", flush=True)
    today = timezone.localdate()
    setup = prepare(today)
    result = {"database": connection.vendor, "tickets": tickets}
    result.update(bulk_load(setup, tickets, today))
    print(
        f"bulk load: {tickets:,} tickets ({result['open']:,} open) and "
        f"{result['rollup_rows']:,} rollup rows in {result['load_s']} s "
        f"(+ projections {result['derive_s']} s, analyze {result['analyze_s']} s)"
    )
    print(f"GET /desk/reports/ through the test client, {requests} requests each:")
    result["dashboard"] = bench_dashboard(setup, today, requests)
    connection.close()
    shutil.rmtree(tmp, ignore_errors=True)
    return result


PEER_CODE = r"""
import json, random, sys, time, statistics
sys.path.insert(0, sys.argv[1])
import peer_worker as w
import tempfile
from pathlib import Path
tickets, requests = int(sys.argv[2]), int(sys.argv[3])
with tempfile.TemporaryDirectory(prefix="peer-reports-") as tmp:
    w.configure(Path(tmp) / "peer.sqlite3")
    from django.urls import include, path
    w.urlpatterns = [path("helpdesk/", include("helpdesk.urls"))]
    staff, agents, queues = w.setup_data()
    load_s = w.bulk_load(tickets, agents, queues, random.Random(1))
    from django.test import Client
    from django.urls import reverse
    client = Client()
    client.force_login(staff)
    out = {"tickets": tickets, "load_s": round(load_s, 1)}
    for name, url in (
        ("report_index", reverse("helpdesk:report_index")),
        ("run_report queuemonth", reverse("helpdesk:run_report", args=["queuemonth"])),
    ):
        walls, cpus = [], []
        for i in range(2 + requests):
            t0, c0 = time.perf_counter(), time.process_time()
            r = client.get(url)
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            if r.status_code != 200:
                raise SystemExit(f"{url}: HTTP {r.status_code}")
            if i >= 2:
                walls.append(wall * 1000); cpus.append(cpu * 1000)
        walls.sort(); cpus.sort()
        out[name] = {
            "p50_ms": round(statistics.median(walls), 1),
            "p95_ms": round(walls[min(len(walls) - 1, round(0.95 * len(walls)) - 1)], 1),
            "cpu_p50_ms": round(statistics.median(cpus), 1),
        }
    from django.db import connection
    connection.close()
print(json.dumps(out))
"""


def run_peer(tickets: int, requests: int) -> dict:
    """django-helpdesk's reports at `tickets` tickets, in its own virtualenv."""
    import os

    from peer import _venv_python, ensure_venv

    error = ensure_venv()
    if error:
        return {"error": error}
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DJANGO_SETTINGS_MODULE", "PYTHONPATH", "PYTHONHOME")
    }
    command = [str(_venv_python()), "-c", PEER_CODE, str(HERE), str(tickets), str(requests)]
    proc = subprocess.run(command, stdout=subprocess.PIPE, text=True, env=env, check=False)
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    if proc.returncode or not lines:
        return {"error": f"peer exited with status {proc.returncode}"}
    return json.loads(lines[-1])


def summary(results: list[dict], peer: dict | None) -> None:
    print("\nReports benchmark: GET /desk/reports/ (server time, test client)")
    print(f"{'database':<11}{'scenario':<42}{'p50 ms':>9}{'p95 ms':>9}{'CPU p50':>9}  target")
    for r in results:
        if "error" in r:
            print(f"{r['database']:<11}(failed) {r['error']}")
            continue
        for s in r["dashboard"]:
            verdict = "ok" if s["p95_ms"] <= TARGET_S * 1000 else "MISSED"
            print(
                f"{r['database']:<11}{s['scenario']:<42}{s['p50_ms']:>9.1f}{s['p95_ms']:>9.1f}"
                f"{s['cpu_p50_ms']:>9.1f}  <= {TARGET_S * 1000:.0f} ms p95: {verdict}"
            )
        print(
            f"{'':<11}({r['tickets']:,} tickets, {r['rollup_rows']:,} rollup rows, "
            f"loaded in {r['load_s']} s)"
        )
    if peer is None:
        return
    if "error" in peer:
        print(f"peer django-helpdesk 2.6.1: {peer['error']}")
        return
    for name in ("report_index", "run_report queuemonth"):
        p = peer[name]
        print(
            f"{'peer':<11}{name + ' (' + format(peer['tickets'], ',') + ' t.)':<42}"
            f"{p['p50_ms']:>9.1f}{p['p95_ms']:>9.1f}{p['cpu_p50_ms']:>9.1f}  (sqlite)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"])
    parser.add_argument("--peer-tickets", type=int, default=100_000)
    parser.add_argument("--no-peer", action="store_true")
    parser.add_argument("--result-file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.result_file:
        result = run_one(args.database, args.tickets, args.requests)
        Path(args.result_file).write_text(json.dumps(result))
        return

    results = databases.measure(
        __file__,
        "reports",
        args.database,
        ["--tickets", str(args.tickets), "--requests", str(args.requests)],
    )
    peer = None
    if not args.no_peer:
        log(f"peer: django-helpdesk 2.6.1 with {args.peer_tickets:,} tickets")
        peer = run_peer(args.peer_tickets, args.requests)
    summary(results, peer)
    databases.save("reports", {"ours": results, "peer": peer}, results)


if __name__ == "__main__":
    main()
