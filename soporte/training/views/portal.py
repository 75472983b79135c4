"""Training on the portal: my sessions (invited, or open to my organization), accept or
decline, feedback after the session, the certificate; and the signed accept/decline
links of the invitation mail, which work without signing in (a GET only shows the
question: mail scanners follow links, so the answer is a POST)."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from soporte.kb import policy as kb_policy
from soporte.lib.errors import NotFound, ServiceError
from soporte.tickets.views.common import signed_in, submitted

from .. import certificates, ics, policy, services
from ..forms import AnswerForm, FeedbackForm
from ..models import AttendeeStatus, Session


def _session(request: HttpRequest, session_id: int) -> Session:
    try:
        return policy.get_session(request.user, session_id)
    except NotFound:
        raise Http404 from None


@signed_in
@require_GET
def my_sessions(request: HttpRequest) -> HttpResponse:
    user = request.user
    sessions = policy.visible_sessions(user).select_related("course", "trainer")
    mine = dict(user.training_sessions.values_list("session_id", "status"))
    # Times show in the person's zone: UserPreferencesMiddleware activates it.
    rows = [{"session": s, "status": mine.get(s.pk)} for s in sessions.order_by("-starts_at")[:200]]
    return render(request, "training/portal/sessions.html", {"rows": rows})


@signed_in
@require_GET
def session(request: HttpRequest, session_id: int) -> HttpResponse:
    return _page(request, _session(request, session_id), 200)


def _page(request, found: Session, status: int, feedback_form=None) -> HttpResponse:
    user = request.user
    attendee = found.attendees.filter(user=user).first()
    now = timezone.now()
    context = {
        "session": found,
        "course": found.course,
        "attendee": attendee,
        "articles": found.course.articles.filter(
            pk__in=kb_policy.visible_articles(user).values("pk")
        ),
        "files": found.course.files.all(),
        "can_answer": not found.cancelled and found.starts_at > now,
        "can_rate": attendee is not None and attendee.status == AttendeeStatus.ACCEPTED
        and attendee.attended is not False and found.ends_at <= now,
        "feedback_form": feedback_form or FeedbackForm(
            initial={"rating": attendee.rating, "comment": attendee.comment} if attendee else None
        ),
    }  # fmt: skip
    return render(request, "training/portal/session.html", context, status=status)


@signed_in
@require_POST
def answer(request: HttpRequest, session_id: int) -> HttpResponse:
    found = _session(request, session_id)
    form = AnswerForm(request.POST)

    def save(data):
        services.respond(found, acting_user=request.user, accept=data["answer"] == "accept")

    saved, status = submitted(request, form, save, _("Your answer is saved."))
    if saved:
        return redirect("training:session", found.pk)
    return _page(request, found, status)


@signed_in
@require_POST
def feedback(request: HttpRequest, session_id: int) -> HttpResponse:
    found = _session(request, session_id)
    form = FeedbackForm(request.POST)

    def save(data):
        services.leave_feedback(found, acting_user=request.user, **data)

    saved, status = submitted(request, form, save, _("Thank you for your feedback."))
    if saved:
        return redirect("training:session", found.pk)
    return _page(request, found, status, feedback_form=form)


@signed_in
@require_GET
def certificate(request: HttpRequest, session_id: int) -> HttpResponse:
    found = _session(request, session_id)
    try:
        attendee = certificates.certificate_for(found, request.user)
    except ServiceError as error:
        messages.error(request, error.message)
        return _page(request, found, error.status)
    attendee.session = found
    response = HttpResponse(certificates.to_pdf(attendee), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{certificates.filename(attendee)}"'
    return response


@signed_in
@require_GET
def invitation(request: HttpRequest, session_id: int) -> HttpResponse:
    found = _session(request, session_id)
    attendee = found.attendees.select_related("user").filter(user=request.user).first()
    if attendee is None:
        raise Http404
    attendee.session = found
    method = "CANCEL" if found.cancelled else "REQUEST"
    response = HttpResponse(ics.build(attendee, method), content_type="text/calendar")
    response["Content-Disposition"] = f'attachment; filename="session-{found.pk}.ics"'
    return response


@require_http_methods(["GET", "POST"])
def respond(request: HttpRequest, token: str) -> HttpResponse:
    """The mail's signed link: shows the answer to confirm; the POST records it."""
    try:
        attendee, accept = services.read_respond_token(token)
    except NotFound:
        raise Http404 from None
    status = 200
    if request.method == "POST":
        try:
            attendee = services.respond_by_token(token)
        except ServiceError as error:
            messages.error(request, error.message)
            status = error.status
        else:
            messages.success(request, _("Your answer is saved."))
    context = {"attendee": attendee, "accept": accept, "session": attendee.session,
               "done": request.method == "POST" and status == 200}  # fmt: skip
    return render(request, "training/portal/respond.html", context, status=status)
