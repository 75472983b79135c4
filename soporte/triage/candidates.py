"""Candidates for similar tickets, read straight from the search index (soporte/search):
the newest ticket documents that hold any of a few chosen words. No ranking in SQL:
with "any word" over a small vocabulary nearly every ticket matches, and ranking them
all (bm25, ts_rank_cd) cost up to a second at 100,000 tickets. Walking the matches
newest first and stopping at `limit` is bounded.

Ids first, texts last: newest_matching() reads the newest `limit` matches' ids in one
query (no paging: PostgreSQL reads every match's row again for each page), keeping in
the same query those the person may see (policy's queryset, compiled once by
visible_scope(), run on the scanned ids: one primary-key lookup each), and texts()
reads the kept ones' subjects and bodies.

The SQL names the search area's tables (search_document, its FTS5 table on SQLite, its
tsvector column on PostgreSQL); every value is a parameter.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, NamedTuple

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL

from soporte.search.models import Kind
from soporte.search.text import Query

# Each word: its English or its Spanish lexeme (as the search area's own queries).
_PG_WORD = (
    "(plainto_tsquery('english', search_unaccent(%s))"
    " || plainto_tsquery('spanish', search_unaccent(%s)))"
)
TEXT_CHARS = 2000  # of a document's body, enough to compare tickets by


# Named tuples: hundreds are made per lookup, a frozen dataclass costs several times more.
class Match(NamedTuple):
    document_id: int
    ticket_id: int


class Candidate(NamedTuple):
    document_id: int
    ticket_id: int
    subject: str
    body: str


class Scope(NamedTuple):
    """The tickets a person may see among a scan's matches: SQL and its parameters."""

    sql: str
    params: list[Any]


def visible_scope(visible: QuerySet) -> Scope | None:
    """`visible` (policy's queryset) as a filter of the scanned matches, compiled once
    per lookup (compiling the ORM query at every step cost more than running it); None
    for someone who may see nothing."""
    # `scanned`: the matches, named so by newest_matching().
    scanned = RawSQL("SELECT object_id FROM scanned", [])  # noqa: S611 (fixed SQL)
    try:
        sql, params = (
            visible.filter(pk__in=scanned).order_by().values_list("pk").query.sql_with_params()
        )
    except EmptyResultSet:  # visible_tickets(...).none()
        return None
    return Scope(sql, list(params))


def newest_matching(
    query: Query, *, every: bool, exclude: int, limit: int, scope: Scope | None = None
) -> list[Match]:
    """The newest `limit` public ticket documents holding every one of the query's
    words (or any, when not `every`), other than ticket `exclude`'s, and of those the
    ones `scope` holds (all without one): ids alone, newest first. One query: the
    visibility check on the scanned ids saves a second round trip and its planning."""
    if not query:
        return []
    sql, params = _newest(query, every, exclude, limit)
    if scope is not None:
        # MATERIALIZED: the scan stays bounded by its LIMIT, whatever the planner makes
        # of the visibility condition (joined into the scan, it walked every match).
        sql = (
            f"WITH scanned AS MATERIALIZED ({sql}) SELECT id, object_id FROM scanned"  # noqa: S608
            f" WHERE object_id IN ({scope.sql}) ORDER BY id DESC"
        )
        params = [*params, *scope.params]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [Match._make(row) for row in cursor.fetchall()]


# A list of ids as one parameter (by vendor: PostgreSQL's array, SQLite's JSON text).
_IDS = {True: "SELECT unnest(%s::bigint[])", False: "SELECT value FROM json_each(%s)"}


def id_list(values: Sequence[int]) -> tuple[str, Any]:
    """A list of ids as one parameter, for `column IN (<sql>)`: the SQL and the value
    (the ORM handles an `in` of a few hundred values one by one, which cost more than
    the query)."""
    if connection.vendor == "postgresql":
        return _IDS[True], list(values)
    return _IDS[False], json.dumps(list(values))


def texts(matches: Sequence[Match]) -> list[Candidate]:
    """The matches' subjects and the start of their bodies, in the matches' order: one
    primary-key lookup (raw rows: the ORM's handling of them cost more than the query)."""
    if not matches:
        return []
    ids_sql, value = id_list([m.document_id for m in matches])
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, title, substr(body, 1, %s) FROM search_document"  # noqa: S608
            f" WHERE id IN ({ids_sql})",
            [TEXT_CHARS, value],
        )
        rows = {doc: (title, body) for doc, title, body in cursor.fetchall()}
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
