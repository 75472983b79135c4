"""Reading the knowledge base for a person: searches and suggestions (through
soporte/search, scoped by kb.policy), the home page tree, language variants, the FAQ,
and what the agent's ticket page suggests."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from django.db.models import Case, Count, F, IntegerField, Q, QuerySet, Value, When

from soporte.accounts import policy as accounts_policy
from soporte.accounts.models import User
from soporte.search import queries as search_queries
from soporte.search import semantic
from soporte.search.models import Document, Kind
from soporte.search.objects import object_scope, search_objects
from soporte.search.text import Query, parse_query, snippet
from soporte.tickets.models import Message, Status, Ticket

from . import policy
from .models import (
    DEFLECTED,
    Article,
    ArticleStatus,
    Category,
    Deflection,
    FaqEntry,
    LinkKind,
    Section,
    TicketLink,
)
from .policy import Reader

MAX_LIMIT = 100
# Suggestions look at this many distinct words of what was typed.
SUGGEST_WORDS = 16
# With soporte[semantic], this many times the asked number of word matches are re-ranked
# by meaning (each suggestion embeds them: a few ms each on a CPU).
SEMANTIC_POOL = 4


@dataclass(frozen=True)
class ArticleHit:
    id: int
    title: str
    language: str
    status: str
    visibility: str
    snippet: str  # safe HTML: escaped text, the matching words in <mark>
    score: float


@dataclass(frozen=True)
class ArticlePage:
    items: list[ArticleHit]
    next_offset: int | None


@dataclass(frozen=True)
class SimilarTicket:
    number: int
    subject: str
    resolution: str
    resolved_at: datetime | None
    score: float


def readable(user: Reader, *, published_only: bool = True) -> QuerySet[Article]:
    """The articles the person may read; only published ones unless asked (agents)."""
    articles = policy.visible_articles(user)
    return articles.filter(status=ArticleStatus.PUBLISHED) if published_only else articles


def _hits(user: Reader, query: Query, allowed: QuerySet[Article], *, limit: int, offset: int,
          any_word: bool) -> list[ArticleHit]:  # fmt: skip
    scope = object_scope(allowed, include_internal=policy.is_agent(user))
    if scope is None or not query:
        return []
    hits = search_objects(Kind.ARTICLE, query, scope, limit=limit, offset=offset, any_word=any_word)
    articles = Article.objects.only("title", "language", "status", "visibility").in_bulk(
        [hit.object_id for hit in hits]
    )
    documents = Document.objects.only("title", "body").in_bulk([hit.document_id for hit in hits])
    items = []
    for hit in hits:
        article, document = articles.get(hit.object_id), documents.get(hit.document_id)
        if article is None or document is None:
            continue  # changed between the two queries
        items.append(
            ArticleHit(
                id=article.pk,
                title=article.title,
                language=article.language,
                status=article.status,
                visibility=article.visibility,
                snippet=snippet(document.body, query, size=24) or snippet(document.title, query),
                score=round(hit.score, 6),
            )
        )
    return items


def search_articles(
    user: Reader,
    text: str,
    *,
    limit: int = 20,
    offset: int = 0,
    published_only: bool = True,
    articles: QuerySet[Article] | None = None,
) -> ArticlePage:
    """The articles the person may read that contain every word of `text`, best first.
    `articles` narrows the search further (a status, a section); it is always
    intersected with what the person may read."""
    query = search_queries.parse(text)
    limit = max(1, min(limit, MAX_LIMIT))
    offset = max(0, min(offset, search_queries.MAX_OFFSET))
    allowed = readable(user, published_only=published_only)
    if articles is not None:
        allowed = allowed.filter(pk__in=articles.values("pk"))
    items = _hits(user, query, allowed, limit=limit + 1, offset=offset, any_word=False)
    more = len(items) > limit
    return ArticlePage(items=items[:limit], next_offset=offset + limit if more else None)


def _loose_query(text: str) -> Query:
    query = parse_query(text[:2000])
    return Query(words=query.words[:SUGGEST_WORDS], terms=query.terms[:SUGGEST_WORDS])


def suggest_articles(user: Reader, text: str, *, limit: int = 5) -> list[ArticleHit]:
    """Published articles the person may read that share words with `text` (what a
    requester is typing, a ticket's subject and description), best first; one language
    variant per article, the best-matching one."""
    query = _loose_query(text)
    if not query:
        return []
    allowed = readable(user)
    wanted = limit * 2 if not semantic.available() else limit * SEMANTIC_POOL
    items = _hits(user, query, allowed, limit=wanted, offset=0, any_word=True)
    rows = Article.objects.filter(pk__in=[i.id for i in items]).values_list("pk", "group", "body")
    groups = {pk: group for pk, group, _body in rows}
    seen: set[int] = set()
    unique = []
    for item in items:
        group = groups.get(item.id)
        if group in seen:
            continue
        seen.add(group)
        unique.append(item)
    bodies = {pk: body for pk, _group, body in rows}
    return _by_meaning(text, unique, bodies)[:limit]


def _by_meaning(text: str, items: list[ArticleHit], bodies: dict[int, str]) -> list[ArticleHit]:
    """With soporte[semantic], the word matches re-ranked half by meaning (an article
    that says the same in other words rises); unchanged without it."""
    meaning = semantic.closeness(
        text[:1000], [f"{item.title}\n{bodies.get(item.id, '')[:500]}" for item in items]
    )
    if meaning is None:
        return items
    scores = semantic.blend([item.score for item in items], meaning)
    order = sorted(range(len(items)), key=lambda i: -scores[i])
    return [replace(items[i], score=round(scores[i], 6)) for i in order]


def ticket_text(ticket: Ticket) -> str:
    """What a ticket is about: its subject and the requester's first words."""
    first = (
        Message.objects.filter(ticket=ticket, internal=False)
        .order_by("created_at", "id")
        .values_list("body_text", flat=True)
        .first()
    )
    return f"{ticket.subject}\n{(first or '')[:1000]}"


def similar_resolved_tickets(
    user: User, ticket: Ticket, *, text: str | None = None, limit: int = 5
) -> list[SimilarTicket]:
    """Resolved and closed tickets the agent may see that share words with this one."""
    query = _loose_query(text if text is not None else ticket_text(ticket))
    if not query:
        return []
    allowed = (
        accounts_policy.visible_tickets(user)
        .filter(status__in=[Status.RESOLVED, Status.CLOSED], merged_into__isnull=True)
        .exclude(pk=ticket.pk)
    )
    scope = object_scope(allowed, include_internal=False)
    if scope is None:
        return []
    hits = search_objects(Kind.TICKET, query, scope, limit=limit, any_word=True)
    tickets = Ticket.objects.only("number", "subject", "resolution", "resolved_at").in_bulk(
        [hit.object_id for hit in hits]
    )
    return [
        SimilarTicket(t.number, t.subject, t.resolution, t.resolved_at, round(hit.score, 6))
        for hit in hits
        if (t := tickets.get(hit.object_id)) is not None
    ]


# -- language variants ---------------------------------------------------------------------


def preferred(articles: Iterable[Article], language: str) -> list[Article]:
    """One article per translation group, in the order the groups first appear: the
    variant in `language` when there is one, else the first one listed."""
    chosen: dict[int, Article] = {}
    for article in articles:
        current = chosen.get(article.group_id)
        if current is None or (article.language == language and current.language != language):
            chosen[article.group_id] = article
    return list(chosen.values())


def variants(user: Reader, article: Article, *, published_only: bool = True) -> list[Article]:
    """The article's other languages the person may read."""
    return list(
        readable(user, published_only=published_only)
        .filter(group_id=article.group_id)
        .exclude(pk=article.pk)
        .only("title", "language", "status")
        .order_by("language")
    )


# -- the portal's home page ------------------------------------------------------------


@dataclass
class SectionEntry:
    section: Section
    articles: list[Article]


@dataclass
class CategoryEntry:
    category: Category
    sections: list[SectionEntry]


def tree(user: Reader, language: str, *, category: Category | None = None) -> list[CategoryEntry]:
    """Categories > sections > the published articles the person may read, each in
    their language when it exists. Empty sections and categories are left out. Two
    queries."""
    articles = (
        readable(user)
        .filter(section__isnull=False)
        .select_related("section__category")
        .only(
            "title",
            "language",
            "group_id",
            "views",
            "section__name",
            "section__position",
            "section__description",
            "section__category__name",
            "section__category__description",
            "section__category__position",
        )  # fmt: skip
        .order_by(
            "section__category__position",
            "section__category__name",
            "section__position",
            "section__name",
            "title",
            "pk",
        )  # fmt: skip
    )
    if category is not None:
        articles = articles.filter(section__category=category)
    categories: dict[int, CategoryEntry] = {}
    sections: dict[int, SectionEntry] = {}
    for article in preferred(articles, language):
        section = article.section
        assert section is not None
        entry = categories.get(section.category_id)
        if entry is None:
            entry = categories[section.category_id] = CategoryEntry(section.category, [])
        if section.pk not in sections:
            sections[section.pk] = SectionEntry(section, [])
            entry.sections.append(sections[section.pk])
        sections[section.pk].articles.append(article)
    return list(categories.values())


# -- the FAQ ---------------------------------------------------------------------------


def faq(user: Reader, language: str, *, category: Category | None = None) -> QuerySet[FaqEntry]:
    """Published entries the person may read: by category, those in their language
    first, then the most helpful (yes minus no answers) and the most viewed."""
    entries = (
        policy.visible_faq(user)
        .filter(published=True)
        .select_related("category")
        .annotate(
            net_helpful=F("helpful_yes") - F("helpful_no"),
            other_language=Case(
                When(language=language, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            ),
        )
        .order_by(
            "category__position",
            "category__name",
            "other_language",
            "-net_helpful",
            "-views",
            "position",
            "pk",
        )  # fmt: skip
    )
    if category is not None:
        entries = entries.filter(category=category)
    return entries


def faq_by_category(user: Reader, language: str) -> list[tuple[Category, list[FaqEntry]]]:
    grouped: dict[int, tuple[Category, list[FaqEntry]]] = {}
    for entry in faq(user, language):
        grouped.setdefault(entry.category_id, (entry.category, []))[1].append(entry)
    return list(grouped.values())


# -- numbers for agents ----------------------------------------------------------------


def with_counts(articles: QuerySet[Article]) -> QuerySet[Article]:
    """Each article with `solved_count` (tickets solved with it) and `deflected_count`
    (tickets it saved)."""
    return articles.annotate(
        solved_count=Count(
            "ticket_links",
            filter=Q(ticket_links__kind=LinkKind.SOLVED_WITH),
            distinct=True,
        ),
        deflected_count=Count(
            "deflections", filter=Q(deflections__outcome__in=DEFLECTED), distinct=True
        ),
    )


def solved_count(article: Article) -> int:
    return TicketLink.objects.filter(article=article, kind=LinkKind.SOLVED_WITH).count()


def deflected_count(article: Article | None = None) -> int:
    deflections = Deflection.objects.filter(outcome__in=DEFLECTED)
    if article is not None:
        deflections = deflections.filter(article=article)
    return deflections.count()
