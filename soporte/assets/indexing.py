"""Assets in the full-text index (soporte/search): one "asset" document each, so an agent
finds a machine by its serial number, tag, name, model, hostname, location or the person
it is assigned to. Written through the search area's public functions, as the knowledge
base does for articles (soporte/kb/indexing.py).

Documents are written by a batched background job after the change commits: an asset
created or changed through the services, or an import. The inventory agent's new or
renamed machines go through a backlog instead (SearchBacklog): a report adds one row in
the statements it sends anyway, and one job per process every BACKLOG_WINDOW seconds
writes the documents of all the machines waiting. `soporte reindex_assets` rewrites them
all.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from soporte.accounts.models import User
from soporte.search import queries as search_queries
from soporte.search.models import Document, Kind
from soporte.search.objects import object_scope, search_objects
from soporte.search.services import MAX_BODY, index_documents, remove_documents
from soporte.search.text import snippet, words

from . import policy
from .models import Asset, SearchBacklog

# The asset's own fields a document is made of; a change of one re-indexes the asset.
SEARCHED = frozenset(
    {"tag", "name", "serial", "model", "manufacturer", "hostname", "location", "owner"}
)
BATCH = 1000

_COLUMNS = (
    "pk", "tag", "name", "serial", "model", "manufacturer", "hostname", "updated_at",
    "location__name", "owner__username", "owner__first_name", "owner__last_name",
    "owner__email",
)  # fmt: skip


@dataclass(frozen=True)
class AssetHit:
    id: int
    tag: str
    name: str
    status: str
    kind: str
    snippet: str  # safe HTML: escaped text, the matching words in <mark>
    score: float


@dataclass(frozen=True)
class AssetPage:
    items: list[AssetHit]
    next_offset: int | None


def _document(row: dict[str, Any]) -> Document:
    owner = " ".join(
        part
        for part in (
            row["owner__first_name"], row["owner__last_name"], row["owner__username"],
            row["owner__email"],
        )
        if part
    )  # fmt: skip
    codes = f"{row['tag']} {row['serial']} {row['hostname']}"
    lines = [
        row["serial"], " ".join(p for p in (row["manufacturer"], row["model"]) if p),
        row["hostname"], row["location__name"] or "", owner,
        # Codes once more as separate words: PostgreSQL's parser reads "ACME-0001" as
        # "acme-0001", "acme" and "-0001", so a search for its words (acme, 0001) would
        # miss it; SQLite already splits it so.
        " ".join(words(codes)),
    ]  # fmt: skip
    return Document(
        kind=Kind.ASSET,
        object_id=row["pk"],
        ticket=None,
        # Found by agents only: requesters search the help center, never the inventory.
        internal=True,
        title=f"{row['tag']} {row['name']}".strip()[:300],
        body="\n".join(line for line in lines if line)[:MAX_BODY],
        updated_at=row["updated_at"] or timezone.now(),
    )


def _documents(asset_ids: list[int]) -> Iterator[Document]:
    """The documents of these assets, built in one query."""
    for row in Asset.objects.filter(pk__in=asset_ids).order_by("pk").values(*_COLUMNS):
        yield _document(row)


def index_assets(asset_ids: Iterable[int]) -> int:
    """Write the documents of these assets, and remove those of assets that are gone.
    Returns how many were written."""
    wanted = sorted(set(asset_ids))
    written = 0
    for start in range(0, len(wanted), BATCH):
        chunk = wanted[start : start + BATCH]
        documents = list(_documents(chunk))
        written += index_documents(documents)
        found = {document.object_id for document in documents}
        gone = [pk for pk in chunk if pk not in found]
        if gone:
            remove_documents(Kind.ASSET, gone)
    return written


# A job drains the backlog BACKLOG_WINDOW seconds after it is queued; a process queues
# the next one when the last will have run within BACKLOG_MARGIN seconds, so a row added
# then (its report's commit still to come) is never left for the periodic sweep alone.
BACKLOG_WINDOW = 2.0
BACKLOG_MARGIN = 0.5
# When the job this process last queued will run (time.monotonic()); set at its commit.
_backlog_due = [0.0]


def backlog_statement(asset_id: int) -> tuple[str, list[Any]]:
    """The INSERT that puts an asset in the search backlog, for the caller to send with
    its other statements (then call index_later in the same transaction)."""
    table = connection.ops.quote_name(SearchBacklog._meta.db_table)
    return f"INSERT INTO {table} (asset_id) VALUES (%s) ON CONFLICT DO NOTHING", [asset_id]  # noqa: S608


def index_later() -> None:
    """Queue the job that drains the backlog, unless the one this process queued last
    has yet to run. Call in the transaction that adds backlog rows. Eager jobs (tests)
    run at their commit, so each such transaction queues its own."""
    now = time.monotonic()
    eager = settings.JOBS_MODE == "eager"
    if not eager and now < _backlog_due[0] - BACKLOG_MARGIN:
        return
    from .tasks import index_backlog

    index_backlog.enqueue(delay=0 if eager else BACKLOG_WINDOW)
    transaction.on_commit(partial(_backlog_due.__setitem__, 0, now + BACKLOG_WINDOW))


def index_backlog() -> int:
    """Write the documents of the assets in the backlog, taking them off it in the same
    transaction (a failure leaves them for the next run); how many were written. Two
    runs at once each take their own rows (the second waits for the first's locks)."""
    table = connection.ops.quote_name(SearchBacklog._meta.db_table)
    written = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {table} WHERE asset_id IN (SELECT asset_id FROM {table} "  # noqa: S608
                "ORDER BY asset_id LIMIT %s) RETURNING asset_id",
                [BATCH],
            )
            ids = [pk for (pk,) in cursor.fetchall()]
            if not ids:
                return written
            written += index_assets(ids)


def index_soon(asset_ids: Iterable[int]) -> None:
    """Index these assets once the current transaction commits (a background job)."""
    from .tasks import index_search

    ids = sorted(set(asset_ids))
    for start in range(0, len(ids), BATCH):
        index_search.enqueue(ids[start : start + BATCH])


def reindex_assets() -> int:
    """Rewrite every asset's document and drop those of deleted assets; how many."""
    existing = set(Asset.objects.values_list("pk", flat=True))
    indexed = set(Document.objects.filter(kind=Kind.ASSET).values_list("object_id", flat=True))
    remove_documents(Kind.ASSET, indexed - existing)
    return index_assets(existing)


def search_assets(user: User, text: str, *, limit: int = 20, offset: int = 0) -> AssetPage:
    """The assets the person may see whose document holds every word of `text`, best
    first (422 for an empty or too long text). Agents only find any: asset documents are
    internal."""
    query = search_queries.parse(text)
    limit = max(1, min(limit, search_queries.MAX_LIMIT))
    offset = max(0, min(offset, search_queries.MAX_OFFSET))
    scope = object_scope(policy.visible_assets(user), include_internal=user.is_agent)
    if scope is None or not query:
        return AssetPage(items=[], next_offset=None)
    hits = search_objects(Kind.ASSET, query, scope, limit=limit + 1, offset=offset)
    more, hits = len(hits) > limit, hits[:limit]
    assets = Asset.objects.only("tag", "name", "status", "kind").in_bulk(
        [hit.object_id for hit in hits]
    )
    documents = Document.objects.only("title", "body").in_bulk([hit.document_id for hit in hits])
    items = []
    for hit in hits:
        asset, document = assets.get(hit.object_id), documents.get(hit.document_id)
        if asset is None or document is None:
            continue  # changed between the queries
        items.append(
            AssetHit(
                id=asset.pk,
                tag=asset.tag,
                name=asset.name,
                status=asset.status,
                kind=asset.kind,
                snippet=snippet(document.body, query) or snippet(document.title, query),
                score=round(hit.score, 6),
            )
        )
    return AssetPage(items=items, next_offset=offset + limit if more else None)
