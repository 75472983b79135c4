"""Knowledge-base helpers: a category and section, and `write`, which makes an article
through the services (published by Carol unless asked otherwise) and runs its jobs, as
a commit would (search indexing)."""

from __future__ import annotations

import pytest

from soporte.kb import services
from soporte.kb.models import Article, ArticleStatus, Category, Section


@pytest.fixture
def printing(db) -> Category:
    return Category.objects.create(name="Printing", description="Printers and scanners")


@pytest.fixture
def printers(printing) -> Section:
    return Section.objects.create(category=printing, name="Printers")


@pytest.fixture
def write(alice, carol, printers, committed):
    """write(title, body, **overrides) -> an article Alice wrote and Carol published.
    Overrides: status, language, visibility, organizations, section, author,
    translation_of, tags, review_by."""

    def make(title: str, body: str = "", **overrides) -> Article:
        status = overrides.pop("status", ArticleStatus.PUBLISHED)
        author = overrides.pop("author", alice)
        overrides.setdefault("section", printers)
        overrides.setdefault("visibility", "public")
        with committed():
            article = services.create_article(
                acting_user=author, title=title, body=body or title, **overrides
            )
            if status in (ArticleStatus.IN_REVIEW, ArticleStatus.PUBLISHED):
                services.transition_article(
                    article, acting_user=author, status=ArticleStatus.IN_REVIEW
                )
            if status == ArticleStatus.PUBLISHED:
                services.transition_article(
                    article, acting_user=carol, status=ArticleStatus.PUBLISHED
                )
            if status == ArticleStatus.ARCHIVED:
                services.transition_article(
                    article, acting_user=carol, status=ArticleStatus.PUBLISHED
                )
                services.transition_article(
                    article, acting_user=carol, status=ArticleStatus.ARCHIVED
                )
        article.refresh_from_db()
        return article

    return make
