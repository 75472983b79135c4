"""The training API (/api/v1/training): courses, sessions, invitations and answers,
attendance, feedback, certificates, recommendations from tickets and the coverage
report. Thin: each handler parses input and calls one service. A session a person may
not see answers 404, as if it did not exist; one they see but may not change, 403."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from ninja import File, Query, Router, Schema
from ninja import Status as HttpStatus
from ninja.files import UploadedFile
from pydantic import Field

from soporte.accounts import policy as accounts_policy
from soporte.accounts.models import Organization, Team, User
from soporte.kb import policy as kb_policy
from soporte.kb.models import Article
from soporte.kb.models import Category as KbCategory
from soporte.lib.errors import InvalidInput, NotFound
from soporte.lib.schema import AwareDatetime, Id, Number, text
from soporte.tickets.downloads import attachment_response
from soporte.tickets.models import Category as TicketCategory

from . import certificates, ics, policy, services
from .models import Attendee, AttendeeStatus, Course, Language, Session

router = Router(tags=["training"])


# -- schemas ---------------------------------------------------------------------------


class TrainingMaterialOut(Schema):
    id: int
    title: str


class TrainingFileOut(Schema):
    id: int
    filename: str
    content_type: str
    size: int


class TrainingCourseOut(Schema):
    id: int
    title: str
    description: str
    audience: str
    language: str
    articles: list[TrainingMaterialOut] = Field(description="Those you may read.")
    manuals: list[TrainingMaterialOut] = Field(description="Knowledge-base categories.")
    category_ids: list[int] = Field(description="Ticket categories covered (agents only).")
    files: list[TrainingFileOut]


class TrainingCourseIn(Schema):
    title: text(200, 1)
    description: text(20_000) = ""
    audience: text(200) = ""
    language: Language = Language.EN
    article_ids: list[Id] = Field(default_factory=list, max_length=200)
    manual_ids: list[Id] = Field(default_factory=list, max_length=200)
    category_ids: list[Id] = Field(default_factory=list, max_length=200)


class TrainingCoursePatch(Schema):
    title: text(200, 1) | None = None
    description: text(20_000) | None = None
    audience: text(200) | None = None
    language: Language | None = None
    article_ids: list[Id] | None = Field(None, max_length=200)
    manual_ids: list[Id] | None = Field(None, max_length=200)
    category_ids: list[Id] | None = Field(None, max_length=200)


class TrainingSessionOut(Schema):
    id: int
    course_id: int
    course: str
    starts_at: datetime = Field(description="UTC.")
    local_starts_at: str = Field(description="In your time zone (time_zone).")
    time_zone: str
    duration_minutes: int
    place: str
    online_url: str
    capacity: int
    trainer: str
    status: str
    sequence: int
    accepted: int
    waiting: int
    my_status: str | None = Field(description="Your answer, if you have a place.")
    organization_ids: list[int] = Field(description="Agents only; empty for others.")


class TrainingSessionIn(Schema):
    starts_at: AwareDatetime
    duration_minutes: int = Field(ge=1, le=services.MAX_DURATION_MINUTES)
    capacity: int = Field(ge=1, le=services.MAX_CAPACITY)
    trainer_id: Id
    place: text(200) = ""
    online_url: text(500) = ""
    organization_ids: list[Id] = Field(default_factory=list, max_length=500)


class TrainingSessionPatch(Schema):
    starts_at: AwareDatetime | None = None
    duration_minutes: int | None = Field(None, ge=1, le=services.MAX_DURATION_MINUTES)
    capacity: int | None = Field(None, ge=1, le=services.MAX_CAPACITY)
    trainer_id: Id | None = None
    place: text(200) | None = None
    online_url: text(500) | None = None
    organization_ids: list[Id] | None = Field(None, max_length=500)


class TrainingSessionQuery(Schema):
    course_id: Id | None = None
    upcoming: bool = False


class TrainingInviteIn(Schema):
    user_ids: list[Id] = Field(default_factory=list, max_length=2000)
    team_ids: list[Id] = Field(default_factory=list, max_length=200)
    organization_ids: list[Id] = Field(default_factory=list, max_length=200)


class TrainingAttendeeOut(Schema):
    user_id: int
    name: str
    email: str
    status: str
    attended: bool | None
    rating: int | None
    comment: str


class TrainingInvitedOut(Schema):
    invited: int
    attendees: list[TrainingAttendeeOut]


class TrainingResponseIn(Schema):
    accept: bool


class TrainingMyPlaceOut(Schema):
    session_id: int
    status: str
    attended: bool | None
    rating: int | None


class TrainingPresentIn(Schema):
    user_id: Id
    attended: bool


class TrainingAttendanceIn(Schema):
    present: list[TrainingPresentIn] = Field(min_length=1, max_length=10_000)


class TrainingFeedbackIn(Schema):
    rating: int = Field(ge=1, le=5)
    comment: text(5000) = ""


class TrainingRecommendIn(Schema):
    course_id: Id
    session_id: Id | None = None
    note: text(2000) = ""


class TrainingRecommendOut(Schema):
    ticket: int
    course_id: int
    invited: bool


class TrainingReportQuery(Schema):
    days: int = Field(90, ge=1, le=3660)
    course_id: Id | None = None


class TrainingReportRow(Schema):
    organization_id: int
    organization: str
    tickets: int
    people_trained: int


# -- helpers ---------------------------------------------------------------------------


def _some(model, ids: list[int] | None, label: str):
    if ids is None:
        return None
    found = list(model.objects.filter(pk__in=ids))
    if len(found) != len(set(ids)):
        raise InvalidInput(f"One of the {label} does not exist.")
    return found


def _user(user_id: int | None) -> User | None:
    if user_id is None:
        return None
    found = User.objects.filter(pk=user_id).first()
    if found is None:
        raise InvalidInput(f"User {user_id} does not exist.")
    return found


def _course_out(user: User, course: Course) -> TrainingCourseOut:
    readable = kb_policy.visible_articles(user).filter(
        pk__in=course.articles.values("pk")
    ) if not user.is_agent else course.articles.all()  # fmt: skip
    return TrainingCourseOut(
        id=course.pk, title=course.title, description=course.description,
        audience=course.audience, language=course.language,
        articles=[TrainingMaterialOut(id=a.pk, title=a.title) for a in readable],
        manuals=[TrainingMaterialOut(id=c.pk, title=c.name) for c in course.manuals.all()],
        category_ids=[c.pk for c in course.categories.all()] if user.is_agent else [],
        files=[
            TrainingFileOut(id=f.pk, filename=f.filename, content_type=f.content_type, size=f.size)
            for f in course.files.all()
        ],
    )  # fmt: skip


def _with_counts(sessions):
    """Sessions with their places counted and organizations loaded: a list costs the
    same few queries whatever its length."""
    return (
        sessions.select_related("course", "trainer")
        .annotate(
            n_accepted=Count("attendees", filter=Q(attendees__status=AttendeeStatus.ACCEPTED)),
            n_waiting=Count("attendees", filter=Q(attendees__status=AttendeeStatus.WAITING)),
        )
        .prefetch_related("organizations")
    )


def session_out(
    user: User, session: Session, mine: str | None = None, *, known: bool = False
) -> TrainingSessionOut:
    """`session` comes from _with_counts; `mine` is the person's answer when `known`."""
    if not known:
        mine = session.attendees.filter(user=user).values_list("status", flat=True).first()
    zone = ics.attendee_zone(user.time_zone)
    local = session.starts_at.astimezone(zone) if zone else session.starts_at
    return TrainingSessionOut(
        id=session.pk, course_id=session.course_id, course=session.course.title,
        starts_at=session.starts_at, local_starts_at=local.isoformat(),
        time_zone=user.time_zone if zone else "UTC", duration_minutes=session.duration_minutes,
        place=session.place, online_url=session.online_url, capacity=session.capacity,
        trainer=str(session.trainer), status=session.status, sequence=session.sequence,
        accepted=session.n_accepted, waiting=session.n_waiting, my_status=mine,
        organization_ids=[o.pk for o in session.organizations.all()] if user.is_agent else [],
    )  # fmt: skip


def _counted(session: Session) -> Session:
    return _with_counts(Session.objects.filter(pk=session.pk)).get()


def _attendee_out(attendee: Attendee) -> TrainingAttendeeOut:
    return TrainingAttendeeOut(
        user_id=attendee.user_id, name=str(attendee.user), email=attendee.user.email,
        status=attendee.status, attended=attendee.attended, rating=attendee.rating,
        comment=attendee.comment,
    )  # fmt: skip


def _session(request: HttpRequest, session_id: int) -> Session:
    return policy.get_session(request.auth, session_id)


# -- courses ---------------------------------------------------------------------------


@router.get("/courses", response=list[TrainingCourseOut], summary="Courses you may see")
def list_courses(request: HttpRequest):
    courses = policy.visible_courses(request.auth).prefetch_related(
        "articles", "manuals", "categories", "files"
    )
    return [_course_out(request.auth, course) for course in courses[:500]]


@router.post("/courses", response={201: TrainingCourseOut}, summary="Create a course (agents)")
def create_course(request: HttpRequest, data: TrainingCourseIn):
    policy.require_agent(request.auth)
    course = services.create_course(
        acting_user=request.auth, title=data.title, description=data.description,
        audience=data.audience, language=data.language,
        articles=_some(Article, data.article_ids, "articles"),
        manuals=_some(KbCategory, data.manual_ids, "manuals"),
        categories=_some(TicketCategory, data.category_ids, "categories"),
    )  # fmt: skip
    return HttpStatus(201, _course_out(request.auth, course))


@router.get("/courses/{course_id}", response=TrainingCourseOut, summary="Read a course")
def read_course(request: HttpRequest, course_id: Id):
    return _course_out(request.auth, policy.get_course(request.auth, course_id))


@router.patch("/courses/{course_id}", response=TrainingCourseOut, summary="Change a course")
def change_course(request: HttpRequest, course_id: Id, data: TrainingCoursePatch):
    course = policy.get_course(request.auth, course_id)
    policy.require_agent(request.auth)
    services.update_course(
        course, acting_user=request.auth, title=data.title, description=data.description,
        audience=data.audience, language=data.language,
        articles=_some(Article, data.article_ids, "articles"),
        manuals=_some(KbCategory, data.manual_ids, "manuals"),
        categories=_some(TicketCategory, data.category_ids, "categories"),
    )  # fmt: skip
    return _course_out(request.auth, course)


@router.post(
    "/courses/{course_id}/files",
    response={201: TrainingFileOut},
    summary="Add a file to a course (agents)",
)
def upload_course_file(request: HttpRequest, course_id: Id, file: File[UploadedFile]):
    course = policy.get_course(request.auth, course_id)
    handout = services.add_course_file(
        course, acting_user=request.auth, upload=file, filename=file.name or "file",
        size=file.size,
    )  # fmt: skip
    return HttpStatus(201, handout)


@router.get("/courses/{course_id}/files/{file_id}", summary="Download a course file")
def download_course_file(request: HttpRequest, course_id: Id, file_id: Id):
    course = policy.get_course(request.auth, course_id)
    handout = course.files.filter(pk=file_id).first()
    if handout is None:
        raise NotFound("File not found.")
    return attachment_response(handout)


# -- sessions --------------------------------------------------------------------------


@router.get("/sessions", response=list[TrainingSessionOut], summary="Sessions you may see")
def list_sessions(request: HttpRequest, query: Query[TrainingSessionQuery]):
    """Agents: every session. Requesters: those they are invited to or that are open to
    their organization."""
    user = request.auth
    sessions = _with_counts(policy.visible_sessions(user))
    if query.course_id:
        sessions = sessions.filter(course_id=query.course_id)
    if query.upcoming:
        from django.utils import timezone

        sessions = sessions.filter(starts_at__gte=timezone.now())
    rows = list(sessions[:200])
    mine = dict(
        Attendee.objects.filter(user=user, session__in=[s.pk for s in rows]).values_list(
            "session_id", "status"
        )
    )
    return [session_out(user, s, mine.get(s.pk), known=True) for s in rows]


@router.post(
    "/courses/{course_id}/sessions",
    response={201: TrainingSessionOut},
    summary="Schedule a session (agents)",
)
def schedule_session(request: HttpRequest, course_id: Id, data: TrainingSessionIn):
    course = policy.get_course(request.auth, course_id)
    policy.require_agent(request.auth)
    session = services.schedule_session(
        course, acting_user=request.auth, starts_at=data.starts_at,
        duration_minutes=data.duration_minutes, capacity=data.capacity,
        trainer=_user(data.trainer_id), place=data.place, online_url=data.online_url,
        organizations=_some(Organization, data.organization_ids, "organizations"),
    )  # fmt: skip
    return HttpStatus(201, session_out(request.auth, _counted(session)))


@router.get("/sessions/{session_id}", response=TrainingSessionOut, summary="Read a session")
def read_session(request: HttpRequest, session_id: Id):
    return session_out(request.auth, _counted(_session(request, session_id)))


@router.patch(
    "/sessions/{session_id}",
    response=TrainingSessionOut,
    summary="Change a session: the attendees get the update",
)
def change_session(request: HttpRequest, session_id: Id, data: TrainingSessionPatch):
    session = _session(request, session_id)
    policy.require_agent(request.auth)
    session = services.update_session(
        session, acting_user=request.auth, starts_at=data.starts_at,
        duration_minutes=data.duration_minutes, capacity=data.capacity,
        trainer=_user(data.trainer_id), place=data.place, online_url=data.online_url,
        organizations=_some(Organization, data.organization_ids, "organizations"),
    )  # fmt: skip
    return session_out(request.auth, _counted(session))


@router.post(
    "/sessions/{session_id}/cancel",
    response=TrainingSessionOut,
    summary="Cancel a session: the attendees get a METHOD:CANCEL",
)
def cancel_session(request: HttpRequest, session_id: Id):
    session = _session(request, session_id)
    session = services.cancel_session(session, acting_user=request.auth)
    return session_out(request.auth, _counted(session))


@router.get(
    "/sessions/{session_id}/attendees",
    response=list[TrainingAttendeeOut],
    summary="Who is invited and how they answered (agents)",
)
def list_attendees(request: HttpRequest, session_id: Id):
    session = _session(request, session_id)
    policy.require_agent(request.auth)
    return [_attendee_out(a) for a in session.attendees.select_related("user")]


@router.post(
    "/sessions/{session_id}/invitations",
    response={201: TrainingInvitedOut},
    summary="Invite people by user, team or organization (agents)",
)
def invite(request: HttpRequest, session_id: Id, data: TrainingInviteIn):
    session = _session(request, session_id)
    policy.require_agent(request.auth)
    made = services.invite(
        session, acting_user=request.auth, users=_some(User, data.user_ids, "users"),
        teams=_some(Team, data.team_ids, "teams"),
        organizations=_some(Organization, data.organization_ids, "organizations"),
    )  # fmt: skip
    return HttpStatus(
        201, TrainingInvitedOut(invited=len(made), attendees=[_attendee_out(a) for a in made])
    )


@router.post(
    "/sessions/{session_id}/response",
    response=TrainingMyPlaceOut,
    summary="Accept or decline (a full session puts you on the waiting list)",
)
def respond(request: HttpRequest, session_id: Id, data: TrainingResponseIn):
    session = _session(request, session_id)
    attendee = services.respond(session, acting_user=request.auth, accept=data.accept)
    return TrainingMyPlaceOut(
        session_id=session.pk, status=attendee.status, attended=attendee.attended,
        rating=attendee.rating,
    )  # fmt: skip


@router.get("/sessions/{session_id}/invite.ics", summary="Your invitation as iCalendar")
def my_invitation(request: HttpRequest, session_id: Id):
    session = _session(request, session_id)
    attendee = session.attendees.select_related("user").filter(user=request.auth).first()
    if attendee is None:
        raise NotFound("You are not invited to this session.")
    attendee.session = session
    method = "CANCEL" if session.cancelled else "REQUEST"
    response = HttpResponse(ics.build(attendee, method), content_type="text/calendar")
    response["Content-Disposition"] = f'attachment; filename="session-{session.pk}.ics"'
    return response


@router.post(
    "/sessions/{session_id}/attendance",
    response=list[TrainingAttendeeOut],
    summary="Take attendance (the trainer or a supervisor)",
)
def take_attendance(request: HttpRequest, session_id: Id, data: TrainingAttendanceIn):
    session = _session(request, session_id)
    changed = services.take_attendance(
        session, acting_user=request.auth,
        present={row.user_id: row.attended for row in data.present},
    )  # fmt: skip
    return [_attendee_out(a) for a in changed]


@router.post(
    "/sessions/{session_id}/feedback",
    response=TrainingMyPlaceOut,
    summary="Rate a session you attended (1-5) with a comment",
)
def leave_feedback(request: HttpRequest, session_id: Id, data: TrainingFeedbackIn):
    session = _session(request, session_id)
    attendee = services.leave_feedback(
        session, acting_user=request.auth, rating=data.rating, comment=data.comment
    )
    return TrainingMyPlaceOut(
        session_id=session.pk, status=attendee.status, attended=attendee.attended,
        rating=attendee.rating,
    )  # fmt: skip


@router.get("/sessions/{session_id}/certificate", summary="Your certificate of attendance (PDF)")
def certificate(request: HttpRequest, session_id: Id):
    session = _session(request, session_id)
    attendee = certificates.certificate_for(session, request.auth)
    attendee.session = session
    response = HttpResponse(certificates.to_pdf(attendee), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{certificates.filename(attendee)}"'
    return response


# -- tickets and the report ------------------------------------------------------------


@router.post(
    "/tickets/{number}/recommendations",
    response={201: TrainingRecommendOut},
    summary="Recommend a course to the ticket's requester (agents)",
)
def recommend(request: HttpRequest, number: Number, data: TrainingRecommendIn):
    ticket = accounts_policy.get_visible_ticket(request.auth, number)
    accounts_policy.require_work(request.auth, ticket)
    course = Course.objects.filter(pk=data.course_id).first()
    if course is None:
        raise InvalidInput(f"Course {data.course_id} does not exist.")
    session = None
    if data.session_id is not None:
        session = Session.objects.filter(pk=data.session_id, course=course).first()
        if session is None:
            raise InvalidInput(f"Session {data.session_id} is not one of the course's.")
    attendee = services.recommend_course(
        ticket, course, acting_user=request.auth, session=session, note=data.note
    )
    return HttpStatus(
        201, TrainingRecommendOut(ticket=number, course_id=course.pk, invited=attendee is not None)
    )


@router.get(
    "/report",
    response=list[TrainingReportRow],
    summary="Per organization: tickets the courses cover vs people trained (supervisors)",
)
def coverage_report(request: HttpRequest, query: Query[TrainingReportQuery]):
    policy.require_supervisor(request.auth)
    course = None
    if query.course_id is not None:
        course = Course.objects.filter(pk=query.course_id).first()
        if course is None:
            raise InvalidInput(f"Course {query.course_id} does not exist.")
    return services.coverage(acting_user=request.auth, days=query.days, course=course)
