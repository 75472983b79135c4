"""The weekly report: once per ISO week, to supervisors and admins, delivered to a real
SMTP server (aiosmtpd) with an HTML part and a PDF holding the figures."""

from __future__ import annotations

import re
import zlib

import pytest

from soporte.jobs.models import Job
from soporte.jobs.queue import run_periodic
from soporte.reports.models import WeeklyReport
from soporte.tickets import services

from .conftest import utc

pytestmark = pytest.mark.django_db


def pdf_text(data: bytes) -> str:
    """The text drawn in a PDF made by fpdf2: its content streams, inflated."""
    found = []
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        try:
            found.append(zlib.decompress(stream).decode("latin-1"))
        except zlib.error:
            found.append(stream.decode("latin-1"))
    return "\n".join(found)


@pytest.fixture
def last_week(at, office, new, alice, carol, ada):
    """Week 47 of 2026 (16-22 November): three tickets, one resolved. Today is Wednesday
    25 November (week 48)."""
    at(utc(2026, 11, 17, 9))
    for _n in range(3):
        ticket = new()
    services.resolve(ticket, acting_user=alice, resolution="Done.")
    at(utc(2026, 11, 25, 6))


def test_supervisors_get_last_weeks_report_once_with_a_pdf(smtp, committed, last_week):
    with committed():
        assert run_periodic("reports.weekly") is True
    with committed():
        assert run_periodic("reports.weekly") is False  # same week: nothing new

    [envelope] = smtp.envelopes
    assert sorted(envelope.rcpt_tos) == ["ada@example.org", "carol@example.org"]
    [mail] = smtp.messages
    assert "2026 week 47" in mail["Subject"]
    html = mail.get_body(("html",)).get_content()
    assert "2026-11-16" in html or "Nov. 16, 2026" in html
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    data = attachment.get_content()
    assert data.startswith(b"%PDF-")
    text = pdf_text(data)
    opened_row = re.search(r"Opened\)?.{0,200}?\((\d+)\)", text, re.S)
    assert opened_row is not None and opened_row.group(1) == "3"
    report = WeeklyReport.objects.get()
    assert (report.year, report.week, report.recipients) == (2026, 47, 2)
    assert report.sent_at is not None


def test_a_refused_delivery_is_retried_by_the_job_and_sent_once(smtp, committed, last_week):
    smtp.refuse = ["451 try later"]

    with committed():
        run_periodic("reports.weekly")

    job = Job.objects.get(name="reports.send_weekly")
    assert job.attempts == 2
    assert len(smtp.envelopes) == 1
    assert WeeklyReport.objects.get().sent_at is not None


def test_nobody_to_tell_still_closes_the_week(committed, at, office, new):
    at(utc(2026, 11, 25, 6))

    with committed():
        run_periodic("reports.weekly")

    assert WeeklyReport.objects.get().recipients == 0
