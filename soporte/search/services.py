"""Keeping the search documents in step with tickets and their messages.

A ticket is indexed as one "ticket" document (title: the subject; body: its description,
the first public message, and its resolution) plus one "message" document for each other
message, internal ones flagged. So words of the subject and of the description are found
together, and a requester never finds a ticket by the words of an internal note.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from soporte.tickets.models import Message, Ticket

from .backend import get_backend
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
    internal: bool = False,
    title: str = "",
    body: str = "",
    updated_at: datetime | None = None,
) -> Document:
    return Document(
        kind=kind,
        object_id=object_id,
        ticket_id=ticket_id,
        organization_id=organization_id,
        internal=internal,
        title=title[:300],
        body=body[:MAX_BODY],
        updated_at=updated_at or timezone.now(),
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
    4. The documents of a ticket that moved to another organization get its new one.
    """
    ids = sorted(set(ticket_ids))
    tickets = {
        row["id"]: row
        for row in Ticket.objects.filter(pk__in=ids).values(
            "id", "subject", "resolution", "merged_into_id", "organization_id", "updated_at"
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
    existing = {
        row["object_id"]: row
        for row in Document.objects.filter(
            Q(kind=Kind.MESSAGE)
            & (Q(ticket_id__in=live) | Q(object_id__in=[*others, *descriptions.values()]))
        ).values("id", "object_id", "ticket_id", "organization_id", "internal")
    }
    new = [pk for pk in others if pk not in existing]
    texts = dict(
        Message.objects.filter(pk__in=[*descriptions.values(), *new]).values_list("id", "body_text")
    )
    current: dict[int, tuple[str, str]] = {}
    # Tickets whose documents carry another organization than the ticket's.
    moved_org = {
        row["ticket_id"]
        for row in existing.values()
        if row["ticket_id"] in live_set
        and row["organization_id"] != tickets[row["ticket_id"]]["organization_id"]
    }
    for doc in Document.objects.filter(kind=Kind.TICKET, object_id__in=live).values(
        "object_id", "title", "body", "organization_id"
    ):
        current[doc["object_id"]] = (doc["title"], doc["body"])
        if doc["organization_id"] != tickets[doc["object_id"]]["organization_id"]:
            moved_org.add(doc["object_id"])
    writes: list[Document] = []
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
            )
    # One UPDATE per organization moved to, all of those tickets' documents at once.
    by_org: dict[int | None, list[int]] = {}
    for ticket_id in sorted(moved_org):
        by_org.setdefault(tickets[ticket_id]["organization_id"], []).append(ticket_id)
    for organization_id, ids_moved in by_org.items():
        moved += Document.objects.filter(ticket_id__in=ids_moved).update(
            organization_id=organization_id
        )
    stale = [row["id"] for pk, row in existing.items() if pk not in others]
    if stale:
        removed += Document.objects.filter(pk__in=stale).delete()[0]

    get_backend().write(writes)
    return Changes(written=len(writes) + moved, removed=removed)


def remove_ticket(ticket_id: int) -> int:
    """Remove a ticket's documents, e.g. when it was deleted."""
    removed, _ = Document.objects.filter(
        Q(kind=Kind.TICKET, object_id=ticket_id) | Q(kind=Kind.MESSAGE, ticket_id=ticket_id)
    ).delete()
    return removed


def _ticket_documents(ticket_ids: list[int]) -> Iterator[Document]:
    """The documents of these tickets, built from the database in two queries."""
    tickets = Ticket.objects.filter(pk__in=ticket_ids, merged_into__isnull=True).values_list(
        "id", "subject", "resolution", "organization_id", "updated_at"
    )
    messages: dict[int, list[tuple[Any, ...]]] = {}
    rows = (
        Message.objects.filter(ticket_id__in=ticket_ids)
        .order_by("ticket_id", "created_at", "id")
        .values_list("ticket_id", "id", "internal", "body_text", "created_at")
    )
    for row in rows:
        messages.setdefault(row[0], []).append(row)
    for ticket_id, subject, resolution, organization_id, updated_at in tickets:
        conversation = messages.get(ticket_id, [])
        description = next((row for row in conversation if not row[2]), None)
        yield _document(
            Kind.TICKET,
            ticket_id,
            ticket_id=ticket_id,
            organization_id=organization_id,
            title=subject,
            body=_ticket_body(description[3] if description else "", resolution),
            updated_at=updated_at,
        )
        for _, pk, internal, text, created in conversation:
            if description is None or pk != description[1]:
                yield _document(
                    Kind.MESSAGE,
                    pk,
                    ticket_id=ticket_id,
                    organization_id=organization_id,
                    internal=internal,
                    body=text,
                    updated_at=created,
                )


def reindex(*, progress: Progress | None = None, chunk: int = 500) -> int:
    """Rebuild every ticket and message document from the tickets and their messages.

    1. Remove the ticket and message documents (searches find less until this ends);
       other areas' documents (articles...) stay.
    2. Walk the tickets in id order, `chunk` at a time, writing their documents in bulk.
    3. Compact the index and refresh the statistics.
    Calls progress(done, expected) after each chunk; returns the number of documents.
    """
    backend = get_backend()
    # About one document per message: a ticket's description shares the ticket's.
    expected = Message.objects.count()
    with transaction.atomic():
        backend.clear([Kind.TICKET, Kind.MESSAGE])
    done = 0
    last_id = 0
    while True:
        ids = list(
            Ticket.objects.filter(pk__gt=last_id)
            .order_by("pk")
            .values_list("pk", flat=True)[:chunk]
        )
        if not ids:
            break
        last_id = ids[-1]
        done += index_documents(_ticket_documents(ids))
        if progress is not None:
            progress(done, max(expected, done))
    backend.optimize()
    return done
