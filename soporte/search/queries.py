"""Searching, for a person: ranked tickets with a highlighted snippet each.

Every search is scoped by policy.visible_tickets(user), compiled into the backend's SQL,
and internal documents count only for agents: a requester never finds a ticket by words
that appear only in an internal note, and never sees one in a snippet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import EmptyResultSet
from django.db.models import Max
from django.db.models.expressions import RawSQL
from django.utils.translation import gettext as _

from soporte.accounts import policy
from soporte.accounts.models import User
from soporte.lib.errors import InvalidInput
from soporte.tickets.models import Ticket

from .backend import Hit, Scope, get_backend
from .models import Document
from .text import Query, parse_query, snippet, words

MAX_QUERY_LENGTH = 256
MAX_WORDS = 32
MAX_LIMIT = 100
MAX_OFFSET = 10_000
# Newest documents searched first for broad scopes, by count (see ticket_hits).
WINDOWS: tuple[int, ...] = (50_000, 200_000)


@dataclass(frozen=True)
class TicketHit:
    number: int
    subject: str
    status: str
    updated_at: datetime
    kind: str  # which document matched best: "ticket" (subject, description) or "message"
    snippet: str  # safe HTML: escaped text, the matching words in <mark>
    score: float


@dataclass(frozen=True)
class SearchPage:
    items: list[TicketHit]
    next_offset: int | None


def parse(text: str) -> Query:
    """The words to search for, or InvalidInput (422) with a message to show."""
    text = text.strip()
    if len(text) > MAX_QUERY_LENGTH:
        raise InvalidInput(
            _("The search is too long: at most %(count)s characters.") % {"count": MAX_QUERY_LENGTH}
        )
    if not words(text):
        # Empty, blank, or only punctuation: nothing to look for.
        raise InvalidInput(_("Type one or more words to search for."))
    query = parse_query(text)  # without stopwords: may be empty ("the", "de la")
    if len(query.words) > MAX_WORDS:
        raise InvalidInput(
            _("The search has too many words: at most %(count)s.") % {"count": MAX_WORDS}
        )
    return query


def scope_for(user: User) -> Scope | None:
    """What the user may find, as SQL made from policy.visible_tickets(user); None when
    nothing (nobody signed in, a disabled account).

    Agents see most tickets: each matching document's ticket is checked by its key,
    rather than all their tickets listed first. A requester sees the tickets they
    requested, and an organization's lead all of its tickets (accounts.policy): those
    are allowed by the documents' own requester and organization columns, and only
    their other tickets (watched ones) are listed."""
    visible = policy.visible_tickets(user).order_by()
    if visible.query.is_empty():
        return None
    organization_id = requester_id = None
    if user.is_agent:
        visible = visible.filter(pk=RawSQL("d.ticket_id", ()))
    else:
        requester_id = user.pk
        visible = visible.exclude(requester_id=requester_id)
        if user.organization_id and user.sees_organization_tickets:
            organization_id = user.organization_id
            visible = visible.exclude(organization_id=organization_id)
        # Beyond those, policy shows a requester the tickets they watch: the rest is
        # looked for among these (through the watchers' user index; the policy's OR
        # alone made PostgreSQL read every ticket). A rule added to the policy later
        # would hide tickets from search, never show more.
        watched = Ticket.watchers.through.objects.filter(user_id=user.pk).values("ticket_id")
        visible = visible.filter(pk__in=watched)
    try:
        sql, params = visible.values("pk").query.sql_with_params()
    except EmptyResultSet:
        return None
    broad = user.is_agent or organization_id is not None
    return Scope(
        sql,
        params,
        agent=user.is_agent,
        broad=broad,
        organization_id=organization_id,
        requester_id=requester_id,
    )


def ticket_hits(query: Query, scope: Scope, *, limit: int, offset: int) -> list[Hit]:
    """The ranked hits alone, without loading tickets or building snippets.

    For agents, who see most tickets, broad searches are answered from the newest
    documents first: the newest WINDOWS[0] documents, then (if any) the next window,
    then all of them, stopping at the first that fills the page (`limit` hits). So a
    word found in a third of a million messages costs about what one found in a few
    thousand does, and the page holds the best matches among recent documents; a search
    with fewer matches than a page ranks all of them, as does any search in an index
    smaller than the window. So are an organization's lead's where the backend says
    windows pay (FTS5). Other requesters see few tickets: theirs are always all ranked."""
    backend = get_backend()
    if not (scope.agent or (scope.broad and backend.windows_for_requesters)):
        return backend.search(query, scope, limit=limit, offset=offset)
    newest = Document.objects.aggregate(newest=Max("id"))["newest"] or 0
    for window in WINDOWS:
        if newest <= window:
            break
        hits = backend.search(
            query, scope, limit=limit, offset=offset, after_id=newest - window, window=window
        )
        if len(hits) >= limit:
            return hits
    return backend.search(query, scope, limit=limit, offset=offset)


def search_tickets(user: User, text: str, *, limit: int = 20, offset: int = 0) -> SearchPage:
    """The tickets the user may see that contain every word of `text`, best first.

    1. Parse the text into words (422 when empty, too long or without any word).
    2. Ask the backend for one hit per visible ticket, one more than asked to tell
       whether a next page exists.
    3. Load those best documents with their tickets in one query; snippets from the
       best document's text.
    """
    query = parse(text)
    limit = max(1, min(limit, MAX_LIMIT))
    offset = max(0, min(offset, MAX_OFFSET))
    scope = scope_for(user)
    if scope is None or not query:
        return SearchPage(items=[], next_offset=None)
    hits = ticket_hits(query, scope, limit=limit + 1, offset=offset)
    more, hits = len(hits) > limit, hits[:limit]
    # Through the policy again: a document's organization copied before its ticket
    # moved (indexed after the commit) must not show the ticket to the old organization.
    # One query for the page: the best documents with their tickets, the visible ones.
    visible = policy.visible_tickets(user).filter(pk__in=[hit.ticket_id for hit in hits])
    rows = Document.objects.filter(
        pk__in=[hit.document_id for hit in hits], ticket_id__in=visible.values("pk")
    ).values_list(
        "id", "kind", "title", "body", "ticket__number", "ticket__subject", "ticket__status",
        "ticket__updated_at",
    )  # fmt: skip
    found = {row[0]: row for row in rows}
    items = []
    for hit in hits:
        row = found.get(hit.document_id)
        if row is None:
            continue  # changed since the search, or no longer visible
        _, kind, title, body, number, subject, status, updated_at = row
        items.append(
            TicketHit(
                number=number,
                subject=subject,
                status=status,
                updated_at=updated_at,
                kind=kind,
                snippet=snippet(body, query) or snippet(title, query),
                score=round(hit.score, 6),
            )
        )
    return SearchPage(items=items, next_offset=offset + limit if more else None)
