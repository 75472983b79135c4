"""Assets in the full-text index (soporte/search): one "asset" document each, so an agent
finds a machine by its serial number, tag, name, model, hostname, location or the person
it is assigned to. Written through the search area's public functions, as the knowledge
base does for articles (soporte/kb/indexing.py).

Documents are written by a batched background job after the change commits: an asset
created or changed through the services, an import, or an inventory report that changed
one of the fields searched. `soporte reindex_assets` rewrites them all.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from soporte.accounts.models import User
from soporte.search import queries as search_queries
from soporte.search.backend import get_backend
from soporte.search.models import Document, Kind
from soporte.search.objects import object_scope, search_objects
from soporte.search.services import MAX_BODY, index_documents, remove_documents
from soporte.search.text import snippet, words

from . import policy
from .models import Asset

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


def index_now(asset: Asset) -> None:
    """Write the document of an asset just created without a location or an owner (the
    inventory agent's new machines), from the loaded row: no query to read it back and
    no job to queue, which on the agent's path cost more than the write itself. Call
    inside a transaction."""
    if asset.location_id is not None or asset.owner_id is not None:
        index_soon([asset.pk])
        return
    row = {name: getattr(asset, name, "") for name in _COLUMNS if "__" not in name}
    row.update(pk=asset.pk, location__name=None, owner__username="", owner__first_name="",
               owner__last_name="", owner__email="")  # fmt: skip
    # Inside the caller's transaction: the backend's write, without index_documents'
    # own (nested, so a savepoint) transaction.
    get_backend().write([_document(row)])


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
