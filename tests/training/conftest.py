"""Training helpers: a course Carol made, and `session(...)`, a session Alice trains
(next week unless told), made through the services."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from soporte.training import services
from soporte.training.models import Course, Session


@pytest.fixture
def course(carol) -> Course:
    return services.create_course(
        acting_user=carol, title="VPN basics", description="Connect from home.",
        audience="Everyone",
    )  # fmt: skip


@pytest.fixture
def make_session(course, carol, alice):
    def make(**overrides) -> Session:
        overrides.setdefault("starts_at", timezone.now() + timedelta(days=7))
        overrides.setdefault("duration_minutes", 90)
        overrides.setdefault("capacity", 10)
        overrides.setdefault("trainer", alice)
        overrides.setdefault("place", "Room 4")
        return services.schedule_session(
            overrides.pop("course", course), acting_user=carol, **overrides
        )

    return make


@pytest.fixture
def session(make_session) -> Session:
    return make_session()


def move_to_past(session: Session) -> Session:
    """The session as if it had happened (a trainer takes attendance afterwards)."""
    Session.objects.filter(pk=session.pk).update(starts_at=timezone.now() - timedelta(hours=3))
    session.refresh_from_db()
    return session
