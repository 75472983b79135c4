"""`make bench`, triage part: classification throughput, and the similar-ticket lookup
among 100,000 tickets, without and with the semantic extra.

    .venv/bin/python bench/triage.py [--tickets 100000] [--lookups 200]
                                     [--database sqlite|postgres|both]
                                     [--postgres URL] [--reuse DIR]
                                     [--placeholder-vectors]

Targets (from the issue): classification >= 1,000 tickets/s; similar-ticket lookup p95
<= 50 ms with 100,000 tickets, on both databases, with soporte[semantic] installed.
Measured:

- training: soporte.triage.services.train_model on the newest 50,000 tickets (the
  history limit), wall and CPU time;
- classification, batched: the model's predict() on 10,000 ticket texts (what a
  backlog import or a re-triage does), tickets/s;
- classification, one by one: services.classify() for one ticket at a time, 1,000 times
  (what the triage job does per new ticket: the model query, labels, prediction);
- similar tickets: services.similar_tickets(user, ticket) for --lookups random tickets,
  as a supervisor (sees every ticket) and as an agent of one team, p50/p95 in ms; first
  as a site without the extra (words only), then with it, every ticket's sentence
  vector stored as the triage job stores it at intake;
- sentence vectors: services.store_vectors on 256 tickets (the intake job's step),
  texts/s. The other tickets' vectors come from var/bench-triage/vectors-<N>.npz,
  embedded once per machine (the synthetic texts are seeded) and kept for the next run
  and the other database: 50,000 distinct texts take the model minutes (an hour and
  more on a busy machine; --placeholder-vectors gives the texts not embedded yet random
  vectors, for a quick timing run, and says so in the summary).

Tickets are synthetic (soporte/triage/synthetic.py, English and Spanish, labelled),
bulk-loaded and indexed for search in batches. Wall time is what the targets mean;
CPU time (time.process_time) is printed beside it because the machine may be shared.
PostgreSQL uses its own database (--postgres, default soporte_triage_bench), dropped
and created; with --reuse DIR the SQLite file in DIR and the PostgreSQL database are
kept, and a rerun measures again without loading the tickets again.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import databases
from run import log, percentile, reset_postgres, setup_django

HERE = Path(__file__).resolve().parent
VECTOR_CACHE = HERE.parent / "var" / "bench-triage"
PG_URL = "postgres://postgres@127.0.0.1:5432/soporte_triage_bench"
CLASSIFY_TARGET = 1000.0
SIMILAR_P95_TARGET_MS = 50.0
BATCH = 5000
TEAM_OF = {"Service Desk": "L1", "Infrastructure": "L2", "Applications": "L3"}


def prepare():
    from soporte.accounts import services as accounts
    from soporte.accounts.models import Organization, Role, Team, Tier
    from soporte.tickets.models import Category
    from soporte.triage import synthetic

    org = Organization.objects.create(name="Acme")
    people = {
        lang: accounts.create_user(
            acting_user=None, username=f"req-{lang}", email=f"{lang}@example.org",
            organization=org, language=lang,
        )
        for lang in ("en", "es")
    }  # fmt: skip
    teams = {tier: Team.objects.create(name=f"Team {tier}", tier=tier) for tier in Tier.values}
    supervisor = accounts.create_user(
        acting_user=None, username="carol", email="carol@example.org", role=Role.SUPERVISOR
    )
    agent = accounts.create_user(
        acting_user=None, username="alice", email="alice@example.org", role=Role.AGENT
    )
    teams["L2"].members.add(agent)
    kinds = {name: Category.objects.create(name=name) for name in synthetic.CATALOGUE}
    return people, teams, kinds, supervisor, agent


def bulk_load(total: int, people, teams, kinds) -> dict:
    from django.db import connection, transaction
    from django.utils import timezone

    from soporte.search.services import index_tickets
    from soporte.tickets.models import Message, Ticket
    from soporte.triage import synthetic

    rows = synthetic.generate(total, seed=1, storms=0, days=365)
    now = timezone.now()
    start = time.perf_counter()
    number = 1000
    indexed = 0.0
    for first in range(0, total, BATCH):
        chunk = rows[first : first + BATCH]
        tickets = []
        for row in chunk:
            number += 1
            created = now - timedelta(days=365) + (row.at - rows[0].at)
            tickets.append(
                Ticket(
                    number=number, subject=row.subject[:250], status="resolved",
                    priority=row.priority, channel="email", requester=people[row.language],
                    organization_id=people[row.language].organization_id,
                    category=kinds[row.category], team=teams[TEAM_OF[row.team]],
                    created_at=created, updated_at=created,
                )
            )  # fmt: skip
        with transaction.atomic():
            Ticket.objects.bulk_create(tickets)
            for ticket, row in zip(tickets, chunk, strict=True):
                ticket.created_at = now - timedelta(days=365) + (row.at - rows[0].at)
            Ticket.objects.bulk_update(tickets, ["created_at"])
            Message.objects.bulk_create(
                Message(ticket=t, kind="reply", author=t.requester, channel="email",
                        body_text=row.body)
                for t, row in zip(tickets, chunk, strict=True)
            )  # fmt: skip
        began = time.perf_counter()
        index_tickets([t.pk for t in tickets])
        indexed += time.perf_counter() - began
        log(f"{connection.vendor}: {first + len(chunk):,} tickets loaded")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE tickets_counter SET value = %s WHERE name = 'ticket'", [number])
        cursor.execute("ANALYZE")
    return {
        "load_s": round(time.perf_counter() - start, 1),
        "index_s": round(indexed, 1),
        "texts": [r.text for r in rows[-10_000:]],
        "languages": [r.language for r in rows[-10_000:]],
    }


def bench_training(reuse: bool = False) -> dict:
    """Train on the history; a reused database keeps the model a previous run trained
    (its training time reads 0)."""
    from soporte.triage import services

    kept = services.model_metrics() if reuse else None
    if kept is not None:
        overall = kept.metrics.get("overall", {})
        return {
            "train_s": 0.0,
            "train_cpu_s": 0.0,
            "train_samples": kept.samples,
            "metrics": overall,
        }
    wall, cpu = time.perf_counter(), time.process_time()
    row = services.train_model()
    return {
        "train_s": round(time.perf_counter() - wall, 1),
        "train_cpu_s": round(time.process_time() - cpu, 1),
        "train_samples": row.samples,
        "metrics": row.metrics.get("overall", {}),
    }


def bench_classify(texts: list[str], languages: list[str]) -> dict:
    from soporte.triage import services

    _version, bundle = services.current_model()
    by_language: dict[str, list[str]] = {}
    for text, language in zip(texts, languages, strict=True):
        by_language.setdefault(language, []).append(text)
    wall, cpu = time.perf_counter(), time.process_time()
    for language, group in by_language.items():
        bundle.predict(language, group)
    batch_wall, batch_cpu = time.perf_counter() - wall, time.process_time() - cpu
    singles = list(zip(languages, texts, strict=True))[:1000]
    wall, cpu = time.perf_counter(), time.process_time()
    for pair in singles:
        services.classify([pair])
    one_wall, one_cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {
        "classify_batch_per_s": round(len(texts) / batch_wall, 1),
        "classify_batch_cpu_per_s": round(len(texts) / batch_cpu, 1),
        "classify_one_per_s": round(len(singles) / one_wall, 1),
        "classify_one_cpu_per_s": round(len(singles) / one_cpu, 1),
    }


def bench_similar(user, lookups: int, label: str) -> dict:
    from soporte.search import semantic
    from soporte.tickets.models import Ticket
    from soporte.triage import services

    rng = random.Random(3)
    top = Ticket.objects.order_by("-number").values_list("number", flat=True).first()
    numbers = [rng.randint(1001, top) for _ in range(lookups)]
    # With their requesters, as the pages and the API load a ticket (get_visible_ticket).
    found = Ticket.objects.select_related("requester").filter(number__in=numbers)
    tickets = {t.number: t for t in found}
    services.similar_tickets(user, tickets[numbers[0]])  # warm the caches once
    walls, cpus, found = [], [], 0
    # Texts the sentence model embeds during the lookups: none while every ticket's own
    # vector is stored (a ticket not triaged yet would be embedded, a few ms).
    embedded: list[int] = []
    real_embed = semantic.embed
    semantic.embed = lambda texts: embedded.append(len(texts)) or real_embed(texts)
    backend = databases.backend_cpu()
    try:
        for number in numbers:
            wall, cpu = time.perf_counter(), time.process_time()
            found += len(services.similar_tickets(user, tickets[number]))
            walls.append((time.perf_counter() - wall) * 1000)
            cpus.append((time.process_time() - cpu) * 1000)
    finally:
        semantic.embed = real_embed
    out = {
        f"similar_{label}_p50_ms": round(percentile(walls, 50), 1),
        f"similar_{label}_p95_ms": round(percentile(walls, 95), 1),
        f"similar_{label}_cpu_mean_ms": round(sum(cpus) / len(cpus), 1),
        f"similar_{label}_cpu_p95_ms": round(percentile(cpus, 95), 1),
        f"similar_{label}_found_mean": round(found / len(walls), 1),
        f"similar_{label}_embedded": sum(embedded),
    }
    if backend is not None:  # PostgreSQL's own CPU for the queries (clock ticks: a mean)
        out[f"similar_{label}_pg_cpu_mean_ms"] = round(
            (databases.backend_cpu() - backend) / len(walls) * 1000, 1
        )
    return out


def _cached_vectors(total: int) -> dict[int, bytes]:
    """Packed vectors by text digest, from the cache file of this size (may be empty)."""
    import numpy as np

    path = VECTOR_CACHE / f"vectors-{total}.npz"
    if not path.exists():
        return {}
    data = np.load(path)
    return {int(d): v.tobytes() for d, v in zip(data["digests"], data["vectors"], strict=True)}


def _save_vectors(total: int, cached: dict[int, bytes]) -> None:
    import numpy as np

    VECTOR_CACHE.mkdir(parents=True, exist_ok=True)
    digests = np.array(list(cached), dtype=np.int64)
    vectors = np.frombuffer(b"".join(cached.values()), dtype=np.float16).reshape(len(cached), -1)
    np.savez(VECTOR_CACHE / f"vectors-{total}.npz", digests=digests, vectors=vectors)


def bench_vectors(total: int, placeholders: bool = False) -> dict:
    """Every ticket's sentence vector stored, as the triage job leaves them: 256 through
    services.store_vectors (timed), the rest from the cache (missing ones embedded and
    added to it). With `placeholders`, a text not in the cache gets a random unit vector
    instead (a timing run: the lookup reads and scores the same bytes, but its ranking
    means nothing); the result counts them."""
    from django.db import transaction

    from soporte.search import semantic
    from soporte.tickets.models import Ticket
    from soporte.triage import ml, services
    from soporte.triage.models import TicketVector

    rows = (
        Ticket.objects.annotate(first_body=services._first_text())
        .exclude(pk__in=TicketVector.objects.filter(model=semantic.MODEL).values("ticket_id"))
        .order_by("-pk")
        .values_list("pk", "subject", "first_body")
    )
    texts = {pk: ml.ticket_text(subject, body or "") for pk, subject, body in rows}
    result: dict = {}
    sample = dict(list(texts.items())[:256])
    if sample:
        semantic.embed(["warm the model up"])
        wall, cpu = time.perf_counter(), time.process_time()
        services.store_vectors(sample)
        result["embed_per_s"] = round(len(sample) / (time.perf_counter() - wall), 1)
        result["embed_cpu_per_s"] = round(len(sample) / (time.process_time() - cpu), 1)
    cached = _cached_vectors(total)
    rest = {pk: text for pk, text in texts.items() if pk not in sample}
    missing = list(dict.fromkeys(t for t in rest.values() if semantic.digest(t) not in cached))
    if placeholders:
        import numpy as np

        rng = np.random.default_rng(0)
        for text in missing:
            vector = rng.standard_normal(semantic.DIMENSIONS)
            cached[semantic.digest(text)] = semantic.pack(vector / np.linalg.norm(vector))
        result["placeholder_vectors"] = len(missing)
        missing = []
    for start in range(0, len(missing), 2048):
        chunk = missing[start : start + 2048]
        for text, vector in zip(chunk, semantic.embed(chunk), strict=True):
            cached[semantic.digest(text)] = semantic.pack(vector)
        log(f"embedded {start + len(chunk):,} of {len(missing):,} texts (kept in {VECTOR_CACHE})")
        _save_vectors(total, cached)
    items = list(rest.items())
    for start in range(0, len(items), BATCH):
        with transaction.atomic():
            TicketVector.objects.bulk_create(
                TicketVector(
                    ticket_id=pk, model=semantic.MODEL, digest=semantic.digest(text),
                    vector=cached[semantic.digest(text)],
                )
                for pk, text in items[start : start + BATCH]
            )  # fmt: skip
    return result


def _loaded(database: str, url: str) -> int:
    """Tickets already in a reused database (0 when there is none yet)."""
    if database == "postgres":
        import psycopg

        try:
            with psycopg.connect(url) as conn:
                return conn.execute("SELECT COUNT(*) FROM tickets_ticket").fetchone()[0]
        except psycopg.Error:
            return 0
    import sqlite3

    path = url.removeprefix("sqlite:///")
    if not os.path.exists(path):
        return 0
    with sqlite3.connect(path) as conn:
        try:
            return conn.execute("SELECT COUNT(*) FROM tickets_ticket").fetchone()[0]
        except sqlite3.Error:
            return 0


def run_one(
    database: str,
    total: int,
    lookups: int,
    pg_url: str = PG_URL,
    reuse: str | None = None,
    placeholders: bool = False,
) -> dict:
    tmp = reuse or tempfile.mkdtemp(prefix="soporte-bench-triage-")
    Path(tmp).mkdir(parents=True, exist_ok=True)
    url = pg_url if database == "postgres" else f"sqlite:///{Path(tmp).resolve()}/bench.sqlite3"
    kept = reuse is not None and _loaded(database, url) == total
    if not kept:
        if database == "postgres":
            reset_postgres(url)
        elif os.path.exists(url.removeprefix("sqlite:///")):
            os.remove(url.removeprefix("sqlite:///"))
    # The extra is what the lookup targets are about (bench/run.py turns it off by default).
    os.environ.setdefault("SOPORTE_SEMANTIC", "on")
    setup_django(url, tmp)
    from django.core.management import call_command
    from django.db import connection

    from soporte.accounts.models import User
    from soporte.search import semantic

    print(f"\n== {connection.vendor}: {total:,} tickets ==", flush=True)
    call_command("migrate", verbosity=0, interactive=False)
    result: dict = {"database": connection.vendor, "tickets": total}
    if kept:
        from soporte.tickets.models import Message
        from soporte.triage import ml

        rows = Message.objects.order_by("-ticket_id").values_list(
            "ticket__subject", "body_text", "ticket__requester__language"
        )[:10_000]
        texts = [ml.ticket_text(s, b) for s, b, _lang in rows]
        languages = [lang for _s, _b, lang in rows]
        result.update(load_s=0.0, index_s=0.0)
        print("reusing the loaded tickets", flush=True)
    else:
        people, teams, kinds, _supervisor, _agent = prepare()
        loaded = bulk_load(total, people, teams, kinds)
        texts, languages = loaded.pop("texts"), loaded.pop("languages")
        result.update(loaded)
        print(f"bulk load {result['load_s']} s (search indexing {result['index_s']} s)")
    supervisor, agent = User.objects.get(username="carol"), User.objects.get(username="alice")
    result.update(bench_training(reuse=kept))
    print(f"training {result['train_s']} s on {result['train_samples']:,} tickets", flush=True)
    result.update(bench_classify(texts, languages))
    # A site without the extra: no model, so no vectors either (meanings() reads none).
    real, semantic._model["model"] = semantic._embedder(), None
    try:
        for person, label in ((supervisor, "supervisor"), (agent, "agent")):
            result.update(bench_similar(person, lookups, f"{label}_words"))
    finally:
        semantic._model["model"] = real
    result["semantic"] = real is not None
    if real is not None:
        result.update(bench_vectors(total, placeholders))
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        print("sentence vectors stored", flush=True)
    for person, label in ((supervisor, "supervisor"), (agent, "agent")):
        result.update(bench_similar(person, lookups, label))
    connection.close()
    if reuse is None:
        shutil.rmtree(tmp, ignore_errors=True)
    return result


def summary(results: list[dict]) -> None:
    print("\nTriage benchmark: target vs measured (wall time; CPU time beside it, p95 for")
    print("lookups: this process's CPU, PostgreSQL's own on the line below)")
    print(f"{'database':<11}{'measure':<46}{'target':>9}{'wall':>10}{'cpu':>10}  result")
    for r in results:
        if "error" in r:
            print(f"{r['database']:<11}{'(failed)':<46}  {r['error']}")
            continue
        rows = [
            ("classification, batched (tickets/s)", f">= {CLASSIFY_TARGET:g}",
             r["classify_batch_per_s"], r["classify_batch_cpu_per_s"],
             r["classify_batch_per_s"] >= CLASSIFY_TARGET),
            ("classification, one at a time (tickets/s)", f">= {CLASSIFY_TARGET:g}",
             r["classify_one_per_s"], r["classify_one_cpu_per_s"],
             r["classify_one_per_s"] >= CLASSIFY_TARGET),
        ]  # fmt: skip
        extra = "with semantic" if r.get("semantic") else "extra missing"
        for label, name in (
            (f"supervisor, words only, {r['tickets']:,}", "supervisor_words"),
            ("agent of one team, words only", "agent_words"),
            (f"supervisor, {extra}, {r['tickets']:,}", "supervisor"),
            (f"agent of one team, {extra}", "agent"),
        ):
            p95, cpu = r[f"similar_{name}_p95_ms"], r[f"similar_{name}_cpu_p95_ms"]
            target = f"<= {SIMILAR_P95_TARGET_MS:g}"
            rows.append(
                (f"similar p95, {label} (ms)", target, p95, cpu, p95 <= SIMILAR_P95_TARGET_MS)
            )
            if r.get(f"similar_{name}_embedded"):
                n = r[f"similar_{name}_embedded"]
                rows.append((f"  texts embedded during the lookups: {n:,}", "-", n, n, None))
            if f"similar_{name}_pg_cpu_mean_ms" in r:
                pg = r[f"similar_{name}_pg_cpu_mean_ms"]
                rows.append(("  PostgreSQL backend CPU, mean (ms)", "-", pg, pg, None))
        if "embed_per_s" in r:
            per_s, cpu_per_s = r["embed_per_s"], r["embed_cpu_per_s"]
            rows.append(("sentence vectors at intake (tickets/s)", "-", per_s, cpu_per_s, None))
        rows += [
            (f"training on {r['train_samples']:,} tickets (s)", "-", r["train_s"],
             r["train_cpu_s"], None),
            ("bulk load + search index (s)", "-", r["load_s"], r["index_s"], None),
        ]  # fmt: skip
        for label, target, wall, cpu, ok in rows:
            verdict = "info" if ok is None else "PASS" if ok else "MISS"
            print(
                f"{r['database']:<11}{label:<46}{target:>9}{wall:>10,.1f}{cpu:>10,.1f}  {verdict}"
            )
        metrics = ", ".join(
            f"{f} acc {m['accuracy']:.3f} F1 {m['macro_f1']:.3f}" for f, m in r["metrics"].items()
        )
        print(f"{r['database']:<11}held out: {metrics}")
        if r.get("placeholder_vectors"):
            print(
                f"{r['database']:<11}{r['placeholder_vectors']:,} texts had random placeholder"
                " vectors (--placeholder-vectors): timings hold, rankings do not"
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--lookups", type=int, default=200)
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"])
    parser.add_argument("--postgres", default=PG_URL, help="the PostgreSQL database to use")
    parser.add_argument("--reuse", help="keep the databases (SQLite in this folder)")
    parser.add_argument(
        "--placeholder-vectors",
        action="store_true",
        help="random vectors for texts not embedded yet (lookup timing only)",
    )
    parser.add_argument("--result-file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.result_file:
        result = run_one(
            args.database, args.tickets, args.lookups, args.postgres, args.reuse,
            args.placeholder_vectors,
        )  # fmt: skip
        Path(args.result_file).write_text(json.dumps(result))
        return
    options = ["--tickets", str(args.tickets), "--lookups", str(args.lookups)]
    options += ["--postgres", args.postgres] + (["--reuse", args.reuse] if args.reuse else [])
    options += ["--placeholder-vectors"] if args.placeholder_vectors else []
    results = databases.measure(__file__, "triage", args.database, options)
    summary(results)
    databases.save("triage", results, results)


if __name__ == "__main__":
    main()
