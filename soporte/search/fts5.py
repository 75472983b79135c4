"""SQLite: an FTS5 table of stems beside search_document, ranked with bm25.

search_document_fts has the document's id as rowid and two columns, title and body,
holding text.index_text() of each: stems in both languages, accents folded (and folded
again by the `unicode61 remove_diacritics 2` tokenizer). Queries are MATCH expressions
built by text.fts5_match() from the user's words, never from their raw text. A trigger
removes a document's entry when its row is deleted, whoever deletes it.
"""

from __future__ import annotations

from collections.abc import Sequence

from .backend import Backend, Hit, Scope
from .models import Document
from .text import Query, fts5_match, index_text

# As in migrations/0001_initial.py; 0002 makes the covering index
# search_document_scope on (id, ticket_id, internal), 0005 adds organization_id, 0006
# requester_id. `rank` is bm25 with a match in the title (a ticket's subject) counting
# four times one in the body.
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


def register_functions(sender, connection, **kwargs) -> None:
    """On each new SQLite connection (signal connection_created): text.index_text as the
    SQL function soporte_index_text, for Fts5Backend.rebuild. Registered once here: SQLite
    refuses it on a connection with a statement in progress."""
    if connection.vendor == "sqlite":
        connection.connection.create_function(
            "soporte_index_text", 1, index_text, deterministic=True
        )


class Fts5Backend(Backend):
    vendor = "sqlite"
    # FTS5 walks every match of a word and checks each one's ticket: at 1M documents an
    # organization's lead searching a common word cost ~180 ms, ~20 ms in a window.
    windows_for_requesters = True

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

    def rebuild(self, after_ticket: int, last_ticket: int) -> int:
        # The documents' index entries are made in SQLite too, by text.index_text
        # registered as an SQL function: rows never travel through Django. RETURNING
        # gives the new rows' ids, one run of them (AUTOINCREMENT, and no other writer
        # inside this transaction).
        sql, params = self._rebuild_sql(after_ticket, last_ticket)
        with self.connection.cursor() as cursor:
            cursor.execute(f"{sql} RETURNING id", params)
            ids = [row[0] for row in cursor.fetchall()]
            if ids:
                self._index_rows("id BETWEEN %s AND %s", [min(ids), max(ids)])
        return len(ids)

    def _index_rows(self, where: str, params: list) -> None:
        """Index entries for the documents selected by `where`, made inside SQLite."""
        with self.connection.cursor() as cursor:
            columns = "id, soporte_index_text(title), soporte_index_text(body)"
            sql = f"SELECT {columns} FROM search_document WHERE {where}"  # noqa: S608
            cursor.execute(f"INSERT INTO search_document_fts(rowid, title, body) {sql}", params)

    def clear(self, kinds: Sequence[str]) -> None:
        # Dropping the whole index and indexing the documents kept again is much faster
        # than deleting entries one by one.
        placeholders = ", ".join(["%s"] * len(kinds))
        with self.connection.cursor() as cursor:
            for statement in DROP:
                cursor.execute(statement)
            cursor.execute(
                f"DELETE FROM search_document WHERE kind IN ({placeholders})",  # noqa: S608
                list(kinds),
            )
            for statement in CREATE:
                cursor.execute(statement)
        self._index_rows("TRUE", [])

    def optimize(self) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO search_document_fts(search_document_fts) VALUES ('optimize')"
            )
            cursor.execute("ANALYZE")

    def search(
        self, query: Query, scope: Scope, *, limit: int, offset: int, after_id: int = 0
    ) -> list[Hit]:
        # FTS5 seeks to `after_id` in its doclists; rank (bm25) is computed only for the
        # rows that pass the scope. Each match's ticket and internal flag are read from a
        # narrow covering index rather than the wide rows; the unary + keeps SQLite from
        # probing that index once per listed ticket. MIN() makes SQLite take the bare
        # column d.id from the best row. Only SQL written here or compiled by Django;
        # every value is a parameter.
        # A requester's documents are allowed by their own requester_id (an organization's
        # lead's also by organization_id), both in that index, before the list of their
        # other tickets (watched ones) is consulted.
        allowed_params: list = []
        if scope.agent:
            allowed = f"EXISTS ({scope.tickets_sql})"
            allowed_params.extend(scope.params)
        else:
            conditions = []
            for column, value in (
                ("requester_id", scope.requester_id),
                ("organization_id", scope.organization_id),
            ):
                if value is not None:
                    conditions.append(f"+d.{column} = %s")
                    allowed_params.append(value)
            conditions.append(f"+d.ticket_id IN ({scope.tickets_sql})")
            allowed_params.extend(scope.params)
            allowed = f"({' OR '.join(conditions)}) AND NOT +d.internal"
        sql = f"""
            SELECT d.ticket_id, d.id, MIN(m.rank) AS score
            FROM (SELECT rowid, rank FROM search_document_fts
                  WHERE search_document_fts MATCH %s AND rowid > %s) AS m
            JOIN search_document AS d INDEXED BY search_document_scope ON d.id = m.rowid
            WHERE {allowed}
            GROUP BY d.ticket_id
            ORDER BY score, d.ticket_id DESC
            LIMIT %s OFFSET %s
        """  # noqa: S608
        params = [fts5_match(query), after_id, *allowed_params, limit, offset]
        with self.connection.cursor() as cursor:
            cursor.execute(sql, params)
            # bm25 is lower for better matches; the interface says higher is better.
            return [Hit(ticket_id, doc_id, -score) for ticket_id, doc_id, score in cursor]
