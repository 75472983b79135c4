"""The weekly report: once per ISO week, supervisors and admins get last week's figures
by email (HTML, with a PDF attached).

The periodic job (`reports.weekly`) claims the week by inserting its WeeklyReport row
(unique year and week): only the first run of the week gets the row and queues the
sending job, which retries on SMTP errors and marks the row sent once delivered.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from soporte.accounts.models import Role, User

from . import pdf, services
from .models import WeeklyReport


def previous_week(today: date) -> tuple[int, int]:
    """(ISO year, ISO week) of the last complete week before `today`."""
    year, week, _day = (today - timedelta(days=7)).isocalendar()
    return year, week


def week_range(year: int, week: int) -> tuple[date, date]:
    monday = date.fromisocalendar(year, week, 1)
    return monday, monday + timedelta(days=6)


def claim_week(now: datetime | None = None) -> WeeklyReport | None:
    """Record last week's report and queue its sending, unless already done; returns the
    new row, or None when the week was claimed before."""
    from .tasks import send_weekly

    today = timezone.localtime(now or timezone.now(), timezone.get_default_timezone()).date()
    year, week = previous_week(today)
    if WeeklyReport.objects.filter(year=year, week=week).exists():
        return None
    try:
        with transaction.atomic():
            report = WeeklyReport.objects.create(year=year, week=week)
            send_weekly.enqueue(report.pk)
    except IntegrityError:  # another worker claimed it first
        return None
    return report


def recipients() -> list[str]:
    return list(
        User.objects.filter(role__in=(Role.SUPERVISOR, Role.ADMIN), is_active=True)
        .exclude(email="")
        .order_by("email")
        .values_list("email", flat=True)
    )


def build(report: WeeklyReport, to: list[str]) -> EmailMultiAlternatives:
    start, end = week_range(report.year, report.week)
    result = services.metrics(services.Filters.parse(start=start, end=end))
    context = {
        "report": report,
        "start": start,
        "end": end,
        "result": result,
        "site_url": settings.SITE_URL,
    }
    subject = _("Help desk weekly report, %(year)s week %(week)s") % {
        "year": report.year,
        "week": report.week,
    }
    text = render_to_string("reports/weekly_email.txt", context)
    html = render_to_string("reports/weekly_email.html", context)
    mail = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, to)
    mail.attach_alternative(html, "text/html")
    mail.attach(f"report-{report}.pdf", pdf.render(subject, start, end, result), "application/pdf")
    return mail


def send(report_id: int) -> int:
    """Send the report to the supervisors, once; returns how many got it (0 if it was
    sent before or nobody has an address)."""
    report = WeeklyReport.objects.filter(pk=report_id, sent_at=None).first()
    if report is None:
        return 0
    to = recipients()
    if to:
        with translation.override(settings.LANGUAGE_CODE):
            build(report, to).send()
    WeeklyReport.objects.filter(pk=report.pk, sent_at=None).update(
        sent_at=timezone.now(), recipients=len(to)
    )
    return len(to)
