"""Training in the agent workspace: courses, sessions, invitations, attendance, the
coverage report, and recommending a course from a ticket. Agents only; each view parses
a form, calls one service and renders; refusals come back as a message (4xx)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from soporte.lib.errors import NotFound, ServiceError
from soporte.tickets.views.common import agent_required, first_error, get_ticket, submitted

from .. import policy, services
from ..forms import (
    AttendanceForm,
    CourseFileForm,
    CourseForm,
    InviteForm,
    RecommendForm,
    ReportForm,
    SessionForm,
)
from ..models import Course, Session


def _course(request: HttpRequest, course_id: int) -> Course:
    try:
        return policy.get_course(request.user, course_id)
    except NotFound:
        raise Http404 from None


def _session(request: HttpRequest, session_id: int) -> Session:
    try:
        return policy.get_session(request.user, session_id)
    except NotFound:
        raise Http404 from None


@agent_required
@require_http_methods(["GET", "POST"])
def courses(request: HttpRequest) -> HttpResponse:
    form = CourseForm(request.POST or None)
    made: list[Course] = []

    def save(data):
        made.append(services.create_course(acting_user=request.user, **data))

    saved, status = submitted(request, form, save, _("Course created."))
    if saved:
        return redirect("trainingdesk:course", made[0].pk)
    rows = Course.objects.all()[:500]
    return render(request, "training/desk/courses.html", {"courses": rows, "form": form},
                  status=status)  # fmt: skip


@agent_required
@require_http_methods(["GET", "POST"])
def course(request: HttpRequest, course_id: int) -> HttpResponse:
    found = _course(request, course_id)
    # The start is typed in the agent's own zone unless they name another.
    zone = {"time_zone": timezone.get_current_timezone_name()}
    form = SessionForm(request.POST or None, initial=zone)

    def save(data):
        data.pop("time_zone", None)
        services.schedule_session(found, acting_user=request.user, **data)

    saved, status = submitted(request, form, save, _("Session scheduled."))
    if saved:
        return redirect("trainingdesk:course", found.pk)
    context = {
        "course": found, "form": form if not saved else SessionForm(initial=zone),
        "file_form": CourseFileForm(),
        "sessions": found.sessions.select_related("trainer"),
        "files": found.files.all(),
    }  # fmt: skip
    return render(request, "training/desk/course.html", context, status=status)


@agent_required
@require_POST
def upload(request: HttpRequest, course_id: int) -> HttpResponse:
    found = _course(request, course_id)
    form = CourseFileForm(request.POST, request.FILES)

    def save(data):
        upload = data["file"]
        services.add_course_file(
            found, acting_user=request.user, upload=upload, filename=upload.name,
            size=upload.size,
        )  # fmt: skip

    saved, status = submitted(request, form, save, _("File added."))
    return redirect("trainingdesk:course", found.pk)


@agent_required
@require_GET
def session(request: HttpRequest, session_id: int) -> HttpResponse:
    found = _session(request, session_id)
    return _session_page(request, found, 200)


def _session_page(request, found: Session, status: int, **forms) -> HttpResponse:
    context = {
        "session": found,
        "attendees": found.attendees.select_related("user"),
        "invite_form": forms.get("invite_form") or InviteForm(),
        "attendance_form": forms.get("attendance_form") or AttendanceForm(session=found),
        "can_take_attendance": request.user.is_supervisor or found.trainer_id == request.user.pk,
    }
    return render(request, "training/desk/session.html", context, status=status)


@agent_required
@require_POST
def invite(request: HttpRequest, session_id: int) -> HttpResponse:
    found = _session(request, session_id)
    form = InviteForm(request.POST)

    def save(data):
        services.invite(found, acting_user=request.user, **data)

    saved, status = submitted(request, form, save, _("Invitations sent."))
    if saved:
        return redirect("trainingdesk:session", found.pk)
    return _session_page(request, found, status, invite_form=form)


@agent_required
@require_POST
def attendance(request: HttpRequest, session_id: int) -> HttpResponse:
    found = _session(request, session_id)
    form = AttendanceForm(request.POST, session=found)

    def save(data):
        services.take_attendance(found, acting_user=request.user, present=form.present())

    saved, status = submitted(request, form, save, _("Attendance saved."))
    if saved:
        return redirect("trainingdesk:session", found.pk)
    return _session_page(request, found, status, attendance_form=form)


@agent_required
@require_POST
def cancel(request: HttpRequest, session_id: int) -> HttpResponse:
    found = _session(request, session_id)
    try:
        services.cancel_session(found, acting_user=request.user)
    except ServiceError as error:
        messages.error(request, error.message)
        return _session_page(request, found, error.status)
    messages.success(request, _("Session cancelled; the attendees were told."))
    return redirect("trainingdesk:session", found.pk)


@agent_required
@require_GET
def report(request: HttpRequest) -> HttpResponse:
    if not request.user.is_supervisor:
        raise PermissionDenied
    form = ReportForm(request.GET or None)
    rows, days, status = [], 90, 200
    if form.is_bound and not form.is_valid():
        messages.error(request, first_error(form))
        status = 422
    else:
        data = form.cleaned_data if form.is_bound else {}
        days = data.get("days") or 90
        rows = services.coverage(acting_user=request.user, days=days, course=data.get("course"))
    return render(
        request, "training/desk/report.html", {"form": form, "rows": rows, "days": days},
        status=status,
    )  # fmt: skip


@agent_required
@require_GET
def ticket_panel(request: HttpRequest, number: int) -> HttpResponse:
    """The recommend form of the ticket page's box (loaded by htmx)."""
    ticket = get_ticket(request.user, number)
    return render(
        request, "training/desk/_ticket_panel_body.html",
        {"number": ticket.number, "form": RecommendForm()},
    )  # fmt: skip


@agent_required
@require_POST
def recommend(request: HttpRequest, number: int) -> HttpResponse:
    ticket = get_ticket(request.user, number)
    form = RecommendForm(request.POST)

    def save(data):
        services.recommend_course(
            ticket, data["course"], acting_user=request.user, session=data["session"],
            note=data["note"],
        )  # fmt: skip

    submitted(request, form, save, _("Course recommended."))
    return redirect("desk:ticket", ticket.number)
