"""GET /api/v1/search: full-text search over the tickets the caller may see."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from . import queries

router = Router(tags=["search"])


class SearchIn(Schema):
    q: str = Field(
        "",
        description="Words to find, all of them, in a ticket's subject and description or "
        "in one of its messages; in any order, accents and case ignored; each word also "
        "finds its other forms (printer, printers; impresora, impresoras). At most "
        f"{queries.MAX_QUERY_LENGTH} characters.",
    )
    limit: int = Field(20, ge=1, le=queries.MAX_LIMIT)
    offset: int = Field(0, ge=0, le=queries.MAX_OFFSET)


class SearchHitOut(Schema):
    number: int
    subject: str
    status: str
    updated_at: datetime
    kind: str = Field(description="The best match: 'ticket' (subject, description) or 'message'.")
    snippet: str = Field(description="Safe HTML: escaped text, matching words in <mark>.")
    score: float


class SearchPageOut(Schema):
    items: list[SearchHitOut]
    next_offset: int | None = Field(
        description="Pass as ?offset= for the next page; null at the end."
    )


@router.get("", response=SearchPageOut, summary="Search the tickets you may see")
def search(request: HttpRequest, query: Query[SearchIn]):
    return queries.search_tickets(request.auth, query.q, limit=query.limit, offset=query.offset)
