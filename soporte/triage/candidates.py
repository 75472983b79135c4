"""Candidates for similar tickets, read straight from the search index (soporte/search):
the newest ticket documents that hold any of a few chosen words. No ranking in SQL:
with "any word" over a small vocabulary nearly every ticket matches, and ranking them
all (bm25, ts_rank_cd) cost up to a second at 100,000 tickets. Walking the matches
newest first and stopping at `limit` is bounded; the caller keeps those the person may
see (a primary-key lookup of a few hundred ids, where a scope subquery listed every
visible ticket) and re-ranks that small set.

The SQL names the search area's tables (search_document, its FTS5 table on SQLite, its
tsvector column on PostgreSQL); every value is a parameter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection

from soporte.search.models import Kind
from soporte.search.text import Query

# Each word: its English or its Spanish lexeme (as the search area's own queries).
_PG_WORD = (
    "(plainto_tsquery('english', search_unaccent(%s))"
    " || plainto_tsquery('spanish', search_unaccent(%s)))"
)
TEXT_CHARS = 2000  # of a document's body, enough to compare tickets by


@dataclass(frozen=True)
class Candidate:
    document_id: int  # where the next page starts (`before`)
    ticket_id: int
    subject: str
    body: str


def newest_matching(
    query: Query, *, every: bool, exclude: int, limit: int, before: int | None = None
) -> list[Candidate]:
    """The newest `limit` public ticket documents holding every one of the query's
    words (or any, when not `every`), other than ticket `exclude`'s, older than
    document `before` when given."""
    if not query:
        return []
    start = before if before is not None else 2**62
    if connection.vendor == "postgresql":
        words = (" && " if every else " || ").join([_PG_WORD] * len(query.words))
        sql = f"""
            SELECT d.id, d.object_id, d.title, LEFT(d.body, {TEXT_CHARS})
            FROM search_document AS d
            WHERE d.vector @@ ({words}) AND d.id < %s
              AND d.kind = %s AND NOT d.internal AND d.object_id <> %s
            ORDER BY d.id DESC
            LIMIT %s
        """  # noqa: S608
        matching: list[Any] = [w for word in query.words for w in (word, word)]
    else:
        # FTS5 hands its matches over newest (highest rowid) first and stops at LIMIT.
        sql = f"""
            SELECT d.id, d.object_id, d.title, SUBSTR(d.body, 1, {TEXT_CHARS})
            FROM search_document_fts AS f
            JOIN search_document AS d ON d.id = f.rowid
            WHERE search_document_fts MATCH %s AND f.rowid < %s
              AND d.kind = %s AND NOT d.internal AND d.object_id <> %s
            ORDER BY f.rowid DESC
            LIMIT %s
        """  # noqa: S608
        matching = [_fts5(query.terms, every)]
    params = [*matching, start, Kind.TICKET, exclude, limit]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [Candidate(doc, pk, title, body or "") for doc, pk, title, body in cursor]


def _fts5(terms: Sequence[tuple[str, ...]], every: bool) -> str:
    """Every word (or any), each by either of its stems, every stem a quoted string."""
    return (" AND " if every else " OR ").join(
        "(" + " OR ".join('"' + stem.replace('"', '""') + '"' for stem in term) + ")"
        for term in terms
    )
