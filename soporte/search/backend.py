"""One full-text search interface, two implementations picked by the database in use:
SQLite FTS5 (fts5.py) and PostgreSQL tsvector with GIN (postgres.py).

A backend writes documents with their index entries, and finds the best-ranked tickets
for a parsed query among the tickets a subquery allows (policy.visible_tickets, compiled
to SQL by the caller). Everything else (what to index, permissions, snippets) is shared.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper

from .models import Document, Kind
from .text import Query


class Entry(NamedTuple):
    """A document to write, as its column values (named as the columns): what indexing
    tickets builds, thousands a minute, instead of model instances."""

    kind: str
    object_id: int
    ticket_id: int | None
    organization_id: int | None
    requester_id: int | None
    internal: bool
    title: str
    body: str
    updated_at: datetime

    @classmethod
    def of(cls, document: Document) -> Entry:
        entry = cls(*(getattr(document, column) for column in cls._fields))
        # As the model field saves it: a naive time is taken as in the current time zone.
        updated_at = Document._meta.get_field("updated_at").get_prep_value(entry.updated_at)
        return entry._replace(updated_at=updated_at)


# (kind, object_id) identifies a document; a re-indexing may change its other columns.
# RETURNING gives the rows in the order of VALUES on both databases, as Django's own
# bulk_create relies on. Names from Entry and the model's own table, not from input.
_KEY = ("kind", "object_id")
_UPSERT = (
    f"INSERT INTO {Document._meta.db_table} ({', '.join(Entry._fields)}) VALUES {{values}}"  # noqa: S608
    f" ON CONFLICT ({', '.join(_KEY)}) DO UPDATE SET "
    + ", ".join(f"{name} = excluded.{name}" for name in Entry._fields if name not in _KEY)
    + " RETURNING id"
)


@dataclass(frozen=True)
class Hit:
    ticket_id: int
    document_id: int  # the ticket's best-ranked document
    score: float  # higher is better


@dataclass(frozen=True)
class Scope:
    """Whose documents a search may return, as SQL made from policy.visible_tickets.

    For an agent (who sees most tickets, internal documents too) `tickets_sql` selects
    the ticket of the document aliased `d` when visible, for an EXISTS; for a requester
    (who sees few) it selects the ids of all their tickets, for an IN."""

    tickets_sql: str
    params: Sequence[Any]
    agent: bool
    # Sees many tickets (an agent, an organization's lead): a hint that a broad search
    # is cheaper answered from the newest documents first; never a permission.
    broad: bool = False
    # Sees every ticket of this organization (an organization's lead): those documents
    # are allowed by their organization_id column.
    organization_id: int | None = None
    # Sees every ticket they requested (every requester): those documents are allowed by
    # their requester_id column. With either of these, `tickets_sql` selects only the
    # other tickets they see (watched ones, usually none).
    requester_id: int | None = None

    def document_columns(self) -> list[tuple[str, int]]:
        """The search_document columns (requester_id, organization_id) that allow a
        requester's documents by themselves, with their values; none for an agent."""
        pairs = (("requester_id", self.requester_id), ("organization_id", self.organization_id))
        return [(column, value) for column, value in pairs if value is not None]


class Backend(ABC):
    vendor: str
    # Whether a broad requester's search goes window by window, as an agent's does: yes
    # where the cost grows with the matches walked (FTS5), no where it is the listing of
    # the requester's tickets, paid again in each window (PostgreSQL).
    windows_for_requesters: bool = False

    def __init__(self, connection: BaseDatabaseWrapper):
        self.connection = connection

    def write(self, documents: list[Document]) -> None:
        """Insert these documents, or replace those with the same (kind, object_id), and
        their index entries; sets each one's pk. Call inside a transaction."""
        ids = self.write_entries([Entry.of(document) for document in documents])
        for document, pk in zip(documents, ids, strict=True):
            document.pk = pk
            document._state.adding = False
            document._state.db = self.connection.alias

    def write_entries(self, entries: Sequence[Entry]) -> list[int]:
        """write() for documents given as their values: their ids, in order. The upsert
        bulk_create(update_conflicts=True) would run, written here: compiling it cost
        more than running it."""
        ids: list[int] = []
        if not entries:
            return ids
        ops = self.connection.ops
        size = max(1, ops.bulk_batch_size(Entry._fields, entries))
        one_row = "(" + ", ".join(["%s"] * len(Entry._fields)) + ")"
        for start in range(0, len(entries), size):
            batch = entries[start : start + size]
            values = ", ".join([one_row] * len(batch))
            params = [
                value
                for entry in batch
                for value in (*entry[:-1], ops.adapt_datetimefield_value(entry.updated_at))
            ]
            with self.connection.cursor() as cursor:
                cursor.execute(_UPSERT.format(values=values), params)  # noqa: S608
                ids += [row[0] for row in cursor.fetchall()]
        self.index([(pk, entry.title, entry.body) for pk, entry in zip(ids, entries, strict=True)])
        return ids

    def rebuild_workers(self) -> int:
        """How many connections a full reindex writes through at once: one, unless the
        database computes the index entries in processes of its own."""
        return 1

    def rebuild(self, after_ticket: int, last_ticket: int) -> int:
        """Write the documents of the tickets with ids in (after_ticket, last_ticket] from
        the tickets and messages tables in one INSERT ... SELECT, as services.index_tickets
        would (see there): the text never travels to Python. Documents already there
        (written meanwhile by a ticket's own indexing) are kept. Returns how many were
        written. Call inside a transaction."""
        with self.connection.cursor() as cursor:
            cursor.execute(*self._rebuild_sql(after_ticket, last_ticket))
            return cursor.rowcount

    def _rebuild_sql(self, after_ticket: int, last_ticket: int) -> tuple[str, list]:
        from soporte.tickets.models import Message, Ticket

        from .services import MAX_BODY  # the one limit, shared with index_tickets

        tickets, messages = Ticket._meta.db_table, Message._meta.db_table
        # n = 1 on a ticket's first public message by (created_at, id): its description,
        # part of the ticket's document; every other message is a document of its own.
        # Rows are numbered in ticket order, so document ids follow the tickets' ids as a
        # reindex one ticket at a time would number them.
        sql = f"""
            WITH chosen AS (
                SELECT id, subject, resolution, organization_id, requester_id, updated_at
                FROM {tickets} WHERE id > %s AND id <= %s AND merged_into_id IS NULL
            ), conversation AS (
                SELECT id, ticket_id, internal, body_text, created_at,
                       ROW_NUMBER() OVER (
                           PARTITION BY ticket_id, internal ORDER BY created_at, id
                       ) AS n
                FROM {messages} WHERE ticket_id > %s AND ticket_id <= %s
            )
            INSERT INTO search_document (
                kind, object_id, ticket_id, organization_id, requester_id, internal,
                title, body, updated_at
            )
            SELECT kind, object_id, ticket_id, organization_id, requester_id, internal,
                   title, body, updated_at
            FROM (
                SELECT %s AS kind, t.id AS object_id, t.id AS ticket_id, t.organization_id,
                       t.requester_id, FALSE AS internal, SUBSTR(t.subject, 1, 300) AS title,
                       SUBSTR(CASE
                           WHEN COALESCE(c.body_text, '') = '' THEN t.resolution
                           WHEN t.resolution = '' THEN c.body_text
                           ELSE c.body_text || %s || t.resolution
                       END, 1, %s) AS body,
                       t.updated_at, 0 AS position, t.id AS message_id
                FROM chosen AS t
                LEFT JOIN conversation AS c ON c.ticket_id = t.id AND NOT c.internal AND c.n = 1
                UNION ALL
                SELECT %s, c.id, c.ticket_id, t.organization_id, t.requester_id, c.internal,
                       '', SUBSTR(c.body_text, 1, %s), c.created_at, 1, c.id
                FROM conversation AS c JOIN chosen AS t ON t.id = c.ticket_id
                WHERE c.internal OR c.n > 1
            ) AS rows
            WHERE TRUE  -- SQLite reads ON CONFLICT right only after a WHERE
            ORDER BY ticket_id, position, updated_at, message_id
            ON CONFLICT (kind, object_id) DO NOTHING
        """  # noqa: S608 - table names from the models; every value is a parameter
        params: list[object] = [after_ticket, last_ticket, after_ticket, last_ticket]
        params += [Kind.TICKET.value, "\n\n", MAX_BODY, Kind.MESSAGE.value, MAX_BODY]
        return sql, params

    @abstractmethod
    def index(self, texts: list[tuple[int, str, str]]) -> None:
        """Index entries for freshly written documents, given as (id, title, body), when
        the database does not compute them itself."""

    @abstractmethod
    def clear(self, kinds: Sequence[str]) -> None:
        """Remove the documents of these kinds with their index entries, before a full
        reindex of them; documents of other kinds (written by other areas) stay found."""

    @abstractmethod
    def optimize(self) -> None:
        """After a bulk load: compact the index and refresh the planner's statistics."""

    @abstractmethod
    def search(
        self,
        query: Query,
        scope: Scope,
        *,
        limit: int,
        offset: int,
        after_id: int = 0,
        window: int = 0,
    ) -> list[Hit]:
        """One hit per ticket in scope, best first; the ticket's score is its best
        document's. Only documents with an id above `after_id` count: the newest
        `window` documents, when it is given (a hint for the plan). `query` has at
        least one word."""


def get_backend(using: str = "default") -> Backend:
    connection = connections[using]
    if connection.vendor == "postgresql":
        from .postgres import PostgresBackend

        return PostgresBackend(connection)
    if connection.vendor == "sqlite":
        from .fts5 import Fts5Backend

        return Fts5Backend(connection)
    raise NotImplementedError(f"No full-text search for the {connection.vendor} database.")
