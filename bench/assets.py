"""`make bench`, assets part: the inventory agent's upserts, and the asset list among
100,000 assets.

    .venv/bin/python bench/assets.py [--assets 100000] [--machines 400] [--packages 300]
                                     [--requests 200] [--database sqlite|postgres|both]

Targets (from the issue): agent inventory upserts >= 200/s; the asset list p95 <= 50 ms
with 100,000 assets. Each is measured through the real API (Django's test client: JSON
parsing, the enrollment token, the service, the database; no network):

- upserts: POST /api/v1/assets/inventory from --machines machines, each with --packages
  packages drawn from a common pool, in three rounds: the first report of each machine
  (creates it and its software), the same report again (the daily run of an unchanged
  machine), and a report with changes (RAM, two packages upgraded, one added, one
  removed: each recorded as history);
- list: GET /api/v1/assets (50 a page, tag order, keyset cursor) as an agent, in the
  shapes an agent uses: the first pages, 20 pages deep, by kind, by status, by
  organization, and a search by part of a serial number; and the desk's list page.

One client sends the reports one at a time (no concurrency): a deployment whose web
workers keep every core busy answers about (cores x the rate per CPU second below) reports
a second, less what else runs there. A first report's machine is put in the search
backlog; the job that writes the documents runs between the rounds, timed apart.

Upsert rates are reports per second of wall time, after two warm-up requests (the first
request imports every area's API); the rates per second of the benchmark process's CPU
time (time.process_time: client, Django and our code, not the database server) are
printed beside them, steadier when other work shares the machine; on PostgreSQL also per
second of that plus the connection's backend CPU time (read from /proc, so only with the
server on this machine). SOPORTE_BENCH_ASSETS_PG_URL names another PostgreSQL database.

Assets are bulk-loaded (bulk_create), not created one by one through the service. The
default is both databases when PostgreSQL answers on 127.0.0.1:5432 (its own database,
soporte_bench_assets, dropped and created), else SQLite in a temporary directory. Each
database runs in a process of its own; the summary table comes last.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import databases
from run import log, percentile, reset_postgres, setup_django

HERE = Path(__file__).resolve().parent
# SOPORTE_BENCH_ASSETS_PG_URL: another database (a run beside others on one server).
PG_URL = os.environ.get(
    "SOPORTE_BENCH_ASSETS_PG_URL", "postgres://postgres@127.0.0.1:5432/soporte_bench_assets"
)
UPSERT_TARGET = 200.0
LIST_P95_TARGET_MS = 50.0
BATCH = 5000
KINDS = [
    ("Laptop", 35), ("Desktop", 20), ("Monitor", 20), ("Phone", 8), ("Printer", 4),
    ("Keyboard", 5), ("Switch", 2), ("Wall outlet", 4), ("Patch panel", 1), ("Server", 1),
]  # fmt: skip
STATUSES = [("in_use", 70), ("in_stock", 15), ("in_repair", 5), ("retired", 10)]


def _pick(rng: random.Random, pairs: list[tuple[str, int]]) -> str:
    names, weights = zip(*pairs, strict=True)
    return rng.choices(names, weights)[0]


def prepare():
    from django.core.management import call_command

    from soporte.accounts import services as accounts
    from soporte.accounts.models import Organization, Role
    from soporte.assets import services

    call_command("migrate", verbosity=0, interactive=False)
    admin = accounts.create_user(
        acting_user=None, username="admin", role=Role.ADMIN, email="admin@example.org"
    )
    orgs = [Organization.objects.create(name=f"Customer {n}") for n in range(20)]
    owners = [
        accounts.create_user(
            acting_user=None,
            username=f"user{n}",
            email=f"user{n}@example.org",
            organization=orgs[n % len(orgs)],
        )  # fmt: skip
        for n in range(200)
    ]
    locations = [services.location_named(f"Site {n}, floor {f}") for n in range(25) for f in (1, 2)]
    _token, key = services.create_enrollment_token(acting_user=admin, name="bench")
    return admin, orgs, owners, locations, key


def bulk_load(total: int, owners, locations) -> dict:
    from django.db import connection, transaction

    from soporte.assets.models import Asset, AssetType

    types = {t.name: t for t in AssetType.objects.all()}
    rng = random.Random(1)
    started = time.perf_counter()
    for start in range(0, total, BATCH):
        rows = []
        for n in range(start, min(total, start + BATCH)):
            asset_type = types[_pick(rng, KINDS)]
            owner = rng.choice(owners) if rng.random() < 0.7 else None
            rows.append(
                Asset(
                    tag=f"A-{n:07d}",
                    name=f"{asset_type.name} {n}",
                    type=asset_type,
                    kind=asset_type.kind,
                    status=_pick(rng, STATUSES),
                    serial=f"SN{rng.randrange(16**10):010X}",
                    manufacturer="Acme",
                    model=f"Model {rng.randrange(50)}",
                    location=rng.choice(locations),
                    owner=owner,
                    organization_id=owner.organization_id if owner else None,
                    hostname=f"host-{n}" if asset_type.kind == "computer" else "",
                )  # fmt: skip
            )
        with transaction.atomic():
            Asset.objects.bulk_create(rows)
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {"load_s": round(load_s, 1), "analyze_s": round(time.perf_counter() - started, 1)}


def _reports(machines: int, packages: int) -> list[dict]:
    rng = random.Random(2)
    pool = [
        f"lib{rng.choice('abcdefgh')}{n}-{rng.choice(['dev', 'common', 'bin'])}"
        for n in range(3000)
    ]  # noqa: E501
    reports = []
    for n in range(machines):
        names = rng.sample(pool, packages)
        reports.append(
            {
                "agent_version": "1.0.0",
                "hardware_uuid": f"{n:08x}-0000-4000-8000-{rng.randrange(16**12):012x}",
                "serial": f"PF{n:08d}",
                "hostname": f"agent-{n}",
                "manufacturer": "LENOVO",
                "model": "21CF",
                "chassis": "laptop",
                "os_name": "Debian GNU/Linux",
                "os_version": "12",
                "cpu": "AMD Ryzen 7 PRO 6850U",
                "ram_mb": 15734,
                "disks": [
                    {
                        "name": "/dev/nvme0n1p2",
                        "mountpoint": "/",
                        "fstype": "ext4",
                        "size_gb": 510.1,
                    }
                ],  # fmt: skip
                "interfaces": [
                    {
                        "name": "wlp2s0",
                        "mac": f"aa:bb:cc:{n % 256:02x}:00:01",
                        "ips": [f"10.{n // 256 % 256}.{n % 256}.7"],
                    }
                ],  # fmt: skip
                "software": [
                    {"name": name, "version": f"{rng.randrange(9)}.{rng.randrange(20)}"}
                    for name in names
                ],
            }
        )
    return reports


def _changed(report: dict, rng: random.Random) -> dict:
    changed = json.loads(json.dumps(report))
    changed["ram_mb"] = 31734
    software = changed["software"]
    for package in software[:2]:
        package["version"] += ".1"
    software.pop()
    software.append({"name": f"new-tool-{rng.randrange(10**6)}", "version": "1.0"})
    return changed


def bench_upserts(key: str, machines: int, packages: int) -> dict:
    from django.test import Client

    from soporte.assets.models import Asset, AssetEvent, MachineSoftware

    client = Client(headers={"Authorization": f"Bearer {key}"})
    reports = _reports(machines, packages)
    bodies = [json.dumps(r) for r in reports]

    def post(body: str) -> None:
        response = client.post("/api/v1/assets/inventory", body, content_type="application/json")
        if response.status_code != 200:
            raise RuntimeError(
                f"inventory answered {response.status_code}: {response.content[:300]}"
            )  # noqa: E501

    cpu: dict[str, float] = {}
    server: dict[str, float] = {}

    def timed(label: str, round_bodies: list[str]) -> float:
        """Reports per second of wall time; per second of this process's CPU time (the
        client, Django and our code) kept in `cpu`, and per second of that plus the
        PostgreSQL backend's CPU time in `server` (when its /proc entry is readable)."""
        # Each round starts from a collected heap: a full collection (its moment set by
        # all that ran before) lands in no round by chance.
        gc.collect()
        started, started_cpu = time.perf_counter(), time.process_time()
        started_backend = databases.backend_cpu()
        for body in round_bodies:
            post(body)
        used = time.process_time() - started_cpu
        cpu[label] = len(round_bodies) / max(used, 1e-9)
        backend = databases.backend_cpu()
        if backend is not None and started_backend is not None:
            server[label] = len(round_bodies) / max(used + backend - started_backend, 1e-9)
        return len(round_bodies) / (time.perf_counter() - started)

    # Warm-up: the first request imports the URLconf and every area's API (over a
    # second), and the first new machine the job queue's publishing code: start-up, not
    # upserts. A refused report, then one machine of its own (not counted below).
    client.post("/api/v1/assets/inventory", "{}", content_type="application/json")
    warm = _reports(1, 5)[0] | {"hardware_uuid": "warm", "serial": "WARM", "hostname": "warm"}
    post(json.dumps(warm))
    rng = random.Random(3)
    events_before = AssetEvent.objects.count()
    first = timed("first", bodies)
    indexing = index_backlog()
    same = timed("same", bodies)
    changed_bodies = [json.dumps(_changed(r, rng)) for r in reports]
    changed = timed("changed", changed_bodies)
    history = AssetEvent.objects.count() - events_before
    machines_recorded = Asset.objects.filter(hostname__startswith="agent-").count()
    if machines_recorded != machines:
        raise RuntimeError(f"{machines_recorded} machines recorded, not {machines}")
    installed = sum(
        len(packages)
        for packages in MachineSoftware.objects.filter(
            asset__hostname__startswith="agent-"
        ).values_list("packages", flat=True)
    )
    print(
        f"inventory upserts ({machines} machines, {packages} packages each, through "
        f"POST /api/v1/assets/inventory): first report {first:,.0f}/s, the same report "
        f"again {same:,.0f}/s, with changes {changed:,.0f}/s (wall time); per second of "
        f"this process's CPU time: {cpu['first']:,.0f}, {cpu['same']:,.0f}, "
        f"{cpu['changed']:,.0f}; {installed:,} packages listed, {history:,} history entries "
        "written"
    )
    if server:
        print(
            "  per second of CPU time, this process and the PostgreSQL backend together: "
            f"{server['first']:,.0f}, {server['same']:,.0f}, {server['changed']:,.0f}"
        )
    print(
        f"  the new machines' search documents, written afterwards by the backlog job: "
        f"{indexing['indexed']} in {indexing['cpu_ms']:.0f} ms of CPU time"
        + (" (with the backend)" if indexing["with_backend"] else "")
    )
    return {
        "upsert_first_per_s": round(first, 1),
        "upsert_same_per_s": round(same, 1),
        "upsert_changed_per_s": round(changed, 1),
        "upsert_first_cpu_per_s": round(cpu["first"], 1),
        "upsert_same_cpu_per_s": round(cpu["same"], 1),
        "upsert_changed_cpu_per_s": round(cpu["changed"], 1),
        **{f"upsert_{k}_cpu_with_db_per_s": round(v, 1) for k, v in server.items()},
        "index_backlog_machines": indexing["indexed"],
        "index_backlog_cpu_ms": round(indexing["cpu_ms"], 1),
        "upsert_machines": machines,
        "upsert_packages": packages,
    }


def index_backlog() -> dict:
    """Run what the job assets.index_backlog does after the first reports (the machines'
    search documents; a worker's time, not the reports'); its CPU time."""
    from soporte.assets.indexing import index_backlog as drain

    started, started_backend = time.process_time(), databases.backend_cpu()
    indexed = drain()
    used = time.process_time() - started
    backend = databases.backend_cpu()
    if backend is not None and started_backend is not None:
        used += backend - started_backend
    return {"indexed": indexed, "cpu_ms": used * 1000, "with_backend": backend is not None}


def bench_list(admin, orgs, requests: int) -> dict:
    from django.test import Client

    from soporte.accounts.services import create_api_token

    _token, key = create_api_token(acting_user=admin, name="bench")
    client = Client(headers={"Authorization": f"Bearer {key}"})
    shapes = {
        "first page": "/api/v1/assets?limit=50",
        "by kind": "/api/v1/assets?limit=50&kind=monitor",
        "by status": "/api/v1/assets?limit=50&status=in_repair",
        "by organization": f"/api/v1/assets?limit=50&organization={orgs[3].pk}",
        "search a serial": "/api/v1/assets?limit=50&q=SN0A",
    }

    def get(url: str) -> tuple[float, dict]:
        started = time.perf_counter()
        response = client.get(url)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code}")
        return elapsed, json.loads(response.content)

    results = {}
    all_samples: list[float] = []
    for label, url in shapes.items():
        get(url)  # warm-up
        samples = []
        per_shape = max(requests // (len(shapes) + 1), 20)
        for _ in range(per_shape):
            samples.append(get(url)[0])
        results[label] = samples
        all_samples += samples
    # 20 pages deep, following the cursor.
    deep: list[float] = []
    while len(deep) < max(requests // (len(shapes) + 1), 20):
        cursor = None
        for _ in range(20):
            elapsed, body = get("/api/v1/assets?limit=50" + (f"&cursor={cursor}" if cursor else ""))
            deep.append(elapsed)
            cursor = body["next_cursor"]
    results["20 pages deep"] = deep
    all_samples += deep
    for label, samples in results.items():
        print(
            f"  list {label:<16} p50 {statistics.median(samples):6.2f} ms  "
            f"p95 {percentile(samples, 95):6.2f} ms  ({len(samples)} requests)"
        )
    p95 = percentile(all_samples, 95)
    worst = max(results, key=lambda k: percentile(results[k], 95))
    print(f"asset list, all shapes: p50 {statistics.median(all_samples):.2f} ms, p95 {p95:.2f} ms")

    page = Client()
    page.force_login(admin)
    page.get("/desk/assets/")
    desk = []
    for _ in range(40):
        started = time.perf_counter()
        page.get("/desk/assets/")
        desk.append((time.perf_counter() - started) * 1000)
    print(
        f"desk list page: p50 {statistics.median(desk):.2f} ms, p95 {percentile(desk, 95):.2f} ms"
    )
    return {
        "list_p50_ms": round(statistics.median(all_samples), 2),
        "list_p95_ms": round(p95, 2),
        "list_worst_shape": worst,
        "list_worst_p95_ms": round(percentile(results[worst], 95), 2),
        "desk_p95_ms": round(percentile(desk, 95), 2),
    }


def run_one(database: str, total: int, machines: int, packages: int, requests: int) -> dict:
    tmp = tempfile.mkdtemp(prefix="soporte-bench-assets-")
    url = PG_URL if database == "postgres" else f"sqlite:///{tmp}/bench.sqlite3"
    if database == "postgres":
        reset_postgres(url)
    setup_django(url, tmp)
    from django.db import connection

    print(f"\n== {connection.vendor}: {total:,} assets ==", flush=True)
    started = time.perf_counter()
    admin, orgs, owners, locations, key = prepare()
    log(f"{connection.vendor}: loading {total:,} assets")
    result = {"database": connection.vendor, "assets": total}
    result.update(bulk_load(total, owners, locations))
    print(
        f"bulk load: {total:,} assets in {result['load_s']} s (+ ANALYZE {result['analyze_s']} s)"
    )
    result.update(bench_upserts(key, machines, packages))
    result.update(bench_list(admin, orgs, requests))
    result["total_s"] = round(time.perf_counter() - started, 1)
    print(f"{connection.vendor} done in {result['total_s']} s", flush=True)
    connection.close()
    shutil.rmtree(tmp, ignore_errors=True)
    return result


def summary(results: list[dict]) -> None:
    print("\nAssets benchmark: target vs measured")
    print(f"{'database':<11}{'measure':<50}{'target':>10}{'measured':>12}  result")
    for r in results:
        if "error" in r:
            print(f"{r['database']:<11}{'(failed)':<50}{'':>10}{'':>12}  {r['error']}")
            continue
        rows = [
            ("upserts/s, the same report again (daily run)", f">= {UPSERT_TARGET:g}",
             r["upsert_same_per_s"], r["upsert_same_per_s"] >= UPSERT_TARGET),
            ("upserts/s, a report with changes", f">= {UPSERT_TARGET:g}",
             r["upsert_changed_per_s"], r["upsert_changed_per_s"] >= UPSERT_TARGET),
            (f"upserts/s, first report ({r['upsert_packages']} packages)", f">= {UPSERT_TARGET:g}",
             r["upsert_first_per_s"], r["upsert_first_per_s"] >= UPSERT_TARGET),
            ("  per s of our CPU: first / same / changed", "-",
             r.get("upsert_first_cpu_per_s", 0), None),
            ("", "-", r.get("upsert_same_cpu_per_s", 0), None),
            ("", "-", r.get("upsert_changed_cpu_per_s", 0), None),
            (f"asset list p95, {r['assets']:,} assets (ms)", f"<= {LIST_P95_TARGET_MS:g}",
             r["list_p95_ms"], r["list_p95_ms"] <= LIST_P95_TARGET_MS),
            (f"  its slowest shape: {r['list_worst_shape']} (ms)", f"<= {LIST_P95_TARGET_MS:g}",
             r["list_worst_p95_ms"], r["list_worst_p95_ms"] <= LIST_P95_TARGET_MS),
            ("desk list page p95 (ms)", "-", r["desk_p95_ms"], None),
            (f"bulk load, {r['assets']:,} assets (s)", "-", r["load_s"], None),
        ]  # fmt: skip
        for label, target, measured, ok in rows:
            verdict = "info" if ok is None else "PASS" if ok else "MISS"
            print(f"{r['database']:<11}{label:<50}{target:>10}{measured:>12,.1f}  {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--assets", type=int, default=100_000)
    parser.add_argument("--machines", type=int, default=400)
    parser.add_argument("--packages", type=int, default=300)
    parser.add_argument("--requests", type=int, default=240)
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"])
    parser.add_argument("--result-file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.result_file:
        result = run_one(args.database, args.assets, args.machines, args.packages, args.requests)
        Path(args.result_file).write_text(json.dumps(result))
        return
    results = databases.measure(
        __file__,
        "assets",
        args.database,
        [
            "--assets",
            str(args.assets),
            "--machines",
            str(args.machines),
            "--packages",
            str(args.packages),
            "--requests",
            str(args.requests),
        ],  # fmt: skip
    )
    summary(results)
    databases.save("assets", results, results)


if __name__ == "__main__":
    main()
