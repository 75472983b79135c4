"""Ranking documents of one kind by their own object ids (articles, or tickets as such),
for areas whose results are not "tickets a person may see".

The caller passes the ids it allows as SQL (a policy queryset compiled with
`.values("pk").query.sql_with_params()`), exactly as Scope does for tickets; the words
are matched as in the ticket search (stems in both languages, accents folded). With
`any_word`, a document needs only one of the words, and ranks higher the more it has:
for suggestions from a ticket's text, where no document holds every word.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db.models import QuerySet

from .backend import get_backend
from .text import Query


@dataclass(frozen=True)
class ObjectScope:
    """The object ids a search may return, as SQL selecting them, and whether internal
    documents count."""

    ids_sql: str
    ids_params: Sequence[Any]
    include_internal: bool


@dataclass(frozen=True)
class ObjectHit:
    object_id: int
    document_id: int
    score: float  # higher is better


def object_scope(allowed: QuerySet, *, include_internal: bool) -> ObjectScope | None:
    """The scope for the objects of a queryset (compiled to SQL); None when empty."""
    try:
        sql, params = allowed.order_by().values("pk").query.sql_with_params()
    except EmptyResultSet:
        return None
    return ObjectScope(sql, params, include_internal)


def search_objects(
    kind: str,
    query: Query,
    scope: ObjectScope,
    *,
    limit: int,
    offset: int = 0,
    any_word: bool = False,
) -> list[ObjectHit]:
    """The documents of `kind` whose object is in scope and that match the words, best
    first. Every word must match, or with `any_word` at least one."""
    if not query:
        return []
    backend = get_backend()
    internal = "" if scope.include_internal else "AND NOT d.internal"
    if backend.vendor == "postgresql":
        tsquery = _tsquery(backend, query, any_word)
        if not tsquery:
            return []
        # Only SQL written here or compiled by Django; every value is a parameter.
        sql = f"""
            SELECT d.object_id, d.id, ts_rank_cd(d.vector, %s::tsquery, 1) AS score
            FROM search_document AS d
            WHERE d.kind = %s AND d.vector @@ %s::tsquery
              AND d.object_id IN ({scope.ids_sql}) {internal}
            ORDER BY score DESC, d.object_id DESC
            LIMIT %s OFFSET %s
        """  # noqa: S608
        params = [tsquery, kind, tsquery, *scope.ids_params, limit, offset]
        sign = 1.0
    else:
        sql = f"""
            SELECT d.object_id, d.id, m.rank AS score
            FROM (SELECT rowid, rank FROM search_document_fts
                  WHERE search_document_fts MATCH %s) AS m
            JOIN search_document AS d ON d.id = m.rowid
            WHERE d.kind = %s AND d.object_id IN ({scope.ids_sql}) {internal}
            ORDER BY score, d.object_id DESC
            LIMIT %s OFFSET %s
        """  # noqa: S608
        params = [_fts5_match(query, any_word), kind, *scope.ids_params, limit, offset]
        sign = -1.0  # bm25 is lower for better matches
    with backend.connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [ObjectHit(object_id, doc_id, sign * score) for object_id, doc_id, score in cursor]


def _fts5_match(query: Query, any_word: bool) -> str:
    """As text.fts5_match, joined with OR when any word will do."""
    terms = [
        "(" + " OR ".join('"' + stem.replace('"', '""') + '"' for stem in term) + ")"
        for term in query.terms
    ]
    return (" OR " if any_word else " AND ").join(terms)


def _tsquery(backend, query: Query, any_word: bool) -> str:
    """As PostgresBackend.tsquery."""
    return backend.tsquery(query, any_word=any_word)
