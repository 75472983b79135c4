"""Who reads which articles and FAQ entries. Every list of articles for a person comes
from visible_articles(); every single article from get_visible_article().

- Agents, supervisors and admins read every article in every state (drafts included).
- Requesters read published articles that are public, or meant for their organization.
- Anyone else (signed out, or a disabled account) reads published public articles only.

Who may change articles is decided in services.py.
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from soporte.accounts.models import User
from soporte.lib.errors import NotFound, PermissionDenied

from .models import Article, ArticleStatus, FaqEntry, Visibility

Reader = User | AnonymousUser


def is_agent(user: Reader) -> bool:
    return bool(user.is_authenticated and user.is_active and getattr(user, "is_agent", False))


def is_supervisor(user: Reader) -> bool:
    return is_agent(user) and bool(getattr(user, "is_supervisor", False))


def _reader_scope(user: Reader, through, column: str) -> Q:
    """Published, and public or shared with the reader's organization. A subquery on the
    organizations table, so an article shared with many organizations is one row."""
    scope = Q(visibility=Visibility.PUBLIC)
    organization_id = getattr(user, "organization_id", None)
    if user.is_authenticated and user.is_active and organization_id:
        shared = through.objects.filter(organization_id=organization_id).values(column)
        scope |= Q(visibility=Visibility.ORGANIZATIONS, pk__in=shared)
    return scope


def visible_articles(user: Reader) -> QuerySet[Article]:
    """The articles this person may read. The only way to list articles for a person."""
    articles = Article.objects.all()
    if is_agent(user):
        return articles
    through = Article.organizations.through
    return articles.filter(
        _reader_scope(user, through, "article_id"), status=ArticleStatus.PUBLISHED
    )


def can_read(user: Reader, article: Article) -> bool:
    """The same rule as visible_articles, for one loaded article."""
    if is_agent(user):
        return True
    if article.status != ArticleStatus.PUBLISHED:
        return False
    if article.visibility == Visibility.PUBLIC:
        return True
    organization_id = getattr(user, "organization_id", None)
    if article.visibility != Visibility.ORGANIZATIONS or not organization_id:
        return False
    if not (user.is_authenticated and user.is_active):
        return False
    return article.organizations.filter(pk=organization_id).exists()


def get_visible_article(user: Reader, article_id: int) -> Article:
    """The article, or NotFound when it does not exist *or* the person may not read it."""
    article = (
        visible_articles(user)
        .select_related("section__category", "owner", "group")
        .filter(pk=article_id)
        .first()
    )
    if article is None:
        raise NotFound(_("Article %(id)s not found.") % {"id": article_id})
    return article


def visible_faq(user: Reader) -> QuerySet[FaqEntry]:
    """The FAQ entries this person may read (agents: all, unpublished ones too)."""
    entries = FaqEntry.objects.all()
    if is_agent(user):
        return entries
    through = FaqEntry.organizations.through
    return entries.filter(_reader_scope(user, through, "faqentry_id"), published=True)


def require_agent(user: Reader) -> None:
    if not is_agent(user):
        raise PermissionDenied(_("Only agents may do this."))


def require_supervisor(user: Reader) -> None:
    if not is_supervisor(user):
        raise PermissionDenied(_("Only supervisors and administrators may do this."))
