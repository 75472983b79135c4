"""Review reminders: when an article's "review by" date comes, its owner gets one email
for that date. A new date (after a review) earns a new reminder when it comes."""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from .models import Article, ArticleEvent, ArticleEventKind, ArticleStatus


def due_for_reminder(today: date | None = None):
    """Articles whose review date has come and whose owner was not reminded of it."""
    today = today or timezone.localdate()
    return (
        Article.objects.filter(review_by__lte=today)
        .exclude(status=ArticleStatus.ARCHIVED)
        .exclude(reminded_for__isnull=False, reminded_for=F("review_by"))
    )


def queue_due_reminders(today: date | None = None, limit: int = 500) -> int:
    """Claim each due article for its date with a conditional UPDATE (so two runs never
    remind twice) and queue the mail in the same transaction."""
    from .tasks import send_review_reminder

    queued = 0
    rows = list(due_for_reminder(today).values_list("pk", "review_by")[:limit])
    for pk, due in rows:
        with transaction.atomic():
            claimed = (
                Article.objects.filter(pk=pk, review_by=due)
                .exclude(reminded_for=due)
                .update(reminded_for=due)
            )
            if claimed:
                send_review_reminder.enqueue(pk, due.isoformat())
                queued += 1
    return queued


def send_reminder(article_id: int, due: str) -> bool:
    """Mail the owner; False when there is nothing to send any more (the article is
    gone, its date changed, or the owner has no address)."""
    article = Article.objects.select_related("owner").filter(pk=article_id).first()
    if article is None or article.review_by is None or article.review_by.isoformat() != due:
        return False
    owner = article.owner
    if not owner.is_active or not owner.email:
        return False
    url = settings.SITE_URL + reverse("kbdesk:article", args=[article.pk])
    with translation.override(owner.language or settings.LANGUAGE_CODE):
        subject = _("Review due: %(title)s") % {"title": article.title}
        body = _(
            "Hello %(name)s,\n\nThe article “%(title)s” was due for review on %(due)s. "
            "Check that it is still right, then mark it reviewed:\n\n%(url)s\n"
        ) % {"name": owner.get_short_name() or owner.username, "title": article.title,
             "due": due, "url": url}  # fmt: skip
        send_mail(subject, body, None, [owner.email])
    ArticleEvent.objects.create(
        article=article, kind=ArticleEventKind.REMINDED, new=due, data={"to": owner.email}
    )
    return True
