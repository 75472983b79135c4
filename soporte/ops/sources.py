"""Reading another system's database (SQLite or PostgreSQL) with plain SQL, outside
Django's connections: rows as dicts, read-only."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote, urlsplit


class SourceError(Exception):
    """The source database cannot be read; the message says why."""


class Source:
    def __init__(self, url: str):
        parts = urlsplit(url)
        self.vendor = {
            "sqlite": "sqlite",
            "postgres": "postgresql",
            "postgresql": "postgresql",
        }.get(parts.scheme)
        if self.vendor is None:
            raise SourceError(
                f"unsupported database URL {parts.scheme}://...: use sqlite:///PATH or postgres://"
            )
        try:
            if self.vendor == "sqlite":
                path = unquote(parts.path)
                if path.startswith("//"):
                    path = path[1:]
                self.connection: Any = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
                self.connection.row_factory = sqlite3.Row
            else:
                import psycopg
                from psycopg.rows import dict_row

                self.connection = psycopg.connect(url, row_factory=dict_row, autocommit=True)
        except (sqlite3.Error, OSError) as error:
            raise SourceError(f"cannot open the database: {error}") from None
        except Exception as error:  # psycopg's OperationalError and friends
            raise SourceError(f"cannot connect to the database: {error}") from None

    def rows(self, sql: str, params: tuple = ()) -> Iterator[dict[str, Any]]:
        if self.vendor == "postgresql":
            sql = sql.replace("?", "%s")
        try:
            cursor = self.connection.execute(sql, params)
            for row in cursor:
                yield dict(row)
        except sqlite3.Error as error:
            raise SourceError(str(error)) from None

    def tables(self) -> set[str]:
        if self.vendor == "sqlite":
            query = "SELECT name AS name FROM sqlite_master WHERE type = 'table'"
        else:
            query = (
                "SELECT table_name AS name FROM information_schema.tables "
                "WHERE table_schema = current_schema()"
            )
        return {row["name"] for row in self.rows(query)}

    def close(self) -> None:
        self.connection.close()
