"""Candidates for similar tickets, read straight from the search index (soporte/search):
the newest ticket documents that hold any of a few chosen words. No ranking in SQL:
with "any word" over a small vocabulary nearly every ticket matches, and ranking them
all (bm25, ts_rank_cd) cost up to a second at 100,000 tickets. Walking the matches
newest first and stopping at `limit` is bounded.

Ids first, texts last: newest_matching() reads the newest `limit` matches' ids in one
query (no paging: PostgreSQL reads every match's row again for each page), the caller
keeps those the person may see with one primary-key lookup of them (policy), and
texts() reads the kept ones' subjects and bodies.

The SQL names the search area's tables (search_document, its FTS5 table on SQLite, its
tsvector column on PostgreSQL); every value is a parameter.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models.expressions import RawSQL
from django.db.models.functions import Substr

from soporte.search.models import Document, Kind
from soporte.search.text import Query

# Each word: its English or its Spanish lexeme (as the search area's own queries).
_PG_WORD = (
    "(plainto_tsquery('english', search_unaccent(%s))"
    " || plainto_tsquery('spanish', search_unaccent(%s)))"
)
TEXT_CHARS = 2000  # of a document's body, enough to compare tickets by


@dataclass(frozen=True)
class Match:
    document_id: int
    ticket_id: int


@dataclass(frozen=True)
class Candidate:
    document_id: int
    ticket_id: int
    subject: str
    body: str


def newest_matching(query: Query, *, every: bool, exclude: int, limit: int) -> list[Match]:
    """The newest `limit` public ticket documents holding every one of the query's
    words (or any, when not `every`), other than ticket `exclude`'s: ids alone, newest
    first."""
    if not query:
        return []
    sql, params = _newest(query, every, exclude, limit)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [Match(doc, pk) for doc, pk in cursor.fetchall()]


def ids(values: Sequence[int]) -> RawSQL:
    """A list of ids as one parameter, for `field__in=`: the ORM handles an `in` of a
    few hundred values one by one, which cost more than the query."""
    if connection.vendor == "postgresql":
        return RawSQL("SELECT unnest(%s::bigint[])", [list(values)])
    return RawSQL("SELECT value FROM json_each(%s)", [json.dumps(list(values))])


def texts(matches: Sequence[Match]) -> list[Candidate]:
    """The matches' subjects and the start of their bodies, in the matches' order: one
    primary-key lookup."""
    if not matches:
        return []
    documents = Document.objects.filter(pk__in=ids([m.document_id for m in matches]))
    rows = {
        doc: (title, body)
        for doc, title, body in documents.annotate(start=Substr("body", 1, TEXT_CHARS)).values_list(
            "pk", "title", "start"
        )
    }
    return [
        Candidate(m.document_id, m.ticket_id, rows[m.document_id][0], rows[m.document_id][1] or "")
        for m in matches
        if m.document_id in rows
    ]


def _newest(query: Query, every: bool, exclude: int, limit: int) -> tuple[str, list[Any]]:
    """The newest `limit` matches' document and ticket ids: SQL and parameters."""
    if connection.vendor == "postgresql":
        words = (" && " if every else " || ").join([_PG_WORD] * len(query.words))
        sql = f"""
            SELECT d.id, d.object_id FROM search_document AS d
            WHERE d.vector @@ ({words})
              AND d.kind = %s AND NOT d.internal AND d.object_id <> %s
            ORDER BY d.id DESC LIMIT %s
        """  # noqa: S608
        matching: list[Any] = [w for word in query.words for w in (word, word)]
    else:
        # FTS5 hands its matches over newest (highest rowid) first and stops at LIMIT.
        sql = """
            SELECT d.id, d.object_id FROM search_document_fts AS f
            JOIN search_document AS d ON d.id = f.rowid
            WHERE search_document_fts MATCH %s
              AND d.kind = %s AND NOT d.internal AND d.object_id <> %s
            ORDER BY f.rowid DESC LIMIT %s
        """
        matching = [_fts5(query.terms, every)]
    return sql, [*matching, Kind.TICKET, exclude, limit]


def _fts5(terms: Sequence[tuple[str, ...]], every: bool) -> str:
    """Every word (or any), each by either of its stems, every stem a quoted string."""
    return (" AND " if every else " OR ").join(
        "(" + " OR ".join('"' + stem.replace('"', '""') + '"' for stem in term) + ")"
        for term in terms
    )
