"""REST endpoints for the knowledge base (/api/v1/kb): thin, each parses input and calls
one service. Articles are read through kb.policy: what a person may not read answers 404,
as if it did not exist; what they may read but not change answers 403."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema
from ninja import Status as HttpStatus
from pydantic import Field

from soporte.accounts import policy as accounts_policy
from soporte.accounts.models import Organization
from soporte.lib.errors import InvalidInput, NotFound
from soporte.lib.schema import Id, Number, Version, text
from soporte.search import queries as search_queries

from . import export, markdown, policy, queries, services
from .models import (
    Article,
    ArticleStatus,
    Category,
    FaqEntry,
    Language,
    Section,
    Visibility,
)

router = Router(tags=["knowledge base"])

Title = text(200, 1)
Markdown = text(200_000)


# -- schemas ---------------------------------------------------------------------------


class SectionOut(Schema):
    id: int
    name: str
    description: str


class KbCategoryOut(Schema):
    id: int
    name: str
    description: str
    position: int
    sections: list[SectionOut]

    @staticmethod
    def resolve_sections(obj) -> list:
        return list(obj.sections.all())


class KbCategoryIn(Schema):
    name: text(120, 1)
    description: text(2000) = ""
    position: int = Field(0, ge=0, le=1_000_000)


class SectionIn(Schema):
    name: text(120, 1)
    description: text(2000) = ""
    position: int = Field(0, ge=0, le=1_000_000)


class ArticleQuery(Schema):
    q: str = Field("", max_length=search_queries.MAX_QUERY_LENGTH, description="Words to find.")
    status: ArticleStatus | None = Field(None, description="Agents only: any status.")
    language: Language | None = None
    section_id: Id | None = None
    limit: int = Field(20, ge=1, le=queries.MAX_LIMIT)
    offset: int = Field(0, ge=0, le=search_queries.MAX_OFFSET)


class ArticleSummary(Schema):
    id: int
    title: str
    language: str
    status: str
    visibility: str
    snippet: str = Field("", description="Safe HTML, matching words in <mark> (searches).")


class ArticlePageOut(Schema):
    items: list[ArticleSummary]
    next_offset: int | None


class VariantOut(Schema):
    id: int
    language: str
    title: str
    status: str


class ArticleOut(Schema):
    id: int
    title: str
    language: str
    status: str
    visibility: str
    section_id: int | None
    body: str = Field(description="Markdown.")
    body_html: str = Field(description="Rendered and sanitized.")
    tags: list[str]
    organization_ids: list[int] = Field(description="Agents only; empty for others.")
    owner: str
    version: int
    review_by: date | None
    views: int
    helpful_yes: int
    helpful_no: int
    flagged: bool
    tickets_solved: int
    updated_at: datetime
    variants: list[VariantOut]


class ArticleIn(Schema):
    title: Title
    body: Markdown = ""
    language: Language = Language.EN
    section_id: Id | None = None
    visibility: Visibility = Visibility.AGENTS
    organization_ids: list[Id] = Field(default_factory=list, max_length=500)
    tags: list[text(50)] = Field(default_factory=list, max_length=50)
    review_by: date | None = None


class ArticlePatch(Schema):
    version: Version | None = Field(None, description="The version you loaded (409 if stale).")
    title: Title | None = None
    body: Markdown | None = None
    section_id: Id | None = None
    visibility: Visibility | None = None
    organization_ids: list[Id] | None = Field(None, max_length=500)
    tags: list[text(50)] | None = Field(None, max_length=50)
    review_by: date | None = None
    note: text(200) = ""


class TransitionIn(Schema):
    status: ArticleStatus
    version: Version | None = None


class TranslationIn(Schema):
    language: Language
    title: text(200) = ""
    body: Markdown = ""


class VersionOut(Schema):
    number: int
    title: str
    author: str
    note: str
    created_at: datetime

    @staticmethod
    def resolve_author(obj) -> str:
        return str(obj.author)


class VersionDetail(VersionOut):
    body: str
    diff: str = Field(description="Unified diff against the version before it.")


class RestoreIn(Schema):
    version: Version | None = Field(
        None, description="The article's current version (409 if stale)."
    )


class ReviewedIn(Schema):
    review_by: date | None = None


class FeedbackIn(Schema):
    helpful: bool
    comment: text(2000) = ""


class FeedbackOut(Schema):
    helpful: bool
    comment: str
    helpful_yes: int
    helpful_no: int


class FaqOut(Schema):
    id: int
    category_id: int
    language: str
    question: str
    answer: str
    answer_html: str
    visibility: str
    published: bool
    views: int
    helpful_yes: int
    helpful_no: int


class FaqQuery(Schema):
    language: Language | None = Field(None, description="Entries in it first (default: yours).")
    category_id: Id | None = None


class FaqIn(Schema):
    category_id: Id
    question: text(300, 1)
    answer: text(200_000, 1)
    language: Language = Language.EN
    visibility: Visibility = Visibility.PUBLIC
    organization_ids: list[Id] = Field(default_factory=list, max_length=500)
    published: bool = False
    position: int = Field(0, ge=0, le=1_000_000)


class FaqPatch(Schema):
    category_id: Id | None = None
    question: text(300, 1) | None = None
    answer: text(200_000, 1) | None = None
    language: Language | None = None
    visibility: Visibility | None = None
    organization_ids: list[Id] | None = Field(None, max_length=500)
    published: bool | None = None
    position: int | None = Field(None, ge=0, le=1_000_000)


class SuggestQuery(Schema):
    q: str = Field("", max_length=2000, description="What the person is typing.")
    limit: int = Field(5, ge=1, le=20)


class FromTicketIn(Schema):
    section_id: Id | None = None
    language: Language | None = None


class SolvedWithIn(Schema):
    article_id: Id


class SolvedWithOut(Schema):
    ticket: int
    article_id: int
    tickets_solved: int


class SimilarTicketOut(Schema):
    number: int
    subject: str
    resolution: str
    resolved_at: datetime | None


class TicketSuggestionsOut(Schema):
    articles: list[ArticleSummary]
    similar_tickets: list[SimilarTicketOut]


class ExportQuery(Schema):
    format: Literal["html", "pdf"] = "html"


# -- helpers ---------------------------------------------------------------------------


def _article(request: HttpRequest, article_id: int) -> Article:
    return policy.get_visible_article(request.auth, article_id)


def _section(section_id: int | None) -> Section | None:
    if section_id is None:
        return None
    section = Section.objects.filter(pk=section_id).first()
    if section is None:
        raise InvalidInput(f"Section {section_id} does not exist.")
    return section


def _category(category_id: int) -> Category:
    category = Category.objects.filter(pk=category_id).first()
    if category is None:
        raise InvalidInput(f"Category {category_id} does not exist.")
    return category


def _organizations(ids: list[int]) -> list[Organization]:
    found = list(Organization.objects.filter(pk__in=ids))
    if len(found) != len(set(ids)):
        raise InvalidInput("One of the organizations does not exist.")
    return found


def _detail(request: HttpRequest, article: Article) -> ArticleOut:
    user = request.auth
    agent = policy.is_agent(user)
    return ArticleOut(
        id=article.pk,
        title=article.title,
        language=article.language,
        status=article.status,
        visibility=article.visibility,
        section_id=article.section_id,
        body=article.body,
        body_html=article.body_html,
        tags=[tag.name for tag in article.tags.all()],
        organization_ids=[org.pk for org in article.organizations.all()] if agent else [],
        owner=str(article.owner),
        version=article.version,
        review_by=article.review_by,
        views=article.views,
        helpful_yes=article.helpful_yes,
        helpful_no=article.helpful_no,
        flagged=article.flagged_at is not None,
        tickets_solved=queries.solved_count(article),
        updated_at=article.updated_at,
        variants=[
            VariantOut(id=v.pk, language=v.language, title=v.title, status=v.status)
            for v in queries.variants(user, article, published_only=not agent)
        ],
    )


def _summary(article: Article, snippet: str = "") -> ArticleSummary:
    return ArticleSummary(
        id=article.pk, title=article.title, language=article.language, status=article.status,
        visibility=article.visibility, snippet=snippet,
    )  # fmt: skip


def _hit(hit: queries.ArticleHit) -> ArticleSummary:
    return ArticleSummary(
        id=hit.id, title=hit.title, language=hit.language, status=hit.status,
        visibility=hit.visibility, snippet=hit.snippet,
    )  # fmt: skip


# -- categories ------------------------------------------------------------------------


@router.get("/categories", response=list[KbCategoryOut], summary="Categories and their sections")
def list_categories(request: HttpRequest):
    return Category.objects.prefetch_related("sections")[:500]


@router.post(
    "/categories", response={201: KbCategoryOut}, summary="Create a category (supervisors)"
)
def create_category(request: HttpRequest, data: KbCategoryIn):
    category = services.create_category(acting_user=request.auth, **data.model_dump())
    return HttpStatus(201, category)


@router.post(
    "/categories/{category_id}/sections",
    response={201: SectionOut},
    summary="Add a section to a category (supervisors)",
)
def create_section(request: HttpRequest, category_id: Id, data: SectionIn):
    policy.require_supervisor(request.auth)
    category = Category.objects.filter(pk=category_id).first()
    if category is None:
        raise NotFound(f"No category {category_id}.")
    return HttpStatus(
        201, services.create_section(category, acting_user=request.auth, **data.model_dump())
    )


# -- articles --------------------------------------------------------------------------


@router.get(
    "/articles", response=ArticlePageOut, summary="List or search the articles you may read"
)
def list_articles(request: HttpRequest, query: Query[ArticleQuery]):
    """Requesters get published articles for them; agents every article (filter by
    status). With `q`, the best matches first."""
    user = request.auth
    agent = policy.is_agent(user)
    articles = queries.readable(user, published_only=not agent)
    if query.status:
        articles = articles.filter(status=query.status)
    if query.language:
        articles = articles.filter(language=query.language)
    if query.section_id:
        articles = articles.filter(section_id=query.section_id)
    if query.q.strip():
        page = queries.search_articles(
            user, query.q, limit=query.limit, offset=query.offset, published_only=not agent,
            articles=articles,
        )  # fmt: skip
        return ArticlePageOut(items=[_hit(hit) for hit in page.items], next_offset=page.next_offset)
    rows = list(
        articles.order_by("-updated_at", "-id").only("title", "language", "status", "visibility")[
            query.offset : query.offset + query.limit + 1
        ]
    )
    more = len(rows) > query.limit
    return ArticlePageOut(
        items=[_summary(article) for article in rows[: query.limit]],
        next_offset=query.offset + query.limit if more else None,
    )


@router.post("/articles", response={201: ArticleOut}, summary="Write an article (agents)")
def create_article(request: HttpRequest, data: ArticleIn):
    policy.require_agent(request.auth)
    article = services.create_article(
        acting_user=request.auth,
        title=data.title,
        body=data.body,
        language=data.language,
        section=_section(data.section_id),
        visibility=data.visibility,
        organizations=_organizations(data.organization_ids),
        tags=data.tags,
        review_by=data.review_by,
    )
    return HttpStatus(201, _detail(request, article))


@router.get("/articles/{article_id}", response=ArticleOut, summary="Read an article")
def read_article(request: HttpRequest, article_id: Id):
    return _detail(request, _article(request, article_id))


@router.patch("/articles/{article_id}", response=ArticleOut, summary="Change an article (agents)")
def update_article(request: HttpRequest, article_id: Id, data: ArticlePatch):
    article = _article(request, article_id)
    changes = data.model_dump(exclude_unset=True)
    kwargs: dict = {}
    for name in ("title", "body", "visibility", "tags", "review_by"):
        if name in changes:
            kwargs[name] = changes[name]
    if "section_id" in changes:
        kwargs["section"] = _section(changes["section_id"])
    if changes.get("organization_ids") is not None:
        kwargs["organizations"] = _organizations(changes["organization_ids"])
    article = services.update_article(
        article, acting_user=request.auth, expected_version=data.version, note=data.note, **kwargs
    )
    return _detail(request, _article(request, article.pk))


@router.post(
    "/articles/{article_id}/status",
    response=ArticleOut,
    summary="Move along draft, in review, published, archived",
)
def transition_article(request: HttpRequest, article_id: Id, data: TransitionIn):
    article = services.transition_article(
        _article(request, article_id),
        acting_user=request.auth,
        status=data.status,
        expected_version=data.version,
    )
    return _detail(request, article)


@router.post(
    "/articles/{article_id}/translations",
    response={201: ArticleOut},
    summary="The article in another language, as a new draft (agents)",
)
def translate_article(request: HttpRequest, article_id: Id, data: TranslationIn):
    article = services.create_translation(
        _article(request, article_id),
        acting_user=request.auth,
        language=data.language,
        title=data.title,
        body=data.body,
    )
    return HttpStatus(201, _detail(request, article))


@router.get(
    "/articles/{article_id}/versions",
    response=list[VersionOut],
    summary="Every saved version, newest first (agents)",
)
def list_versions(request: HttpRequest, article_id: Id):
    article = _article(request, article_id)
    policy.require_agent(request.auth)
    return list(article.versions.select_related("author")[:1000])


@router.get(
    "/articles/{article_id}/versions/{number}",
    response=VersionDetail,
    summary="One version, with its diff against the one before (agents)",
)
def read_version(request: HttpRequest, article_id: Id, number: Number):
    article = _article(request, article_id)
    policy.require_agent(request.auth)
    shown = article.versions.select_related("author").filter(number=number).first()
    if shown is None:
        raise NotFound(f"The article has no version {number}.")
    base = article.versions.filter(number=number - 1).first()
    shown.diff = markdown.unified_diff(
        base.body if base else "", shown.body, f"v{number - 1}", f"v{number}"
    )
    return shown


@router.post(
    "/articles/{article_id}/versions/{number}/restore",
    response=ArticleOut,
    summary="Restore a version, as a new version",
)
def restore_version(request: HttpRequest, article_id: Id, number: Number, data: RestoreIn):
    article = services.restore_version(
        _article(request, article_id),
        number,
        acting_user=request.auth,
        expected_version=data.version,
    )
    return _detail(request, article)


@router.post(
    "/articles/{article_id}/reviewed",
    response=ArticleOut,
    summary="Mark reviewed: clears the feedback flag, sets the next review (owner, supervisors)",
)
def mark_reviewed(request: HttpRequest, article_id: Id, data: ReviewedIn):
    article = services.mark_reviewed(
        _article(request, article_id), acting_user=request.auth, review_by=data.review_by
    )
    return _detail(request, article)


@router.post(
    "/articles/{article_id}/feedback",
    response=FeedbackOut,
    summary="Was this helpful? (once per person; again changes it)",
)
def give_feedback(request: HttpRequest, article_id: Id, data: FeedbackIn):
    article = _article(request, article_id)
    feedback = services.give_feedback(
        article, acting_user=request.auth, helpful=data.helpful, comment=data.comment,
        ip=request.META.get("REMOTE_ADDR"),
    )  # fmt: skip
    return FeedbackOut(
        helpful=feedback.helpful,
        comment=feedback.comment,
        helpful_yes=article.helpful_yes,
        helpful_no=article.helpful_no,
    )


@router.get("/articles/{article_id}/export", summary="Download as HTML or PDF")
def export_article(request: HttpRequest, article_id: Id, query: Query[ExportQuery]):
    article = _article(request, article_id)
    manual = export.Manual(article.title, "", [article])
    if query.format == "pdf":
        response = HttpResponse(export.to_pdf(manual), content_type="application/pdf")
    else:
        response = HttpResponse(
            export.to_html(manual, language=article.language),
            content_type="text/html; charset=utf-8",
        )
    name = export.filename(article.title, query.format)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# -- the FAQ ---------------------------------------------------------------------------


@router.get("/faq", response=list[FaqOut], summary="FAQ entries: most helpful and viewed first")
def list_faq(request: HttpRequest, query: Query[FaqQuery]):
    user = request.auth
    language = query.language or (user.language if user.language in Language.values else "en")
    category = _category(query.category_id) if query.category_id else None
    return list(queries.faq(user, language, category=category)[:1000])


@router.post(
    "/faq", response={201: FaqOut}, summary="Write a FAQ entry (agents; supervisors publish)"
)
def create_faq(request: HttpRequest, data: FaqIn):
    policy.require_agent(request.auth)
    entry = services.create_faq_entry(
        acting_user=request.auth,
        category=_category(data.category_id),
        question=data.question,
        answer=data.answer,
        language=data.language,
        visibility=data.visibility,
        organizations=_organizations(data.organization_ids),
        published=data.published,
        position=data.position,
    )
    return HttpStatus(201, entry)


@router.patch("/faq/{entry_id}", response=FaqOut, summary="Change a FAQ entry")
def update_faq(request: HttpRequest, entry_id: Id, data: FaqPatch):
    entry: FaqEntry | None = policy.visible_faq(request.auth).filter(pk=entry_id).first()
    if entry is None:
        raise NotFound(f"FAQ entry {entry_id} not found.")
    changes = data.model_dump(exclude_unset=True)
    kwargs: dict = {
        name: changes[name]
        for name in ("question", "answer", "language", "visibility", "published", "position")
        if changes.get(name) is not None
    }
    if changes.get("category_id") is not None:
        kwargs["category"] = _category(changes["category_id"])
    if changes.get("organization_ids") is not None:
        kwargs["organizations"] = _organizations(changes["organization_ids"])
    return services.update_faq_entry(entry, acting_user=request.auth, **kwargs)


# -- suggestions and tickets ---------------------------------------------------------------


@router.get(
    "/suggestions",
    response=list[ArticleSummary],
    summary="Published articles matching what someone is typing (any of the words)",
)
def suggest(request: HttpRequest, query: Query[SuggestQuery]):
    hits = queries.suggest_articles(request.auth, query.q, limit=query.limit)
    return [_hit(hit) for hit in hits]


def _ticket(request: HttpRequest, number: int):
    return accounts_policy.get_visible_ticket(request.auth, number)


@router.post(
    "/tickets/{number}/article",
    response={201: ArticleOut},
    summary="A draft article from a resolved ticket (agents)",
)
def article_from_ticket(request: HttpRequest, number: Number, data: FromTicketIn):
    ticket = _ticket(request, number)
    article = services.create_article_from_ticket(
        ticket,
        acting_user=request.auth,
        section=_section(data.section_id),
        language=data.language,
    )
    return HttpStatus(201, _detail(request, article))


@router.post(
    "/tickets/{number}/solved-with",
    response=SolvedWithOut,
    summary="The ticket was solved with this article (agents)",
)
def solved_with(request: HttpRequest, number: Number, data: SolvedWithIn):
    ticket = _ticket(request, number)
    accounts_policy.require_work(request.auth, ticket)
    article = _article(request, data.article_id)
    services.mark_solved_with(ticket, article, acting_user=request.auth)
    return SolvedWithOut(
        ticket=ticket.number, article_id=article.pk, tickets_solved=queries.solved_count(article)
    )


@router.get(
    "/tickets/{number}/suggestions",
    response=TicketSuggestionsOut,
    summary="Articles and similar resolved tickets for a ticket (agents)",
)
def ticket_suggestions(request: HttpRequest, number: Number):
    ticket = _ticket(request, number)
    accounts_policy.require_work(request.auth, ticket)
    text_ = queries.ticket_text(ticket)
    return TicketSuggestionsOut(
        articles=[_hit(hit) for hit in queries.suggest_articles(request.auth, text_)],
        similar_tickets=[
            SimilarTicketOut(
                number=t.number,
                subject=t.subject,
                resolution=t.resolution,
                resolved_at=t.resolved_at,
            )  # fmt: skip
            for t in queries.similar_resolved_tickets(request.auth, ticket, text=text_)
        ],
    )
