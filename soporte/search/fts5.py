"""SQLite: an FTS5 table of stems beside search_document, ranked with bm25.

search_document_fts has the document's id as rowid and two columns, title and body,
holding text.index_text() of each: stems in both languages, accents folded (and folded
again by the `unicode61 remove_diacritics 2` tokenizer). Queries are MATCH expressions
built by text.fts5_match() from the user's words, never from their raw text. A trigger
removes a document's entry when its row is deleted, whoever deletes it.
"""

from __future__ import annotations

from .backend import Backend, Hit, Scope
from .models import Document
from .text import Query, fts5_match, index_text

# As in migrations/0001_initial.py. `rank` is bm25 with a match in the title (a ticket's
# subject) counting four times one in the body.
CREATE = [
    "CREATE VIRTUAL TABLE search_document_fts USING fts5("
    "title, body, tokenize = 'unicode61 remove_diacritics 2')",
    "INSERT INTO search_document_fts(search_document_fts, rank) VALUES ('rank', 'bm25(4.0, 1.0)')",
    "CREATE TRIGGER search_document_fts_delete AFTER DELETE ON search_document BEGIN "
    "DELETE FROM search_document_fts WHERE rowid = old.id; END",
]
DROP = [
    "DROP TRIGGER IF EXISTS search_document_fts_delete",
    "DROP TABLE IF EXISTS search_document_fts",
]


class Fts5Backend(Backend):
    vendor = "sqlite"

    def index(self, documents: list[Document]) -> None:
        ids = [document.pk for document in documents]
        rows = [
            (document.pk, index_text(document.title), index_text(document.body))
            for document in documents
        ]
        placeholders = ", ".join(["%s"] * len(ids))
        with self.connection.cursor() as cursor:
            # A replaced document keeps its id: its old entry goes first.
            cursor.execute(
                f"DELETE FROM search_document_fts WHERE rowid IN ({placeholders})",  # noqa: S608
                ids,
            )
            cursor.executemany(
                "INSERT INTO search_document_fts(rowid, title, body) VALUES (%s, %s, %s)", rows
            )

    def clear(self) -> None:
        # Dropping the index is much faster than deleting its rows one by one.
        with self.connection.cursor() as cursor:
            for statement in DROP:
                cursor.execute(statement)
            cursor.execute("DELETE FROM search_document")
            for statement in CREATE:
                cursor.execute(statement)

    def optimize(self) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO search_document_fts(search_document_fts) VALUES ('optimize')"
            )
            cursor.execute("ANALYZE")

    def search(self, query: Query, scope: Scope, *, limit: int, offset: int) -> list[Hit]:
        internal = "" if scope.include_internal else "AND NOT d.internal"
        # MIN() makes SQLite take the bare column d.id from the best row. Only SQL written
        # here or compiled by Django; every value is a parameter.
        sql = f"""
            SELECT d.ticket_id, d.id, MIN(m.rank) AS score
            FROM (SELECT rowid, rank FROM search_document_fts
                  WHERE search_document_fts MATCH %s) AS m
            JOIN search_document AS d ON d.id = m.rowid
            WHERE d.ticket_id IN ({scope.tickets_sql}) {internal}
            GROUP BY d.ticket_id
            ORDER BY score, d.ticket_id DESC
            LIMIT %s OFFSET %s
        """  # noqa: S608
        params = [fts5_match(query), *scope.tickets_params, limit, offset]
        with self.connection.cursor() as cursor:
            cursor.execute(sql, params)
            # bm25 is lower for better matches; the interface says higher is better.
            return [Hit(ticket_id, doc_id, -score) for ticket_id, doc_id, score in cursor]
