"""Turn a database URL into a Django DATABASES entry.

Supported: ``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db`` and
``postgres://user:password@host:port/name`` (also ``postgresql://``), with
``?key=value`` query options passed through to the driver.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from .env import EnvError

# Applied on every new SQLite connection: WAL lets readers run beside the writer,
# NORMAL sync is durable in WAL mode except on power loss of the last commits. The WAL
# is copied back into the database (a checkpoint, with its fsync) every 10,000 pages
# (~40 MB) rather than SQLite's 1,000: pages written again meanwhile (indexes, the job
# queue) are copied once, and a burst of mail spends less time committing.
SQLITE_INIT = (
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=NORMAL;"
    "PRAGMA wal_autocheckpoint=10000;"
    "PRAGMA foreign_keys=ON;"
    "PRAGMA busy_timeout=5000;"
    "PRAGMA cache_size=-32000;"
    "PRAGMA temp_store=MEMORY;"
)


def parse_database_url(url: str) -> dict[str, Any]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    options = dict(parse_qsl(parts.query))
    if scheme == "sqlite":
        name = unquote(parts.path[1:] if parts.path.startswith("/") else parts.path)
        if not name:
            raise EnvError("SOPORTE_DATABASE_URL: sqlite URL needs a file path")
        return {
            # Django's, converting each statement's placeholders once (lib/sqlite).
            "ENGINE": "soporte.lib.sqlite",
            "NAME": name,
            # IMMEDIATE takes the write lock at BEGIN, so concurrent writers queue on
            # busy_timeout instead of failing with "database is locked" mid-transaction.
            "OPTIONS": {"init_command": SQLITE_INIT, "transaction_mode": "IMMEDIATE", **options},
            # A connection kept between requests: opening one (its pragmas and search
            # functions) cost 2.5 ms of CPU, more than an unchanged inventory report.
            "CONN_MAX_AGE": 60,
            "CONN_HEALTH_CHECKS": True,
            # Tests get Django's in-memory database, as with its own engine's name
            # (which pytest-django looks for).
            "TEST": {"NAME": ":memory:"},
        }
    if scheme in {"postgres", "postgresql", "pgsql"}:
        name = unquote(parts.path.lstrip("/"))
        if not name:
            raise EnvError("SOPORTE_DATABASE_URL: postgres URL needs a database name")
        try:
            port = parts.port
        except ValueError:
            raise EnvError("SOPORTE_DATABASE_URL: the port must be a number") from None
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": name,
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(port or ""),
            "CONN_MAX_AGE": 60,
            "CONN_HEALTH_CHECKS": True,
            "OPTIONS": options,
        }
    raise EnvError(
        f"SOPORTE_DATABASE_URL: unsupported scheme {scheme!r} (use sqlite:// or postgres://)"
    )
