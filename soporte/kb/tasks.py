"""The knowledge base's background jobs (soporte/jobs): each takes ids and is idempotent."""

from __future__ import annotations

from soporte.jobs.registry import job


@job("kb.index_article", max_attempts=3)
def index_article(article_id: int) -> str:
    """Bring the article's search document up to date (or remove it when the article
    is gone). Runs after the change is committed."""
    from .indexing import index_article as index

    return index(article_id)


@job("kb.review_reminders")
def review_reminders() -> int:
    """Periodic: for each article whose review date has come, remind its owner once
    for that date. Returns how many reminders were queued."""
    from .reminders import queue_due_reminders

    return queue_due_reminders()


# smtplib errors are OSErrors: a refused connection, a timeout, a 4xx reply.
@job("kb.send_review_reminder", max_attempts=6, retry_on=(OSError,), backoff=60.0)
def send_review_reminder(article_id: int, due: str) -> bool:
    from .reminders import send_reminder

    return send_reminder(article_id, due)
