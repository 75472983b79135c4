"""The deployed shape under concurrent load: two web processes, a Celery worker on Redis,
PostgreSQL, clients opening and answering tickets at once. Nothing may fail, be lost or
be written twice, and every mail must be sent once. (bench/load.py does the work; `make
bench` runs it longer and prints throughput and latency.)"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _answers(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), 2).close()
    except OSError:
        return False
    return True


@pytest.mark.slow
@pytest.mark.database
def test_two_web_processes_and_a_worker_lose_and_duplicate_nothing_under_load():
    # Once per suite: the PostgreSQL run (it needs PostgreSQL and Redis whatever the suite's
    # own database is, so the SQLite run leaves it to that one).
    if not os.environ.get("SOPORTE_DATABASE_URL", "").startswith("postgres"):
        pytest.skip("runs in the PostgreSQL run of the suite")
    if not (_answers(5432) and _answers(6379)):
        pytest.skip("PostgreSQL and Redis must answer on 127.0.0.1")
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "load.py"), "--clients", "4", "--seconds", "6",
         "--database", "postgres://postgres@127.0.0.1:5432/soporte_load_test", "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.stdout.strip(), done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["tickets"] > 0 and result["replies"] > 0
    assert result["errors"] == 0, result["error_samples"]
    assert (result["lost"], result["duplicated"], result["unexpected"]) == (0, 0, 0)
    assert result["jobs_failed"] == 0 and result["jobs_left"] == 0
    assert result["reply_mail"] == result["replies"]
    assert result["mail"] == {"sent": result["tickets"] + result["replies"]}
    assert done.returncode == 0
