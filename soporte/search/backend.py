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
from typing import Any

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper

from .models import Document
from .text import Query

# Columns a re-indexed document may change; (kind, object_id) identifies it.
_UPDATE_FIELDS = ["ticket", "organization", "internal", "title", "body", "updated_at"]


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
    # are allowed by their organization_id column, and `tickets_sql` selects only the
    # other tickets they see (their own in other organizations, usually none).
    organization_id: int | None = None


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
        if not documents:
            return
        Document.objects.using(self.connection.alias).bulk_create(
            documents,
            update_conflicts=True,
            unique_fields=["kind", "object_id"],
            update_fields=_UPDATE_FIELDS,
        )
        self.index(documents)

    @abstractmethod
    def index(self, documents: list[Document]) -> None:
        """Index entries for freshly written documents, when the database does not
        compute them itself."""

    @abstractmethod
    def clear(self, kinds: Sequence[str]) -> None:
        """Remove the documents of these kinds with their index entries, before a full
        reindex of them; documents of other kinds (written by other areas) stay found."""

    @abstractmethod
    def optimize(self) -> None:
        """After a bulk load: compact the index and refresh the planner's statistics."""

    @abstractmethod
    def search(
        self, query: Query, scope: Scope, *, limit: int, offset: int, after_id: int = 0
    ) -> list[Hit]:
        """One hit per ticket in scope, best first; the ticket's score is its best
        document's. Only documents with an id above `after_id` count. `query` has at
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
