"""Inventory agents against a deployed site: two web processes (`soporte serve`), a Celery
worker on Redis, PostgreSQL, and concurrent agents on the loopback posting reports to
/api/v1/assets/inventory, timed by the wall clock (bench/assets.py measures one client
in-process instead, per CPU second).

    python bench/inventory_load.py [--machines 2000] [--packages 300] [--clients 8]
        [--database postgres://postgres@127.0.0.1:5432/soporte_invload | sqlite] [--json]
        [--redis-db 13]

Three phases, each stopped after --seconds (60 at most; later phases then send only the
machines the first one created): every machine's first report (creates it and its
software), the same report again (the daily run of an unchanged machine), and a report
with changes (RAM, two packages upgraded, one added, one removed). The reports are
bench/assets.py's, JSON-encoded before each phase's clock starts; all machines enroll with
one enrollment token, as a rollout does. For each phase: reports/s (wall), p50/p95
latency, errors (non-2xx), and the CPU seconds the web processes and PostgreSQL's
backends used (from /proc: the server on this machine), steadier than the wall clock
when other work shares the machine.

Afterwards: every machine is recorded exactly once, with its last accepted report's RAM,
package count and last package (its version); the search backlog is drained by the worker
(waited for, bounded) and no job failed. Exits 1 otherwise. `--database sqlite`: a SQLite
file and one web process (SQLite has one writer).
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

from assets import _changed, _reports
from load import (
    log,
    percentile,
    prepare_site,
    run_check,
    site_env,
    start_site,
    stop_site,
)

HERE = Path(__file__).resolve().parent
REDIS_DB = 13  # not bench/load.py's, so both can run at once
PHASES = ("first", "same", "changed")

SETUP = textwrap.dedent(
    """
    import django
    django.setup()
    from soporte.accounts import services as accounts
    from soporte.accounts.models import Role
    from soporte.assets import services
    admin = accounts.create_user(acting_user=None, username="admin", role=Role.ADMIN,
                                 email="admin@invload.example")
    print(services.create_enrollment_token(acting_user=admin, name="invload")[1])
    """
)

CHECK = textwrap.dedent(
    """
    import json, sys, time
    import django
    django.setup()
    from soporte.assets.models import Asset, SearchBacklog, SoftwareProduct
    from soporte.jobs.models import Job, JobStatus
    expected = json.load(open(sys.argv[1]))
    deadline = time.monotonic() + float(sys.argv[2])
    busy = [JobStatus.QUEUED, JobStatus.RUNNING]
    while SearchBacklog.objects.exists() or Job.objects.filter(status__in=busy).exists():
        if time.monotonic() > deadline:
            break
        time.sleep(0.5)
    # MachineSoftware.packages: product id -> [version, first seen]
    product = dict(SoftwareProduct.objects.filter(vendor="").values_list("name", "id"))
    counts, wrong = {}, 0
    rows = Asset.objects.filter(hostname__startswith="agent-").values_list(
        "hardware_uuid", "ram_mb", "machine_software__packages")
    for uuid, ram, packages in rows:
        counts[uuid] = counts.get(uuid, 0) + 1
        want = expected.get(uuid)
        if want is None:
            continue
        packages = packages or {}
        marker = packages.get(str(product.get(want["marker"])))
        if (ram != want["ram"] or len(packages) != want["packages"]
                or marker is None or marker[0] != want["version"]):
            wrong += 1
    print(json.dumps({
        "recorded": sum(counts.values()),
        "lost": sum(1 for uuid in expected if uuid not in counts),
        "duplicated": sum(1 for n in counts.values() if n > 1),
        "unexpected": len(set(counts) - set(expected)),
        "wrong_data": wrong,
        "backlog_left": SearchBacklog.objects.count(),
        "jobs_left": Job.objects.filter(status__in=busy).count(),
        "jobs_failed": Job.objects.filter(status=JobStatus.FAILED).count(),
    }))
    """
)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (all its threads) and its live children."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    used = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        used += sum(_cpu_seconds(int(child)) for child in children)
    return used


def _backend_pids(database: str) -> list[int]:
    """The PostgreSQL backends connected to this database (the site keeps its
    connections: CONN_MAX_AGE)."""
    name = database.rsplit("/", 1)[1]
    host = database.rsplit("/", 1)[0].split("@")[-1].split(":")[0]
    found = subprocess.run(
        ["psql", "-h", host, "-U", "postgres", "-d", name, "-Atc",
         "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
         "AND pid <> pg_backend_pid()"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return [int(pid) for pid in found.stdout.split()]


class Meter:
    """CPU seconds used by the web processes and by the database's backends."""

    def __init__(self, web: list[subprocess.Popen], database: str | None):
        self.web, self.database = web, database

    def sample(self) -> tuple[float, dict[int, float]]:
        web = sum(_cpu_seconds(p.pid) for p in self.web)
        if self.database is None:
            return web, {}
        return web, {pid: _cpu_seconds(pid) for pid in _backend_pids(self.database)}

    @staticmethod
    def used(before, after) -> tuple[float, float | None]:
        (web0, db0), (web1, db1) = before, after
        if not db1:
            return web1 - web0, None
        return web1 - web0, sum(cpu - db0.get(pid, 0.0) for pid, cpu in db1.items())


class Agent(threading.Thread):
    """One of the concurrent inventory agents: takes the next machine's report until
    none is left or time is up, over a kept-alive connection to one web process."""

    def __init__(self, port: int, key: str, bodies: list[bytes], order, stop_at: float):
        super().__init__(daemon=True)
        self.port, self.bodies, self.order, self.stop_at = port, bodies, order, stop_at
        self.headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        self.latency: list[float] = []
        self.accepted: list[int] = []
        self.errors: list[str] = []

    def run(self) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        for index in self.order:  # a shared iterator: next() holds the GIL
            if index >= len(self.bodies) or time.monotonic() > self.stop_at:
                break
            started = time.perf_counter()
            try:
                connection.request(
                    "POST", "/api/v1/assets/inventory", self.bodies[index], self.headers
                )
                response = connection.getresponse()
                data = response.read()
                status = response.status
            except (OSError, http.client.HTTPException) as error:
                connection.close()
                status, data = 0, repr(error).encode()
            self.latency.append(time.perf_counter() - started)
            if 200 <= status < 300:
                self.accepted.append(index)
            else:
                self.errors.append(f"{status}: {data[:200].decode(errors='replace')}")
        connection.close()


def run_phase(label, ports, key, bodies, clients, seconds, meter) -> tuple[dict, list[int]]:
    order = itertools.count()
    stop_at = time.monotonic() + seconds
    agents = [Agent(ports[i % len(ports)], key, bodies, order, stop_at) for i in range(clients)]
    before = meter.sample()
    started = time.perf_counter()
    for agent in agents:
        agent.start()
    for agent in agents:
        agent.join()
    elapsed = time.perf_counter() - started
    web_cpu, db_cpu = Meter.used(before, meter.sample())
    latency = [x for a in agents for x in a.latency]
    errors = [e for a in agents for e in a.errors]
    accepted = sorted(i for a in agents for i in a.accepted)
    cpu = web_cpu + (db_cpu or 0.0)
    result = {
        "phase": label,
        "sent": len(latency),
        "of": len(bodies),
        "seconds": round(elapsed, 2),
        "per_s": round(len(latency) / elapsed, 1),
        "p50_ms": round(statistics.median(latency) * 1000, 1) if latency else None,
        "p95_ms": round(percentile(latency, 95) * 1000, 1) if latency else None,
        "errors": len(errors),
        "error_samples": errors[:3],
        "web_cpu_s": round(web_cpu, 2),
        "db_cpu_s": None if db_cpu is None else round(db_cpu, 2),
        "per_cpu_s": round(len(latency) / cpu, 1) if cpu > 0 else None,
    }
    log(f"inventory load: {label}: {result['sent']} reports in {elapsed:.1f} s")
    return result, accepted


def warm_up(ports: list[int], key: str) -> None:
    """The first request to a web process imports every area's API (over a second), and
    its first new machine the job queue's publishing code: start-up, not upserts."""
    warm = _reports(1, 5)[0]
    for port in ports:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        body = warm | {"hardware_uuid": f"warm-{port}", "serial": f"WARM{port}"}
        for token, payload in (("none", b"{}"), (key, json.dumps(body | {"hostname": "warm"}))):
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            connection.request("POST", "/api/v1/assets/inventory", payload, headers)
            connection.getresponse().read()
        connection.close()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--machines", type=int, default=2000)
    parser.add_argument("--packages", type=int, default=300)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60, help="cap per phase")
    parser.add_argument("--database", default="postgres://postgres@127.0.0.1:5432/soporte_invload")
    parser.add_argument("--json", action="store_true", help="print the results as JSON only")
    parser.add_argument(
        "--redis-db", type=int, default=REDIS_DB,
        help="the broker's Redis database, flushed at start: one per run at the same time",
    )  # fmt: skip
    args = parser.parse_args()
    machines = max(1, min(args.machines, 100_000))
    clients = max(1, min(args.clients, 64))
    seconds = max(1.0, min(args.seconds, 60.0))
    sqlite = args.database == "sqlite"

    work = Path(tempfile.mkdtemp(prefix="soporte-invload-"))
    database = f"sqlite:///{work / 'site.sqlite3'}" if sqlite else args.database
    env = site_env(database, work, args.redis_db)
    processes: list[subprocess.Popen] = []
    phases: list[dict] = []
    try:
        key = prepare_site(env, work, args.redis_db, SETUP).strip()
        web = 1 if sqlite else 2
        ports = start_site(env, work, processes, web=web)
        meter = Meter(processes[:web], None if sqlite else database)
        warm_up(ports, key)
        reports = _reports(machines, args.packages)
        rng = random.Random(3)
        changed = [_changed(r, rng) for r in reports]
        log(
            f"inventory load: {machines} machines, {args.packages} packages, {clients} "
            f"agents, {web} web process(es) + a Celery worker"
        )
        last: dict[str, dict] = {}  # hardware UUID -> its last accepted report
        present = list(range(machines))
        for label in PHASES:
            chosen = changed if label == "changed" else reports
            sent = [chosen[i] for i in present]
            bodies = [json.dumps(r).encode() for r in sent]
            result, accepted = run_phase(label, ports, key, bodies, clients, seconds, meter)
            phases.append(result)
            for index in accepted:
                last[sent[index]["hardware_uuid"]] = sent[index]
            if label == "first":  # later phases: the machines that exist
                present = [present[i] for i in accepted]
        expected = {
            uuid: {
                "ram": r["ram_mb"],
                "packages": len(r["software"]),
                "marker": r["software"][-1]["name"],
                "version": r["software"][-1]["version"],
            }
            for uuid, r in last.items()
        }  # fmt: skip
        found = run_check(CHECK, expected, work, env)
    finally:
        stop_site(processes)
    result = {
        "database": "sqlite" if sqlite else "postgresql",
        "machines": machines,
        "packages": args.packages,
        "clients": clients,
        "web_processes": web,
        "phases": phases,
        **found,
    }
    ok = (
        all(p["errors"] == 0 for p in phases)
        and found["lost"] == 0 and found["duplicated"] == 0 and found["unexpected"] == 0
        and found["wrong_data"] == 0 and found["backlog_left"] == 0
        and found["jobs_failed"] == 0 and found["jobs_left"] == 0
    )  # fmt: skip
    result["ok"] = ok
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"\nInventory agents under load: {machines} machines ({args.packages} packages), "
            f"{clients} agents, {web} web process(es), 1 Celery worker, {result['database']}"
        )
        print("| report | sent | reports/s | p50 / p95 ms | errors | CPU s web / db | per CPU s |")
        print("|---|---|---|---|---|---|---|")
        for p in phases:
            print(
                f"| {p['phase']} | {p['sent']:,} / {p['of']:,}"
                f"{' (capped)' if p['sent'] < p['of'] else ''} | {p['per_s']} | "
                f"{p['p50_ms']} / {p['p95_ms']} | {p['errors']} | "
                f"{p['web_cpu_s']} / {p['db_cpu_s']} | {p['per_cpu_s']} |"
            )
        print(
            f"recorded {found['recorded']:,}: lost {found['lost']}, duplicated "
            f"{found['duplicated']}, unexpected {found['unexpected']}, wrong data "
            f"{found['wrong_data']}; search backlog left {found['backlog_left']}; jobs failed "
            f"{found['jobs_failed']}, left {found['jobs_left']}"
        )
        for p in phases:
            for sample in p["error_samples"]:
                print(f"  {p['phase']} error: {sample}")
        results = HERE / "results"
        results.mkdir(exist_ok=True)
        (results / f"inventory_load-{result['database']}.json").write_text(
            json.dumps(result, indent=1)
        )
    if ok:
        shutil.rmtree(work, ignore_errors=True)
    else:
        log(f"inventory load: logs kept in {work}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
