"""Vendor feedback mail through the jobs: a mail server that refuses is tried again,
then the feedback is marked failed with the reason, and may be sent again."""

from __future__ import annotations

import socket

import pytest
from django.core import mail

from soporte.evaluations import services
from soporte.evaluations.models import Feedback
from soporte.lib.errors import Conflict


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_refused_mail_is_retried_then_failed_and_sent_again(
    bob, make_evaluation, committed, settings
):
    # given a mail server that refuses connections
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", _closed_port()
    settings.EMAIL_TIMEOUT = 2
    ev = make_evaluation(testing=True)

    # when feedback is mailed
    with committed():
        services.send_feedback(ev, acting_user=bob, body="Flickers.")

    # then every attempt was made and the reason kept
    feedback = Feedback.objects.get()
    assert feedback.status == "failed"
    assert feedback.attempts == services.MAX_FEEDBACK_ATTEMPTS
    assert feedback.last_error
    assert feedback.sent_at is None

    # when the server is back and an agent tries again
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with committed():
        services.retry_feedback(feedback, acting_user=bob)
    feedback.refresh_from_db()
    assert (feedback.status, feedback.last_error) == ("sent", "")
    assert feedback.sent_at is not None
    assert [m.to for m in mail.outbox] == [["sales@vendor.example"]]


def test_a_feedback_is_mailed_once_even_if_its_job_runs_twice(bob, make_evaluation, committed):
    ev = make_evaluation(testing=True)
    with committed():
        feedback = services.send_feedback(ev, acting_user=bob, body="Fine.")
    assert services.deliver_feedback(feedback.pk) == "skipped"
    assert len(mail.outbox) == 1


def test_only_failed_feedback_is_sent_again(bob, make_evaluation, committed):
    ev = make_evaluation(testing=True)
    with committed():
        feedback = services.send_feedback(ev, acting_user=bob, body="Fine.")
    with pytest.raises(Conflict):
        services.retry_feedback(feedback, acting_user=bob)
    assert len(mail.outbox) == 1


def test_the_default_text_names_the_decision_and_the_issues(bob, make_evaluation):
    ev = make_evaluation(testing=True)
    services.add_finding(ev, acting_user=bob, title="Network drops after sleep")
    ev = services.decide(ev, acting_user=bob, recommendation="conditions", conditions="Firmware 2+")
    text = services.default_feedback(ev)
    assert "Adopt with conditions" in text
    assert "Firmware 2+" in text
    assert "- Network drops after sleep" in text
