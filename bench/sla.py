"""`make bench`, SLA part: recomputing the targets of the open tickets, and the breach scan
among a million tickets.

    .venv/bin/python bench/sla.py [--tickets 1000000] [--open 100000]
                                  [--database sqlite|postgres|both]

Targets (from the issue): recompute_open() over 100,000 open tickets in <= 10 s; the breach
scan (due_clocks) reads the next_check_at index and its p95 is <= 50 ms with 1,000,000
tickets. The default is both databases when PostgreSQL answers on 127.0.0.1:5432 (its own
database, soporte_bench_sla, dropped and created), else SQLite in a temporary directory.

Tickets and their clocks are bulk-loaded (executemany on SQLite, COPY on PostgreSQL), never
through the services, which would take hours. Each open ticket's clock holds the due times
the engine computes for it, with its warnings and breaches recorded as if the breach watch
had last run WATCH_LAG ago; the scan's `now` then varies from that pass until a few hundred
clocks are due. Each database runs in a process of its own; the summary table comes last.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import tempfile
import time
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from operator import itemgetter
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import databases
from run import log, percentile, reset_postgres, setup_django

HERE = Path(__file__).resolve().parent
PG_URL = "postgres://postgres@127.0.0.1:5432/soporte_bench_sla"
RECOMPUTE_TARGET_S = 10.0
SCAN_P95_TARGET_MS = 50.0
SCAN_RUNS = 200
# The breach watch runs every minute; the clocks are loaded as if it had stopped this long
# ago, so what came due since is waiting for it.
WATCH_LAG = timedelta(minutes=10)
# The scan's `now` varies until this many clocks are due.
SCAN_DUE = 300
BATCH = 50_000
YEARS_2 = 2 * 365 * 86_400

OPEN_STATUSES = [("new", 30), ("open", 45), ("pending_customer", 18), ("pending_third_party", 7)]
PRIORITIES = [("P1", 5), ("P2", 20), ("P3", 50), ("P4", 25)]
TIERS = [("L1", 80), ("L2", 15), ("L3", 5)]
# name, priority, business calendar (else around the clock), first response, next
# response, resolution, L1, L2, L3 minutes, on breach.
POLICIES = [
    ("Critical, around the clock", "P1", False, 30, 60, 240, 60, 120, 240, "escalate"),
    ("High", "P2", True, 120, 240, 960, 240, 480, None, "notify"),
    ("Medium", "P3", True, 480, 480, 2400, 960, None, None, "notify"),
    ("Low", "P4", True, 960, 960, 4800, None, None, None, "notify"),
]
YEARLY_HOLIDAYS = [(1, 1), (1, 6), (5, 1), (8, 15), (10, 12), (11, 1), (12, 6), (12, 8), (12, 25)]
HOLIDAYS = [date(2025, 4, 17), date(2025, 4, 18), date(2026, 4, 2), date(2026, 4, 3)]
WORDS = "invoice refund login password printer email vpn account error crash slow".split()


def prepare() -> SimpleNamespace:
    """Migrate; an admin, a requester, a team per tier, the Madrid calendar, the policies."""
    from django.core.management import call_command

    from soporte.accounts import services as accounts
    from soporte.accounts.models import Organization, Role, Team, Tier
    from soporte.sla import services
    from soporte.sla.services import HolidayIn, Shift

    call_command("migrate", verbosity=0, interactive=False)
    admin = accounts.create_user(
        acting_user=None, username="admin", role=Role.ADMIN, email="admin@example.org"
    )
    org = Organization.objects.create(name="Acme")
    requester = accounts.create_user(
        acting_user=None, username="requester", organization=org, email="r@example.org"
    )
    teams = {tier: Team.objects.create(name=f"Service desk {tier}", tier=tier) for tier in Tier}
    calendar = services.save_calendar(
        acting_user=admin,
        name="Madrid office",
        time_zone="Europe/Madrid",
        hours=[
            Shift(day, clock_time(start), clock_time(end))
            for day in range(5)
            for start, end in ((9, 13), (14, 18))
        ],
        holidays=[HolidayIn(date(2026, m, d), yearly=True) for m, d in YEARLY_HOLIDAYS]
        + [HolidayIn(day) for day in HOLIDAYS],
    )
    policies = {}
    for position, row in enumerate(POLICIES):
        name, priority, business, first, nxt, resolution, l1, l2, l3, on_breach = row
        policies[priority] = services.save_policy(
            acting_user=admin,
            name=name,
            position=position * 10,
            priority=priority,
            calendar=calendar if business else None,
            first_response_minutes=first,
            next_response_minutes=nxt,
            resolution_minutes=resolution,
            l1_minutes=l1,
            l2_minutes=l2,
            l3_minutes=l3,
            on_breach=on_breach,
        )
    return SimpleNamespace(requester=requester, org=org, teams=teams, policies=policies)


# -- the data -----------------------------------------------------------------------


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def _picker(pairs: list[tuple[str, int]]):
    # A table with each value repeated by its weight: faster than rng.choices.
    table = [value for value, weight in pairs for _ in range(weight)]
    return lambda rng: table[int(rng.random() * len(table))]


pick_status = _picker(OPEN_STATUSES)
pick_priority = _picker(PRIORITIES)
pick_tier = _picker(TIERS)


def _settle(facts, pauses: list, policy, caught_up: datetime) -> dict:
    """Due times, warnings, breaches and the next check as the breach watch leaves them
    after a pass at `caught_up` (the engine's due times, the watch's bookkeeping)."""
    from soporte.sla import clock as sla
    from soporte.sla.calendar import add_business_seconds

    calendar = sla.engine_calendar(policy.calendar)
    running = sla.running_targets(facts, policy)
    parsed = sla.parse_pauses(pauses)
    fields: dict = dict.fromkeys(sla.DUE_FIELDS.values())
    warned, breached, checks = [], [], []
    for target, field in sla.DUE_FIELDS.items():
        if target not in running:
            continue
        since, minutes = running[target]
        due = add_business_seconds(calendar, since, minutes * 60, parsed)
        fields[field] = due
        if due is None:
            continue  # paused
        warn = add_business_seconds(
            calendar, since, minutes * 60 * policy.warn_percent // 100, parsed
        )
        if due <= caught_up:
            breached.append(str(target))
        else:
            checks.append(due)
        if due <= caught_up or warn <= caught_up:
            warned.append(str(target))
        else:
            checks.append(warn)
    fields.update(
        warned=sorted(warned), breached=sorted(breached), next_check_at=min(checks, default=None)
    )
    return fields


def generate(setup: SimpleNamespace, total: int, open_count: int, now: datetime):
    """Yield batches of (ticket rows, clock rows) as dicts of attname -> value; ids 1..total
    in order of creation, over the last two years, open ones mostly recent."""
    rng = random.Random(1)
    caught_up = now - WATCH_LAG
    # Ages in seconds; the lowest bit marks an open ticket.
    ages = [rng.randrange(60, YEARS_2) * 2 for _ in range(total - open_count)]
    for _ in range(open_count):
        kind = rng.random()
        if kind < 0.55:
            age = rng.randrange(60, 10 * 86_400)
        elif kind < 0.85:
            age = rng.randrange(10 * 86_400, 60 * 86_400)
        else:
            age = rng.randrange(60 * 86_400, YEARS_2)
        ages.append(age * 2 + 1)
    ages.sort(reverse=True)
    team_ids = {tier: team.pk for tier, team in setup.teams.items()}
    policy_ids = {priority: policy.pk for priority, policy in setup.policies.items()}
    requester_id, org_id = setup.requester.pk, setup.org.pk
    tickets, clocks = [], []
    for number, packed in enumerate(ages, start=1):
        age, is_open = divmod(packed, 2)
        created = now - timedelta(seconds=age)
        priority = pick_priority(rng)
        policy = setup.policies[priority]
        ticket = {
            "id": number,
            "number": 1000 + number,
            "subject": f"{rng.choice(WORDS)} {rng.choice(WORDS)} problem {number}",
            "priority": priority,
            "channel": "email",
            "requester_id": requester_id,
            "organization_id": org_id,
            "created_at": created,
        }
        clock = {"ticket_id": number, "policy_id": policy_ids[priority], "awaiting_since": None}
        if is_open:
            _open_ticket(rng, ticket, clock, policy, now, caught_up)
        else:
            _closed_ticket(rng, ticket, clock, now)
        ticket["team_id"] = team_ids[ticket["tier"]]
        clock["updated_at"] = ticket["updated_at"]
        tickets.append(ticket)
        clocks.append(clock)
        if len(tickets) == BATCH:
            yield tickets, clocks
            tickets, clocks = [], []
    if tickets:
        yield tickets, clocks


def _open_ticket(rng, ticket, clock, policy, now, caught_up) -> None:
    from soporte.sla.clock import Facts

    created = ticket["created_at"]
    age = now - created
    status = pick_status(rng)
    first = (
        None
        if status == "new"
        else created + min(timedelta(minutes=rng.randrange(2, 480)), age / 2)
    )
    tier = pick_tier(rng) if age > timedelta(hours=1) else "L1"
    tier_since = created if tier == "L1" else created + age * rng.random()
    awaiting = None
    if status == "open" and rng.random() < 0.4:
        awaiting = first + (now - first) * rng.random()
    pauses: list = []
    last = first or created
    if first is not None and rng.random() < 0.2:
        start = first + (now - first) * rng.random() / 2
        end = min(start + timedelta(minutes=rng.randrange(10, 2 * 24 * 60)), now)
        pauses.append([_iso(start), _iso(end)])
        last = end
    if status.startswith("pending"):
        paused_at = last + (now - last) * rng.random()
        pauses.append([_iso(paused_at), None])
        last = paused_at
    ticket.update(
        status=status,
        tier=tier,
        first_responded_at=first,
        updated_at=max(last, tier_since, awaiting or last),
        resolved_at=None,
        closed_at=None,
    )
    clock.update(pauses=pauses, tier_since=tier_since, awaiting_since=awaiting)
    facts = Facts(status, created, first, tier, tier_since, awaiting)
    clock.update(_settle(facts, pauses, policy, caught_up))


def _closed_ticket(rng, ticket, clock, now) -> None:
    created = ticket["created_at"]
    first = min(created + timedelta(minutes=rng.randrange(2, 24 * 60)), now)
    resolved = min(first + timedelta(minutes=rng.randrange(30, 10 * 24 * 60)), now)
    closed = resolved + timedelta(days=3)
    status = "closed" if closed <= now else "resolved"
    ticket.update(
        status=status,
        tier="L1",
        first_responded_at=first,
        resolved_at=resolved,
        closed_at=closed if status == "closed" else None,
        updated_at=closed if status == "closed" else resolved,
    )
    missed = ["resolution"] if rng.random() < 0.08 else []
    clock.update(
        pauses=[[_iso(resolved), None]],
        tier_since=created,
        first_response_due=None,
        next_response_due=None,
        resolution_due=None,
        tier_due=None,
        warned=missed,
        breached=missed,
        next_check_at=None,
    )


def bulk_load(setup: SimpleNamespace, total: int, open_count: int, now: datetime) -> dict:
    """Insert the tickets and clocks in one transaction, bypassing the ORM."""
    from django.core.management.color import no_style
    from django.db import connection, transaction

    from soporte.sla.models import SlaClock
    from soporte.tickets.models import Ticket

    postgres = connection.vendor == "postgresql"

    def as_text(value: datetime) -> str:
        # Django keeps SQLite datetimes as naive UTC text; every generated one is UTC.
        text = str(value)
        if not text.endswith("+00:00"):
            raise ValueError(f"not a UTC datetime: {text}")
        return text[:-6]

    convert = {"JSONField": json.dumps}
    if not postgres:
        convert["DateTimeField"] = as_text  # COPY takes aware datetimes as they are

    def plan(model, given: set[str]):
        """The columns (the generated ones, then the rest with the field's default), a
        getter of the generated values and the converters they need by position."""
        fields = model._meta.concrete_fields
        generated = [f for f in fields if f.attname in given]
        missing = [f for f in fields if f.attname not in given]
        converters = [
            (position, convert[f.get_internal_type()])
            for position, f in enumerate(generated)
            if f.get_internal_type() in convert
        ]
        defaults = []
        for field in missing:
            default = field.get_default()
            kind = field.get_internal_type()
            defaults.append(
                convert[kind](default) if kind in convert and default is not None else default
            )
        columns = [f.column for f in generated + missing]
        getter = itemgetter(*(f.attname for f in generated))
        return model._meta.db_table, columns, getter, converters, tuple(defaults)

    def insert(cursor, table, columns, getter, converters, defaults, rows):
        values = []
        for row in rows:
            value = list(getter(row))
            for position, convert_one in converters:
                if value[position] is not None:
                    value[position] = convert_one(value[position])
            values.append((*value, *defaults))
        names = ", ".join(columns)
        if postgres:
            with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for value in values:
                    copy.write_row(value)
        else:
            marks = ", ".join("?" * len(columns))
            cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", values)

    started = time.perf_counter()
    ticket_plan = clock_plan = None
    done = 0
    with transaction.atomic():
        connection.ensure_connection()
        raw = connection.connection.cursor()
        for tickets, clocks in generate(setup, total, open_count, now):
            if ticket_plan is None:
                ticket_plan = plan(Ticket, set(tickets[0]))
                clock_plan = plan(SlaClock, set(clocks[0]))
            insert(raw, *ticket_plan, tickets)
            insert(raw, *clock_plan, clocks)
            done += len(tickets)
            if done % 200_000 == 0:
                log(f"  {done:,} tickets loaded ({time.perf_counter() - started:.0f} s)")
        raw.close()
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE tickets_counter SET value = %s WHERE name = 'ticket'", [1000 + total]
            )
            for sql in connection.ops.sequence_reset_sql(no_style(), [Ticket]):
                cursor.execute(sql)
    loaded = time.perf_counter() - started
    with connection.cursor() as cursor:
        # On a live database autovacuum would have set the hint bits and visibility map
        # that a table fresh from COPY still lacks.
        cursor.execute("VACUUM ANALYZE" if postgres else "ANALYZE")
    return {
        "load_s": round(loaded, 1),
        "analyze_s": round(time.perf_counter() - started - loaded, 1),
    }


# -- the measures -------------------------------------------------------------------


def sample_clocks(ids: list[int]) -> dict:
    from soporte.sla.models import SlaClock

    fields = ("ticket_id", "next_check_at", "first_response_due", "resolution_due", "tier_due")
    found = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for row in SlaClock.objects.filter(ticket_id__in=chunk).values_list(*fields):
            found[row[0]] = row[1:]
    return found


def bench_recompute(open_count: int) -> dict:
    from soporte.sla import services
    from soporte.tickets.models import ACTIVE_STATUSES, Ticket

    open_ids = list(Ticket.objects.filter(status__in=ACTIVE_STATUSES).values_list("id", flat=True))
    sample = random.Random(3).sample(open_ids, min(1000, len(open_ids)))
    before = sample_clocks(sample)
    log(f"  recompute_open() over {len(open_ids):,} open tickets")
    started, cpu = time.perf_counter(), time.process_time()
    done = services.recompute_open()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    after = sample_clocks(sample)
    changed = sum(before[i] != after[i] for i in sample)
    print(
        f"recompute_open: {done:,} open tickets in {elapsed:.2f} s ({cpu:.2f} s CPU in this "
        f"process), {done / elapsed:,.0f} tickets/s; {changed} of {len(sample)} sampled clocks "
        "moved (0: the loaded due times agree with the engine)"
    )
    return {
        "recompute_n": done,
        "recompute_s": round(elapsed, 2),
        "recompute_cpu_s": round(cpu, 2),
        "recompute_changed": changed,
    }


def next_check_indexes() -> list[str]:
    from django.db import connection

    from soporte.sla.models import SlaClock

    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, SlaClock._meta.db_table)
    return [
        name
        for name, info in found.items()
        if info["index"] and info["columns"] == ["next_check_at"]
    ]


def scan_window(caught_up: datetime, now: datetime) -> datetime:
    """Until when to vary the scan's `now`: the moment SCAN_DUE clocks are due, or now if
    later. Outside office hours only the round-the-clock policy comes due, so the window
    then reaches into the next morning."""
    from soporte.sla.models import SlaClock

    ahead = SlaClock.objects.filter(next_check_at__gt=caught_up).order_by("next_check_at")
    horizon = ahead.values_list("next_check_at", flat=True)[SCAN_DUE - 1 : SCAN_DUE].first()
    return max(now, horizon or now)


def bench_scan(caught_up: datetime, end: datetime) -> dict:
    from django.db import connection

    from soporte.sla.services import due_clocks

    postgres = connection.vendor == "postgresql"
    if postgres:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    query = due_clocks(end)
    plan = query.explain(analyze=True) if postgres else query.explain()
    indexes = next_check_indexes()
    uses_index = any(name in plan for name in indexes)
    print(f"query plan of due_clocks(t){' (EXPLAIN ANALYZE)' if postgres else ''}:")
    print("    " + plan.replace("\n", "\n    "))
    print(f"uses the next_check_at index ({', '.join(indexes)}): {'yes' if uses_index else 'NO'}")

    rng = random.Random(4)
    moments = [caught_up + (end - caught_up) * rng.random() for _ in range(SCAN_RUNS)]
    for moment in moments[:10]:
        list(due_clocks(moment))  # warm-up
    samples, rows = [], []
    for moment in moments:
        started = time.perf_counter()
        due = list(due_clocks(moment))
        samples.append((time.perf_counter() - started) * 1000)
        rows.append(len(due))
    p50, p95 = statistics.median(samples), percentile(samples, 95)
    madrid = ZoneInfo("Europe/Madrid")
    print(
        f"breach scan: {SCAN_RUNS} runs of list(due_clocks(t)), t from the watch's last pass "
        f"({caught_up.astimezone(madrid):%a %H:%M} Madrid) to {end.astimezone(madrid):%a %H:%M}: "
        f"{min(rows)}-{max(rows)} rows due (median {statistics.median(rows):.0f}); "
        f"p50 {p50:.2f} ms, p95 {p95:.2f} ms"
    )
    return {
        "scan_uses_index": uses_index,
        "scan_p50_ms": round(p50, 2),
        "scan_p95_ms": round(p95, 2),
        "scan_rows": [min(rows), max(rows)],
    }


def bench_watch(now: datetime) -> dict:
    from django.db.models import Count

    from soporte.sla.services import due_clocks, watch
    from soporte.tickets.models import TicketEvent

    due = len(list(due_clocks(now)))
    first_event = TicketEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    started = time.perf_counter()
    handled = watch(now)
    elapsed = time.perf_counter() - started
    kinds = dict(
        TicketEvent.objects.filter(id__gt=first_event)
        .values_list("kind")
        .annotate(n=Count("id"))
        .values_list("kind", "n")
    )
    written = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items())) or "none"
    print(
        f"watch(t), t at the end of that window: one pass over {due} due clocks handled "
        f"{handled} in {elapsed:.2f} s "
        f"({elapsed / max(handled, 1) * 1000:.1f} ms each); events written: {written}"
    )
    return {"watch_handled": handled, "watch_s": round(elapsed, 2)}


def run_one(database: str, tickets: int, open_count: int) -> dict:
    """Everything on one database, in this process (Django is set up once per process)."""
    tmp = tempfile.mkdtemp(prefix="soporte-bench-sla-")
    url = PG_URL if database == "postgres" else f"sqlite:///{tmp}/bench.sqlite3"
    if database == "postgres":
        reset_postgres(url)
    setup_django(url, tmp)
    from django.db import connection
    from django.utils import timezone

    print(f"\n== {connection.vendor}: {tickets:,} tickets, {open_count:,} open ==", flush=True)
    started = time.perf_counter()
    setup = prepare()
    now = timezone.now()
    log(f"{connection.vendor}: loading {tickets:,} tickets and their clocks")
    result = {"database": connection.vendor, "tickets": tickets, "open": open_count}
    result.update(bulk_load(setup, tickets, open_count, now))
    print(
        f"bulk load: {tickets:,} tickets and clocks in {result['load_s']} s "
        f"(+ {'VACUUM ANALYZE' if connection.vendor == 'postgresql' else 'ANALYZE'} "
        f"{result['analyze_s']} s)"
    )
    result.update(bench_recompute(open_count))
    caught_up = now - WATCH_LAG
    end = scan_window(caught_up, timezone.now())
    result.update(bench_scan(caught_up, end))
    result.update(bench_watch(end))
    from soporte.celery import app as celery_app

    celery_app.control.purge()  # nothing will consume what the bench queued
    result["total_s"] = round(time.perf_counter() - started, 1)
    print(f"{connection.vendor} done in {result['total_s']} s", flush=True)
    connection.close()
    shutil.rmtree(tmp, ignore_errors=True)  # a million-ticket SQLite file is about 800 MB
    return result


def summary(results: list[dict]) -> None:
    print("\nSLA benchmark: target vs measured")
    print(f"{'database':<11}{'measure':<44}{'target':>12}{'measured':>14}  result")
    for r in results:
        if "error" in r:
            print(f"{r['database']:<11}{'(failed)':<44}{'':>12}{'':>14}  {r['error']}")
            continue
        rows = [
            (
                f"recompute {r['recompute_n']:,} open tickets (s)",
                f"<= {RECOMPUTE_TARGET_S:g}",
                f"{r['recompute_s']:.2f}",
                r["recompute_s"] <= RECOMPUTE_TARGET_S,
            ),
            (
                f"breach scan uses an index ({r['tickets']:,} t.)",
                "yes",
                "yes" if r["scan_uses_index"] else "no",
                r["scan_uses_index"],
            ),
            (
                "breach scan p95 (ms)",
                f"<= {SCAN_P95_TARGET_MS:g}",
                f"{r['scan_p95_ms']:.2f}",
                r["scan_p95_ms"] <= SCAN_P95_TARGET_MS,
            ),
        ]
        rows += [
            (f"bulk load, {r['tickets']:,} tickets + clocks (s)", "-", f"{r['load_s']:.1f}", None),
            (
                f"watch() pass, {r['watch_handled']} clocks (s)",
                "-",
                f"{r['watch_s']:.2f}",
                None,
            ),
        ]
        for label, target, measured, ok in rows:
            verdict = "info" if ok is None else "PASS" if ok else "MISS"
            print(f"{r['database']:<11}{label:<44}{target:>12}{measured:>14}  {verdict}")
    print("peer: none; django-helpdesk has no SLA business-hours engine to compare with.")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--open", type=int, default=100_000)
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"])
    parser.add_argument("--result-file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not 0 < args.open <= args.tickets:
        parser.error("--open must be between 1 and --tickets")
    if args.result_file:
        result = run_one(args.database, args.tickets, args.open)
        Path(args.result_file).write_text(json.dumps(result))
        return

    results = databases.measure(
        __file__, "sla", args.database, ["--tickets", str(args.tickets), "--open", str(args.open)]
    )
    summary(results)
    databases.save("sla", results, results)


if __name__ == "__main__":
    main()
