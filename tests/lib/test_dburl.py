"""SOPORTE_DATABASE_URL -> a Django DATABASES entry."""

import pytest

from soporte.lib.dburl import SQLITE_INIT, parse_database_url
from soporte.lib.env import EnvError


def test_a_relative_sqlite_path():
    db = parse_database_url("sqlite:///var/soporte.sqlite3")
    assert db["ENGINE"] == "soporte.lib.sqlite"
    assert db["NAME"] == "var/soporte.sqlite3"


def test_an_absolute_sqlite_path():
    db = parse_database_url("sqlite:////srv/soporte/db.sqlite3")
    assert db["NAME"] == "/srv/soporte/db.sqlite3"


def test_sqlite_uses_wal_and_immediate_transactions():
    db = parse_database_url("sqlite:///db.sqlite3")
    assert db["OPTIONS"]["init_command"] == SQLITE_INIT
    assert "journal_mode=WAL" in SQLITE_INIT
    assert "foreign_keys=ON" in SQLITE_INIT
    assert db["OPTIONS"]["transaction_mode"] == "IMMEDIATE"


def test_a_percent_encoded_sqlite_path_is_decoded():
    assert parse_database_url("sqlite:////tmp/my%20dir/db.sqlite3")["NAME"] == (
        "/tmp/my dir/db.sqlite3"
    )


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///"])
def test_sqlite_without_a_path_is_refused(url):
    with pytest.raises(EnvError, match="SOPORTE_DATABASE_URL: sqlite URL needs a file path"):
        parse_database_url(url)


def test_a_full_postgres_url():
    db = parse_database_url("postgres://soporte:s3cret@db.internal:6543/helpdesk")
    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert (db["NAME"], db["USER"], db["PASSWORD"]) == ("helpdesk", "soporte", "s3cret")
    assert (db["HOST"], db["PORT"]) == ("db.internal", "6543")
    assert db["CONN_HEALTH_CHECKS"] is True
    assert db["OPTIONS"] == {}


@pytest.mark.parametrize("scheme", ["postgres", "postgresql", "pgsql", "PostgreSQL"])
def test_every_postgres_scheme_spelling(scheme):
    db = parse_database_url(f"{scheme}://u@h/name")
    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert db["NAME"] == "name"


def test_postgres_credentials_are_percent_decoded():
    db = parse_database_url("postgres://us%40er:p%40ss%2Fw%3Ard@host/db%20name")
    assert db["USER"] == "us@er"
    assert db["PASSWORD"] == "p@ss/w:rd"
    assert db["NAME"] == "db name"


def test_postgres_without_host_or_port_uses_the_local_socket():
    db = parse_database_url("postgres:///soporte")
    assert (db["HOST"], db["PORT"], db["USER"], db["PASSWORD"]) == ("", "", "", "")


def test_postgres_ipv6_host():
    db = parse_database_url("postgres://u@[::1]:5432/soporte")
    assert (db["HOST"], db["PORT"]) == ("::1", "5432")


def test_query_options_go_to_the_driver():
    db = parse_database_url("postgres://u@h/db?sslmode=require&application_name=soporte")
    assert db["OPTIONS"] == {"sslmode": "require", "application_name": "soporte"}


def test_postgres_without_a_database_name_is_refused():
    with pytest.raises(EnvError, match="postgres URL needs a database name"):
        parse_database_url("postgres://u@host:5432/")


def test_a_bad_port_is_an_env_error_naming_the_variable():
    with pytest.raises(EnvError, match="SOPORTE_DATABASE_URL"):
        parse_database_url("postgres://u@host:port/db")


@pytest.mark.parametrize(
    "url", ["mysql://u@h/db", "postgresql+psycopg://u@h/db", "/var/db.sqlite3", ""]
)
def test_other_schemes_are_refused(url):
    with pytest.raises(EnvError, match="unsupported scheme"):
        parse_database_url(url)


def test_a_new_sqlite_connection_gets_wal_and_the_larger_checkpoint_interval(tmp_path):
    import sqlite3

    conn = sqlite3.connect(tmp_path / "db.sqlite3")
    try:
        conn.executescript(SQLITE_INIT)
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 10000
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    finally:
        conn.close()
