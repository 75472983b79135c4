"""An installation upgrades in place: a populated database from each earlier release of
the schema (tests/fixtures/schema/) is migrated by `soporte migrate` to the current one,
and every row of every table it had is still there with the same values in its columns."""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "schema"
RELEASES = sorted(p.name.removesuffix(".sqlite3.gz") for p in FIXTURES.glob("*.sqlite3.gz"))
# Grow with every new model, by design (Django fills them after each migration).
GROWING = {"django_migrations", "django_content_type", "auth_permission"}
PG_DB = "soporte_schema_upgrade"
UNQUALIFIED = {"schema-d958ab9"}
SEARCH_PATH = b"SELECT pg_catalog.set_config('search_path', '', false);"


def _migrate(database_url: str, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "SOPORTE_DATABASE_URL": database_url,
        "SOPORTE_VAR_DIR": str(tmp_path / "var"),
        "SOPORTE_SECRET_KEY": "test",
    }
    done = subprocess.run(
        [sys.executable, "-m", "soporte", "migrate", "-v0"],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]


def _digest(db, table: str, columns: list[str]) -> tuple[int, str]:
    quoted = ", ".join(f'"{c}"' for c in sorted(columns))
    digest, count = hashlib.sha256(), 0
    for row in db.execute(f'SELECT {quoted} FROM "{table}" ORDER BY 1, 2'):  # noqa: S608
        digest.update(repr(tuple(_plain(v) for v in row)).encode())
        count += 1
    return count, digest.hexdigest()


def _plain(value):
    return bytes(value) if isinstance(value, memoryview) else value


@pytest.mark.slow
@pytest.mark.parametrize("release", RELEASES)
def test_a_populated_sqlite_database_upgrades_without_loss(release, tmp_path):
    path = tmp_path / "site.sqlite3"
    with gzip.open(FIXTURES / f"{release}.sqlite3.gz") as packed, path.open("wb") as out:
        shutil.copyfileobj(packed, out)
    with sqlite3.connect(path) as db:
        old_columns = {
            name: [c[1] for c in db.execute(f'PRAGMA table_info("{name}")')]
            for (name,) in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
                " AND name NOT LIKE '%_fts%'"
            )
        }
        before = {name: _digest(db, name, cols) for name, cols in old_columns.items()}
    assert before["tickets_ticket"][0] > 0, "the fixture holds tickets"
    _migrate(f"sqlite:///{path}", tmp_path)
    with sqlite3.connect(path) as db:
        now = {
            name: [c[1] for c in db.execute(f'PRAGMA table_info("{name}")')]
            for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        for table, (count, digest) in before.items():
            if table in GROWING:
                continue
            assert table in now, f"the table {table} was dropped"
            dropped = set(old_columns[table]) - set(now[table])
            assert not dropped, f"{table}: columns dropped: {dropped}"
            assert _digest(db, table, old_columns[table]) == (count, digest), f"{table} changed"
        migrated = {
            name for (name,) in db.execute("SELECT app || '.' || name FROM django_migrations")
        }
    assert "tickets.0004_event_kinds_other_areas" in migrated


def _pg_answers() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 5432), 2).close()
    except OSError:
        return False
    return True


@pytest.mark.slow
@pytest.mark.database
@pytest.mark.parametrize("release", RELEASES)
def test_a_populated_postgresql_database_upgrades_without_loss(release, tmp_path):
    if not os.environ.get("SOPORTE_DATABASE_URL", "").startswith("postgres"):
        pytest.skip("runs in the PostgreSQL run of the suite")
    if not _pg_answers():
        pytest.skip("PostgreSQL is not answering on 127.0.0.1:5432")
    import psycopg

    psql = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-q", "-v", "ON_ERROR_STOP=1"]
    subprocess.run(
        [*psql, "-c", f"DROP DATABASE IF EXISTS {PG_DB}"], check=True, capture_output=True
    )
    subprocess.run([*psql, "-c", f"CREATE DATABASE {PG_DB}"], check=True, capture_output=True)
    url = f"postgres://postgres@127.0.0.1:5432/{PG_DB}"
    try:
        dump = gzip.decompress((FIXTURES / f"{release}.pg.sql.gz").read_bytes())
        if release in UNQUALIFIED:
            # Dumps of those releases load only with the public schema on the search path
            # (search/migrations/0003 fixed the function that needed it).
            dump = dump.replace(SEARCH_PATH, b"SET search_path = public;", 1)
        load = subprocess.run([*psql, "-d", PG_DB], input=dump, capture_output=True)
        assert load.returncode == 0, load.stderr[-2000:]

        def tables(conn) -> dict[str, list[str]]:
            rows = conn.execute(
                "SELECT table_name, column_name FROM information_schema.columns "
                "WHERE table_schema = 'public' AND table_name NOT LIKE 'pg_%' "
                "ORDER BY table_name, ordinal_position"
            ).fetchall()
            found: dict[str, list[str]] = {}
            for table, column in rows:
                found.setdefault(table, []).append(column)
            return found

        def digest(conn, table: str, columns: list[str]) -> tuple[int, str]:
            quoted = ", ".join(f'"{c}"::text' for c in sorted(columns))
            rows = conn.execute(f'SELECT {quoted} FROM "{table}" ORDER BY 1, 2').fetchall()  # noqa: S608
            return len(rows), hashlib.sha256(repr(rows).encode()).hexdigest()

        with psycopg.connect(f"host=127.0.0.1 user=postgres dbname={PG_DB}") as conn:
            old = {t: c for t, c in tables(conn).items() if t not in GROWING}
            before = {t: digest(conn, t, c) for t, c in old.items()}
        assert before["tickets_ticket"][0] > 0
        _migrate(url, tmp_path)
        with psycopg.connect(f"host=127.0.0.1 user=postgres dbname={PG_DB}") as conn:
            now = tables(conn)
            for table, columns in old.items():
                assert table in now, f"the table {table} was dropped"
                assert set(columns) <= set(now[table]), f"{table}: columns dropped"
                assert digest(conn, table, columns) == before[table], f"{table} changed"
        # And the upgraded database's own dump loads back as it is (no search_path edit).
        dumped = subprocess.run(
            ["pg_dump", "-h", "127.0.0.1", "-U", "postgres", "--no-owner", PG_DB],
            capture_output=True, check=True,
        ).stdout  # fmt: skip
        copy = f"{PG_DB}_copy"
        for statement in (f"DROP DATABASE IF EXISTS {copy}", f"CREATE DATABASE {copy}"):
            subprocess.run([*psql, "-c", statement], check=True, capture_output=True)
        reload = subprocess.run([*psql, "-d", copy], input=dumped, capture_output=True)
        assert reload.returncode == 0, reload.stderr[-2000:]
        subprocess.run([*psql, "-c", f"DROP DATABASE {copy}"], capture_output=True)
    finally:
        subprocess.run(
            [*psql, "-c", f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)"], capture_output=True
        )
