"""SQLite: an FTS5 table of stems beside search_document, ranked with bm25.

search_document_fts has the document's id as rowid and two columns, title and body,
holding text.index_text() of each: stems in both languages, accents folded (and folded
again by the `unicode61 remove_diacritics 2` tokenizer). Queries are MATCH expressions
built by text.fts5_match() from the user's words, never from their raw text. A trigger
removes a document's entry when its row is deleted, whoever deletes it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from django.db.backends.base.base import BaseDatabaseWrapper

from .backend import Backend, Hit, Scope
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


# A plain requester with fewer documents than this has them read and ranked first
# (Fts5Backend._own_first); with more, the matches are walked, as for agents. An
# organization's lead's matches are walked, then ranked as a requester's are.
OWN_FIRST = 2000
# Newest documents a common stem's document frequency is estimated from (_frequencies).
IDF_SAMPLE = 10_000
# An agent's windowed search with at most this many matches expected in the window has
# them ranked here (Fts5Backend._few_matches).
RANK_HERE = 1000
# ... and ranked by the index after all when more than this many are found.
RANK_HERE_AT_MOST = 4000
# The rank's bm25 (see CREATE): FTS5's constants, a title match counting four.
_K1, _B, _TITLE_WEIGHT = 1.2, 0.75, 4.0


def _varints(data: bytes) -> list[int]:
    """SQLite's varints (7 bits a byte, high bit set when more follow; a ninth byte
    gives 8), as FTS5 writes its records."""
    values, position = [], 0
    while position < len(data):
        value = 0
        for index in range(9):
            byte = data[position]
            position += 1
            if index == 8:
                value = (value << 8) | byte
                break
            value = (value << 7) | (byte & 0x7F)
            if not byte & 0x80:
                break
        values.append(value)
    return values


class Fts5Backend(Backend):
    vendor = "sqlite"
    # FTS5 walks every match of a word and checks each one's ticket: at 1M documents an
    # organization's lead searching a common word cost ~180 ms, ~20 ms in a window.
    windows_for_requesters = True

    def __init__(self, connection: BaseDatabaseWrapper):
        super().__init__(connection)
        self._frequency_cache: dict[tuple[str, ...], tuple[int, float, dict[str, int]]] = {}

    def index(self, texts: list[tuple[int, str, str]]) -> None:
        if not texts:
            return
        ids = [pk for pk, _title, _body in texts]
        rows = [(pk, index_text(title), index_text(body)) for pk, title, body in texts]
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
        self,
        query: Query,
        scope: Scope,
        *,
        limit: int,
        offset: int,
        after_id: int = 0,
        window: int = 0,
    ) -> list[Hit]:
        if not scope.broad and self._own_documents(scope) < OWN_FIRST:
            return self._own_first(query, scope, limit=limit, offset=offset, after_id=after_id)
        if (scope.organization_id is not None and not scope.agent) or (
            window and self._few_matches(query, window)
        ):
            hits = self._matches_ranked_here(
                query, scope, limit=limit, offset=offset, after_id=after_id
            )
            if hits is not None:
                return hits
        sql, params = self._matches_first_sql(fts5_match(query), scope, limit, offset, after_id)
        with self.connection.cursor() as cursor:
            cursor.execute(sql, params)
            # bm25 is lower for better matches; the interface says higher is better.
            return [Hit(ticket_id, doc_id, -score) for ticket_id, doc_id, score in cursor]

    def _own_documents(self, scope: Scope) -> int:
        """How many documents a requester's requester_id allows, counted up to OWN_FIRST
        in the (requester_id, id) index."""
        with self.connection.cursor() as cursor:
            cursor.execute(
                "SELECT COUNT(*) FROM (SELECT 1 FROM search_document"
                " INDEXED BY search_document_requester WHERE requester_id = %s LIMIT %s)",
                [scope.requester_id, OWN_FIRST],
            )
            return cursor.fetchone()[0]

    def _own_first(
        self, query: Query, scope: Scope, *, limit: int, offset: int, after_id: int
    ) -> list[Hit]:
        """A plain requester with few documents: theirs are read first, and ranked here.

        1. Their documents (by requester_id, and those of the tickets they watch), with
           their indexed text read from the FTS5 table by rowid; SQLite keeps those that
           hold every word (instr() on the space-separated stems). Looking each one up
           with MATCH instead made bm25 count every word's matches once per document;
           walking the matches of a common word cost ~70 ms at 1M documents.
        2. Those ranked here (_ranked), one hit per ticket."""
        stems = [stem for term in query.terms for stem in term]  # bm25's phrases
        has_words = " AND ".join(
            "(" + " OR ".join(["instr(m.text, %s) > 0"] * len(term)) + ")" for term in query.terms
        )
        sql = f"""
            SELECT m.id, m.ticket_id, m.title, m.body FROM (
                SELECT d.id, d.ticket_id, f.title, f.body,
                       ' ' || f.title || ' ' || f.body || ' ' AS text
                FROM (
                    SELECT id, ticket_id FROM search_document
                    INDEXED BY search_document_requester
                    WHERE requester_id = %s AND id > %s AND NOT internal
                    UNION
                    SELECT id, ticket_id FROM search_document
                    WHERE ticket_id IN ({scope.tickets_sql}) AND id > %s AND NOT internal
                ) AS d
                CROSS JOIN search_document_fts AS f ON f.rowid = d.id
            ) AS m
            WHERE {has_words}
        """  # noqa: S608 - only SQL written here or compiled by Django; values are params
        params = [scope.requester_id, after_id, *scope.params, after_id]
        params += [f" {stem} " for term in query.terms for stem in term]
        with self.connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        return self._ranked(rows, stems, limit=limit, offset=offset)

    def _few_matches(self, query: Query, window: int) -> bool:
        """Whether the words' matches among the newest `window` documents are estimated
        (from their document frequencies, each word taken as independent of the others)
        to be few enough to rank here: an agent's search of several words."""
        rows_total, _, frequencies = self._frequencies(
            [stem for term in query.terms for stem in term]
        )
        expected = float(window)
        for term in query.terms:
            expected *= min(1.0, sum(frequencies[stem] for stem in term) / rows_total)
        return expected <= RANK_HERE

    def _matches_ranked_here(
        self, query: Query, scope: Scope, *, limit: int, offset: int, after_id: int
    ) -> list[Hit] | None:
        """The matches after `after_id` walked as _matches_first_sql walks them, each
        one's scope read from the covering index, and those in scope ranked here as
        _own_first ranks a requester's: FTS5's rank would first walk every match of
        each word in the whole index for its document frequencies (~11 ms a window at
        1M documents for "error"). For an organization's lead, whose scope keeps about
        one match in forty, and for an agent's search of words found together in few
        documents (_few_matches). None when an agent's are many after all (words
        that go together more often than apart): the rank is cheaper then."""
        stems = [stem for term in query.terms for stem in term]
        cap = RANK_HERE_AT_MOST + 1 if scope.agent else -1  # SQLite's -1: no limit
        allowed, allowed_params = self._allowed(scope)
        sql = f"""
            SELECT d.id, d.ticket_id, f.title, f.body
            FROM (SELECT rowid FROM search_document_fts
                  WHERE search_document_fts MATCH %s AND rowid > %s) AS m
            JOIN search_document AS d INDEXED BY search_document_scope ON d.id = m.rowid
            CROSS JOIN search_document_fts AS f ON f.rowid = d.id
            WHERE {allowed}
            LIMIT %s
        """  # noqa: S608 - only SQL written here or compiled by Django; values are params
        with self.connection.cursor() as cursor:
            cursor.execute(sql, [fts5_match(query), after_id, *allowed_params, cap])
            rows = cursor.fetchall()
        if len(rows) > RANK_HERE_AT_MOST and scope.agent:
            return None
        return self._ranked(rows, stems, limit=limit, offset=offset)

    def _ranked(
        self, rows: list[tuple[int, int, str, str]], stems: list[str], *, limit: int, offset: int
    ) -> list[Hit]:
        """Rows of (document, ticket, indexed title, indexed body) holding every word,
        ranked with bm25 as the rank computes it (bm25(4.0, 1.0), k1 1.2, b 0.75), each
        stem's document frequency estimated (_frequencies). One hit per ticket, its best
        document's, best first."""
        if not rows:
            return []
        rows_total, average_length, frequencies = self._frequencies(stems)
        idf = {
            stem: max(1e-6, math.log((rows_total - hits + 0.5) / (hits + 0.5)))
            for stem, hits in frequencies.items()
        }
        best: dict[int, tuple[float, int]] = {}  # ticket -> (score, document)
        for doc_id, ticket_id, title, body in rows:
            # Stems are separated by single spaces: doubled, each one has its own two.
            title_words = f" {title.replace(' ', '  ')} "
            body_words = f" {body.replace(' ', '  ')} "
            length = (title.count(" ") + 1 if title else 0) + (body.count(" ") + 1 if body else 0)
            norm = _K1 * (1 - _B + _B * length / average_length)
            score = 0.0
            for stem in stems:
                word = f" {stem} "
                frequency = _TITLE_WEIGHT * title_words.count(word) + body_words.count(word)
                score += idf[stem] * frequency * (_K1 + 1) / (frequency + norm)
            # As MIN(rank) in SQL: the best document, the first (lowest id) of equals.
            kept = best.get(ticket_id)
            if kept is None or score > kept[0] or (score == kept[0] and doc_id < kept[1]):
                best[ticket_id] = (score, doc_id)
        ranked = sorted(best.items(), key=lambda item: (-item[1][0], -item[0]))
        return [Hit(ticket_id, doc_id, score) for ticket_id, (score, doc_id) in ranked][
            offset : offset + limit
        ]

    def _frequencies(self, stems: list[str]) -> tuple[int, float, dict[str, int]]:
        """The index's rows, their average length in stems, and in how many rows each
        stem appears: exact when rare or when the index is small; else estimated from the
        newest IDF_SAMPLE documents, since an exact count walks every match (as the
        rank's bm25 does, once per statement). Kept for this backend's next windows (a
        backend serves one search)."""
        key = tuple(stems)
        if key not in self._frequency_cache:
            self._frequency_cache[key] = self._count_frequencies(stems)
        return self._frequency_cache[key]

    def _count_frequencies(self, stems: list[str]) -> tuple[int, float, dict[str, int]]:
        with self.connection.cursor() as cursor:
            # FTS5's "averages" record: varints of the row count and of each column's
            # total stems.
            cursor.execute("SELECT block FROM search_document_fts_data WHERE id = 1")
            row = cursor.fetchone()
            totals = _varints(row[0]) if row else [0]
            rows_total = max(1, totals[0])
            average_length = max(1.0, sum(totals[1:]) / rows_total)
            cursor.execute("SELECT MAX(id) FROM search_document")
            cutoff = (cursor.fetchone()[0] or 0) - IDF_SAMPLE
            sample = 0
            if cutoff > 0:
                cursor.execute("SELECT COUNT(*) FROM search_document WHERE id > %s", [cutoff])
                sample = cursor.fetchone()[0]
            frequencies = {}
            for stem in dict.fromkeys(stems):
                match = '"' + stem.replace('"', '""') + '"'
                count = (
                    "SELECT COUNT(*) FROM search_document_fts WHERE search_document_fts MATCH %s"
                )
                hits = None
                if sample:
                    cursor.execute(f"{count} AND rowid > %s", [match, cutoff])
                    found = cursor.fetchone()[0]
                    if found >= 20:  # enough for an estimate
                        hits = round(found * rows_total / sample)
                if hits is None:
                    cursor.execute(count, [match])
                    hits = cursor.fetchone()[0]
                frequencies[stem] = hits
        return rows_total, average_length, frequencies

    def _matches_first_sql(
        self, match: str, scope: Scope, limit: int, offset: int, after_id: int
    ) -> tuple[str, list]:
        """Agents' searches of common words, and requesters with many documents: FTS5
        seeks to `after_id` in its doclists; rank (bm25) is computed only for the rows
        that pass the scope. Each match's
        ticket and internal flag are read from a narrow covering index rather than the
        wide rows; the unary + keeps SQLite from probing that index once per listed
        ticket. MIN() makes SQLite take the bare column d.id from the best row.

        A requester's documents are allowed by their own requester_id (an
        organization's lead's also by organization_id), both in that index, before the
        list of their other tickets (watched ones) is consulted."""
        allowed, allowed_params = self._allowed(scope)
        sql = f"""
            SELECT d.ticket_id, d.id, MIN(m.rank) AS score
            FROM (SELECT rowid, rank FROM search_document_fts
                  WHERE search_document_fts MATCH %s AND rowid > %s) AS m
            JOIN search_document AS d INDEXED BY search_document_scope ON d.id = m.rowid
            WHERE {allowed}
            GROUP BY d.ticket_id
            ORDER BY score, d.ticket_id DESC
            LIMIT %s OFFSET %s
        """  # noqa: S608 - only SQL written here or compiled by Django; values are params
        return sql, [match, after_id, *allowed_params, limit, offset]

    @staticmethod
    def _allowed(scope: Scope) -> tuple[str, list]:
        """The condition on the document aliased `d` that the scope allows it: for an
        agent, its ticket among those they see; for a requester, their own columns
        (requester_id, an organization's lead's organization_id), then the list of
        their other tickets, never internal. The unary + keeps SQLite reading these
        from the covering index's row, not probing an index for each."""
        if scope.agent:
            return f"EXISTS ({scope.tickets_sql})", [*scope.params]
        conditions, params = [], []
        for column, value in scope.document_columns():
            conditions.append(f"+d.{column} = %s")
            params.append(value)
        conditions.append(f"+d.ticket_id IN ({scope.tickets_sql})")
        params.extend(scope.params)
        return f"({' OR '.join(conditions)}) AND NOT +d.internal", params
