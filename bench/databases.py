"""What every per-database benchmark shares: which databases to measure, one child process
per database (a fresh Django setup each, so SQLite and PostgreSQL runs never share state),
and the results saved under bench/results/. Stdlib only."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def postgres_answers() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 5432), 2).close()
        return True
    except OSError:
        return False


def chosen(database: str | None) -> list[str]:
    """sqlite or postgres as asked; by default SQLite, and PostgreSQL when it answers."""
    if database in ("sqlite", "postgres"):
        return [database]
    if postgres_answers():
        return ["sqlite", "postgres"]
    print("PostgreSQL is not answering on 127.0.0.1:5432: SQLite only.")
    return ["sqlite"]


def measure(script: str, name: str, database: str | None, options: list[str]) -> list[dict]:
    """Run `script --database D OPTIONS --result-file F` once per chosen database; a run
    that fails gives {"database": D, "error": ...}."""
    results = []
    for each in chosen(database):
        out = Path(tempfile.mkdtemp(prefix=f"soporte-bench-{name}-")) / "result.json"
        command = [sys.executable, script, "--database", each, *options, "--result-file", str(out)]
        code = subprocess.run(command, check=False).returncode
        if code or not out.exists():
            results.append({"database": each, "error": f"exited with status {code}"})
        else:
            results.append(json.loads(out.read_text()))
    return results


def save(name: str, data: object, results: list[dict]) -> None:
    """Keep `data` in bench/results/NAME-<time>.json; exit 1 if a run failed."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / f"{name}-{stamp}.json").write_text(json.dumps(data, indent=2))
    if any("error" in r for r in results):
        sys.exit(1)


def backend_cpu() -> float | None:
    """Seconds of CPU this connection's PostgreSQL backend has used (user + system, from
    /proc: the server on this machine), or None (SQLite runs in this process)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
