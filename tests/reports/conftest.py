"""Reports fixtures: a wall clock the tests set, a 9-18 office calendar (the default one,
being the first), and the real SMTP sink of the mail tests."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest
from django.utils import timezone

from soporte.sla.models import BusinessCalendar, WorkingHours

from ..mail.conftest import smtp  # noqa: F401  (a real SMTP server, aiosmtpd)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def at(monkeypatch):
    """at(moment): from now on, the clock on the wall says `moment`."""
    current = {"now": timezone.now()}
    monkeypatch.setattr(timezone, "now", lambda: current["now"])

    def set_time(moment: datetime) -> None:
        current["now"] = moment

    return set_time


@pytest.fixture
def office(db) -> BusinessCalendar:
    """Monday to Friday, 9 to 18 UTC."""
    calendar = BusinessCalendar.objects.create(name="Office", time_zone="UTC")
    for weekday in range(5):
        WorkingHours.objects.create(
            calendar=calendar, weekday=weekday, starts=time(9), ends=time(18)
        )
    return calendar


@pytest.fixture
def new(make_ticket, alice, maria, teams):
    """new(**overrides): a ticket Alice opens for Maria in the L1 queue."""

    def make(**overrides):
        overrides.setdefault("acting_user", alice)
        overrides.setdefault("requester", maria)
        overrides.setdefault("team", teams["L1"])
        return make_ticket(**overrides)

    return make
