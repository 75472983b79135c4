"""The review reminder: when an article's review date comes, its owner gets one email."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from soporte.jobs.models import Job, JobStatus
from soporte.jobs.queue import run_periodic
from soporte.kb import services
from soporte.kb.models import ArticleStatus
from soporte.kb.reminders import queue_due_reminders

pytestmark = pytest.mark.django_db


@pytest.fixture
def due(write):
    yesterday = timezone.localdate() - timedelta(days=1)
    return write("Printer jam", "text", review_by=yesterday)


def test_the_owner_is_reminded_once_per_due_date(due, committed):
    with committed():
        run_periodic("kb.review_reminders")
    with committed():
        run_periodic("kb.review_reminders")
    [message] = mail.outbox
    assert message.to == ["alice@example.org"]
    assert "Printer jam" in message.subject
    assert f"/desk/kb/{due.pk}/" in message.body
    due.refresh_from_db()
    assert due.reminded_for == due.review_by


def test_a_new_review_date_earns_a_new_reminder_when_it_comes(due, alice, committed):
    with committed():
        queue_due_reminders()
    services.mark_reviewed(
        due, acting_user=alice, review_by=timezone.localdate() + timedelta(days=30)
    )
    with committed():
        assert queue_due_reminders() == 0
    later = timezone.localdate() + timedelta(days=31)
    with committed():
        assert queue_due_reminders(today=later) == 1
    assert len(mail.outbox) == 2


def test_articles_not_yet_due_or_archived_are_left_alone(write, committed):
    write("Later", review_by=timezone.localdate() + timedelta(days=3))
    write("Old", status=ArticleStatus.ARCHIVED, review_by=timezone.localdate())
    with committed():
        assert queue_due_reminders() == 0
    assert mail.outbox == []


def test_the_reminder_speaks_the_owners_language(due, alice, committed, monkeypatch):
    from django.utils.translation import get_language

    from soporte.kb import reminders

    spoken = []
    monkeypatch.setattr(reminders, "send_mail", lambda *a, **k: spoken.append(get_language()))
    alice.language = "es"
    alice.save(update_fields=["language"])
    with committed():
        queue_due_reminders()
    assert spoken == ["es"]


def test_a_failed_send_is_retried(due, committed, monkeypatch):
    from soporte.kb import reminders

    calls = []

    def flaky(*args, **kwargs):
        calls.append(args)
        if len(calls) == 1:
            raise ConnectionRefusedError("smtp down")
        return 1

    monkeypatch.setattr(reminders, "send_mail", flaky)
    with committed():
        queue_due_reminders()
    assert len(calls) == 2
    assert Job.objects.get(name="kb.send_review_reminder").status == JobStatus.DONE


def test_the_job_is_scheduled_periodically():
    from soporte.celery import PERIODIC

    assert "kb.review_reminders" in PERIODIC
