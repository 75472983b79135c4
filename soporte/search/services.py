"""Keeping the search documents in step with tickets and their messages.

A ticket is indexed as one "ticket" document (title: the subject; body: its description,
the first public message, and its resolution) plus one "message" document for each other
message, internal ones flagged. So words of the subject and of the description are found
together, and a requester never finds a ticket by the words of an internal note.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Any

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from soporte.tickets.models import Message, Ticket

from .backend import Entry, get_backend
from .models import Document, Kind

log = logging.getLogger(__name__)

# Bodies past this are cut before indexing: pasted logs, not prose.
MAX_BODY = 200_000
BATCH = 1000

Progress = Callable[[int, int], None]  # (documents done, documents expected)


@dataclass(frozen=True)
class Changes:
    """What index_ticket did: documents written (new or changed) and removed."""

    written: int = 0
    removed: int = 0


def _document(
    kind: str,
    object_id: int,
    *,
    ticket_id: int | None,
    organization_id: int | None = None,
    requester_id: int | None = None,
    internal: bool = False,
    title: str = "",
    body: str = "",
    updated_at: datetime | None = None,
) -> Entry:
    return Entry(
        kind,
        object_id,
        ticket_id,
        organization_id,
        requester_id,
        internal,
        title[:300],
        body[:MAX_BODY],
        updated_at or timezone.now(),
    )


def _ticket_body(description: str, resolution: str) -> str:
    return "\n\n".join(part for part in (description, resolution) if part)


def _batches(items: Iterable[Document], size: int) -> Iterator[list[Document]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def index_documents(documents: Iterable[Document], *, batch_size: int = BATCH) -> int:
    """Write documents in bulk (new ones added, those with the same kind and object_id
    replaced), one transaction per batch; for imports and full reindexing. Returns the
    number written."""
    backend = get_backend()
    written = 0
    for batch in _batches(documents, batch_size):
        with transaction.atomic():
            backend.write(batch)
        written += len(batch)
    return written


def remove_documents(kind: str, object_ids: Iterable[int]) -> int:
    """Remove documents (their index entries go with them). Returns how many."""
    deleted, _ = Document.objects.filter(kind=kind, object_id__in=list(object_ids)).delete()
    return deleted


def index_ticket(ticket_id: int) -> Changes:
    """Bring one ticket's documents up to date; safe to repeat, cheap when nothing changed
    (index_tickets says how)."""
    return index_tickets([ticket_id])


@transaction.atomic
def index_tickets(ticket_ids: Iterable[int]) -> Changes:
    """Bring these tickets' documents up to date, in a fixed number of queries however
    many tickets; safe to repeat, cheap when nothing changed.

    1. A ticket that is gone or merged into another loses its documents (its messages
       moved to the other ticket and are indexed there).
    2. A ticket document is rewritten when its subject, description or resolution
       changed.
    3. Messages without a document are indexed; documents of messages whose internal
       flag or ticket changed (a merge) are corrected; documents of messages no longer
       on their ticket, or now serving as its description, are removed.
    4. The documents of a ticket that moved to another organization, or changed
       requester, get its new ones.
    """
    ids = sorted(set(ticket_ids))
    tickets = {
        row["id"]: row
        for row in Ticket.objects.filter(pk__in=ids).values(
            "id",
            "subject",
            "resolution",
            "merged_into_id",
            "organization_id",
            "requester_id",
            "updated_at",
        )
    }
    gone = [pk for pk in ids if pk not in tickets or tickets[pk]["merged_into_id"] is not None]
    removed = 0
    if gone:
        removed, _ = Document.objects.filter(
            Q(kind=Kind.TICKET, object_id__in=gone) | Q(kind=Kind.MESSAGE, ticket_id__in=gone)
        ).delete()
    live = [pk for pk in ids if pk not in gone]
    live_set = set(live)
    if not live:
        return Changes(removed=removed)

    # Each ticket's description is its first public message; the others are documents.
    descriptions: dict[int, int] = {}
    others: dict[int, tuple[int, bool, datetime]] = {}  # message -> (ticket, internal, created)
    rows = (
        Message.objects.filter(ticket_id__in=live)
        .order_by("ticket_id", "created_at", "id")
        .values_list("ticket_id", "id", "internal", "created_at")
    )
    for ticket_id, pk, internal, created in rows:
        if not internal and ticket_id not in descriptions:
            descriptions[ticket_id] = pk
        else:
            others[pk] = (ticket_id, internal, created)
    # The kind of the ticket_id side is checked here: with it in the WHERE for both sides,
    # SQLite walked every message document (3.8 ms a batch at 4,000 of them).
    existing = {
        row["object_id"]: row
        for row in Document.objects.filter(
            Q(ticket_id__in=live)
            | Q(kind=Kind.MESSAGE, object_id__in=[*others, *descriptions.values()])
        ).values(
            "id", "kind", "object_id", "ticket_id", "organization_id", "requester_id", "internal"
        )
        if row["kind"] == Kind.MESSAGE
    }
    new = [pk for pk in others if pk not in existing]
    texts = dict(
        Message.objects.filter(pk__in=[*descriptions.values(), *new]).values_list("id", "body_text")
    )
    current: dict[int, tuple[str, str]] = {}

    def owners(row: Mapping[str, Any]) -> tuple[int | None, int | None]:
        return row["organization_id"], row["requester_id"]

    # Tickets whose documents carry another organization or requester than the ticket's.
    moved_owner = {
        row["ticket_id"]
        for row in existing.values()
        if row["ticket_id"] in live_set and owners(row) != owners(tickets[row["ticket_id"]])
    }
    for doc in Document.objects.filter(kind=Kind.TICKET, object_id__in=live).values(
        "object_id", "title", "body", "organization_id", "requester_id"
    ):
        current[doc["object_id"]] = (doc["title"], doc["body"])
        if owners(doc) != owners(tickets[doc["object_id"]]):
            moved_owner.add(doc["object_id"])
    writes: list[Entry] = []
    for ticket_id in live:
        ticket = tickets[ticket_id]
        description = texts.get(descriptions.get(ticket_id, 0), "")
        title, body = ticket["subject"][:300], _ticket_body(description, ticket["resolution"])
        if current.get(ticket_id) != (title, body[:MAX_BODY]):
            writes.append(
                _document(
                    Kind.TICKET,
                    ticket_id,
                    ticket_id=ticket_id,
                    organization_id=ticket["organization_id"],
                    requester_id=ticket["requester_id"],
                    title=title,
                    body=body,
                    updated_at=ticket["updated_at"],
                )
            )
    for pk in new:
        if pk not in texts:
            continue  # deleted meanwhile
        ticket_id, internal, created = others[pk]
        writes.append(
            _document(
                Kind.MESSAGE,
                pk,
                ticket_id=ticket_id,
                organization_id=tickets[ticket_id]["organization_id"],
                requester_id=tickets[ticket_id]["requester_id"],
                internal=internal,
                body=texts[pk],
                updated_at=created,
            )
        )
    moved = 0
    for pk, row in existing.items():
        if pk in others and (row["ticket_id"], row["internal"]) != others[pk][:2]:
            moved += Document.objects.filter(pk=row["id"]).update(
                ticket_id=others[pk][0],
                internal=others[pk][1],
                organization_id=tickets[others[pk][0]]["organization_id"],
                requester_id=tickets[others[pk][0]]["requester_id"],
            )
    # One UPDATE per (organization, requester) moved to, all those tickets' documents.
    by_owner: dict[tuple[int | None, int | None], list[int]] = {}
    for ticket_id in sorted(moved_owner):
        by_owner.setdefault(owners(tickets[ticket_id]), []).append(ticket_id)
    for (organization_id, requester_id), ids_moved in by_owner.items():
        moved += Document.objects.filter(ticket_id__in=ids_moved).update(
            organization_id=organization_id, requester_id=requester_id
        )
    stale = [row["id"] for pk, row in existing.items() if pk not in others]
    if stale:
        removed += Document.objects.filter(pk__in=stale).delete()[0]

    get_backend().write_entries(writes)
    return Changes(written=len(writes) + moved, removed=removed)


def remove_ticket(ticket_id: int) -> int:
    """Remove a ticket's documents, e.g. when it was deleted."""
    removed, _ = Document.objects.filter(
        Q(kind=Kind.TICKET, object_id=ticket_id) | Q(kind=Kind.MESSAGE, ticket_id=ticket_id)
    ).delete()
    return removed


def reindex(
    *, progress: Progress | None = None, chunk: int = 2000, workers: int | None = None
) -> int:
    """Rebuild every ticket and message document from the tickets and their messages.

    1. Remove the ticket and message documents (searches find less until this ends);
       other areas' documents (articles...) stay.
    2. Cut the tickets, in id order, into ranges of `chunk`, and write each range's
       documents with one INSERT ... SELECT (Backend.rebuild) in a transaction of its
       own; `workers` connections at once where the database computes the index entries
       in its own processes (PostgreSQL: Backend.rebuild_workers by default).
    3. Compact the index and refresh the statistics.
    Calls progress(done, expected) after each range; returns the number of documents.
    """
    backend = get_backend()
    # About one document per message: a ticket's description shares the ticket's.
    expected = Message.objects.count()
    with transaction.atomic():
        backend.clear([Kind.TICKET, Kind.MESSAGE])
    ids = list(Ticket.objects.order_by("pk").values_list("pk", flat=True))
    ranges = [
        (ids[start - 1] if start else 0, ids[min(start + chunk, len(ids)) - 1])
        for start in range(0, len(ids), chunk)
    ]
    if workers is None:
        workers = backend.rebuild_workers()
    done = 0
    for written in _rebuild(ranges, workers):
        done += written
        if progress is not None:
            progress(done, max(expected, done))
    backend.optimize()
    return done


def _rebuild(ranges: list[tuple[int, int]], workers: int) -> Iterator[int]:
    """Backend.rebuild of each range, each in its own transaction; yields each one's count
    as it ends. With several workers, each thread has its own connection (closed when
    it ends); an error stops the others after their current range, then is raised."""
    if workers <= 1 or len(ranges) <= 1:
        backend = get_backend()
        for bounds in ranges:
            with transaction.atomic():
                yield backend.rebuild(*bounds)
        return
    todo: queue.SimpleQueue[tuple[int, int]] = queue.SimpleQueue()
    for bounds in ranges:
        todo.put(bounds)
    results: queue.SimpleQueue[int | BaseException] = queue.SimpleQueue()
    failed = threading.Event()

    def work() -> None:
        try:
            backend = get_backend()
            while not failed.is_set():
                try:
                    bounds = todo.get_nowait()
                except queue.Empty:
                    return
                with transaction.atomic():
                    results.put(backend.rebuild(*bounds))
        except BaseException as error:  # noqa: BLE001 - handed to the caller's thread
            failed.set()
            results.put(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, daemon=True) for _ in range(workers)]
    for thread in threads:
        thread.start()
    try:
        for _ in ranges:
            result = results.get()
            if isinstance(result, BaseException):
                raise result
            yield result
    finally:
        failed.set()
        for thread in threads:
            thread.join()
