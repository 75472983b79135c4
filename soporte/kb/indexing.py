"""Articles in the full-text index (soporte/search): one "article" document each, written
through the search area's public functions. Agents-only articles are flagged internal,
so they are never found by a search that does not count internal documents, whatever
its scope says."""

from __future__ import annotations

from collections.abc import Iterator

from django.utils import timezone

from soporte.search.models import Document, Kind
from soporte.search.services import MAX_BODY, index_documents, remove_documents

from . import markdown
from .models import Article, Visibility


def _document(article: Article) -> Document:
    return Document(
        kind=Kind.ARTICLE,
        object_id=article.pk,
        ticket=None,
        internal=article.visibility == Visibility.AGENTS,
        title=article.title[:300],
        body=markdown.to_text(article.body)[:MAX_BODY],
        updated_at=article.updated_at or timezone.now(),
    )


def index_article(article_id: int) -> str:
    """Write the article's document, or remove it; "indexed" or "removed"."""
    article = Article.objects.filter(pk=article_id).first()
    if article is None:
        remove_documents(Kind.ARTICLE, [article_id])
        return "removed"
    index_documents([_document(article)])
    return "indexed"


def _all_documents() -> Iterator[Document]:
    for article in Article.objects.order_by("pk").iterator(chunk_size=500):
        yield _document(article)


def reindex_articles() -> int:
    """Rewrite every article's document (after `soporte reindex`, which rebuilds the
    index from tickets only) and drop those of deleted articles. Returns how many."""
    existing = set(Article.objects.values_list("pk", flat=True))
    indexed = set(Document.objects.filter(kind=Kind.ARTICLE).values_list("object_id", flat=True))
    remove_documents(Kind.ARTICLE, indexed - existing)
    return index_documents(_all_documents())
