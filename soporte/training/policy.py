"""Who sees and does what in training.

- Agents (and supervisors, admins) see every course and session and manage them.
- A requester sees the sessions they are invited to and those open to their
  organization, and the courses of those sessions; never anyone else's answers.
- Attendance is taken by the session's trainer or a supervisor.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from soporte.accounts.models import User
from soporte.lib.errors import NotFound, PermissionDenied

from .models import Course, Session


def visible_sessions(user: User) -> QuerySet[Session]:
    sessions = Session.objects.all()
    if not user.is_authenticated or not user.is_active:
        return sessions.none()
    if user.is_agent:
        return sessions
    scope = Q(attendees__user=user)
    if user.organization_id:
        scope |= Q(organizations=user.organization_id)
    # Both joins may repeat a row: a subquery keeps the outer query distinct-free.
    return sessions.filter(pk__in=Session.objects.filter(scope).values("pk"))


def visible_courses(user: User) -> QuerySet[Course]:
    if user.is_authenticated and user.is_active and user.is_agent:
        return Course.objects.all()
    return Course.objects.filter(pk__in=visible_sessions(user).values("course_id"))


def get_session(user: User, session_id: int) -> Session:
    found = visible_sessions(user).select_related("course", "trainer").filter(pk=session_id).first()
    if found is None:
        raise NotFound(_("Session %(id)s not found.") % {"id": session_id})
    return found


def get_course(user: User, course_id: int) -> Course:
    found = visible_courses(user).filter(pk=course_id).first()
    if found is None:
        raise NotFound(_("Course %(id)s not found.") % {"id": course_id})
    return found


def require_agent(user: User) -> None:
    if not user.is_agent:
        raise PermissionDenied(_("Only agents may manage training."))


def require_trainer(user: User, session: Session) -> None:
    if not (user.is_supervisor or session.trainer_id == user.pk):
        raise PermissionDenied(_("Only the trainer or a supervisor may take attendance."))


def require_supervisor(user: User) -> None:
    if not user.is_supervisor:
        raise PermissionDenied(_("Only supervisors may do this."))
