"""Every change in training: courses and their files, sessions, invitations and answers
(with the waiting list), attendance, feedback, and recommending a course from a ticket.

Each function runs in one transaction and checks permission through policy.py; mail is
queued as a job in the same transaction and sent after the commit (tasks.py).
Changes to a session's places lock the session row, so two answers at once never
overfill it.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import IO, Any

from django.conf import settings
from django.core import signing
from django.core.files import File
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from soporte.accounts.models import Organization, Team, User
from soporte.kb.models import Article
from soporte.kb.models import Category as KbCategory
from soporte.lib.errors import Conflict, InvalidInput, NotFound
from soporte.lib.files import check_upload
from soporte.tickets.models import Category as TicketCategory
from soporte.tickets.models import EventKind, Ticket

from . import policy
from .models import Attendee, AttendeeStatus, Course, CourseFile, Session, SessionStatus

MAX_DURATION_MINUTES = 7 * 24 * 60
MAX_CAPACITY = 10_000
MAX_INVITEES = 2_000
RESPOND_SALT = "soporte.training.respond"


def _text(value: str, label: str, max_length: int, *, required: bool = False) -> str:
    value = (value or "").strip()
    if "\x00" in value:
        raise InvalidInput(_("%(field)s must not contain NUL characters.") % {"field": label})
    if required and not value:
        raise InvalidInput(_("%(field)s is required.") % {"field": label})
    if len(value) > max_length:
        raise InvalidInput(
            _("%(field)s is longer than %(max)s characters.") % {"field": label, "max": max_length}
        )
    return value


# -- courses ---------------------------------------------------------------------------


@transaction.atomic
def create_course(
    *,
    acting_user: User,
    title: str,
    description: str = "",
    audience: str = "",
    language: str = "en",
    articles: Iterable[Article] = (),
    manuals: Iterable[KbCategory] = (),
    categories: Iterable[TicketCategory] = (),
) -> Course:
    policy.require_agent(acting_user)
    course = Course.objects.create(
        title=_text(title, _("Title"), 200, required=True),
        description=_text(description, _("Description"), 20_000),
        audience=_text(audience, _("Audience"), 200),
        language=language,
        created_by=acting_user,
    )
    course.articles.set(list(articles))
    course.manuals.set(list(manuals))
    course.categories.set(list(categories))
    return course


@transaction.atomic
def update_course(course: Course, *, acting_user: User, **changes: Any) -> Course:
    """Change the given fields (title, description, audience, language, articles,
    manuals, categories); the others stay."""
    policy.require_agent(acting_user)
    labels = {"title": (_("Title"), 200), "description": (_("Description"), 20_000),
              "audience": (_("Audience"), 200)}  # fmt: skip
    for name, (label, size) in labels.items():
        if changes.get(name) is not None:
            setattr(course, name, _text(changes[name], label, size, required=name == "title"))
    if changes.get("language") is not None:
        course.language = changes["language"]
    course.save()
    for relation in ("articles", "manuals", "categories"):
        if changes.get(relation) is not None:
            getattr(course, relation).set(list(changes[relation]))
    return course


@transaction.atomic
def add_course_file(
    course: Course, *, acting_user: User, upload: IO[bytes], filename: str, size: int
) -> CourseFile:
    """Store a handout: refused past SOPORTE_MAX_ATTACHMENT_BYTES, when it is a program,
    or when its content contradicts its name (the attachments' rules)."""
    policy.require_agent(acting_user)
    checked = check_upload(upload, filename, size, settings.MAX_ATTACHMENT_BYTES)
    handout = CourseFile(
        course=course, filename=checked.name, content_type=checked.content_type,
        size=checked.size, sha256=checked.sha256, uploaded_by=acting_user,
    )  # fmt: skip
    handout.file.save(secrets.token_hex(16), File(upload), save=False)
    handout.save(force_insert=True)
    return handout


# -- sessions --------------------------------------------------------------------------


def _check_session(
    *, starts_at: datetime, duration_minutes: int, capacity: int, trainer: User,
    place: str, online_url: str,
) -> None:  # fmt: skip
    if timezone.is_naive(starts_at):
        raise InvalidInput(_("The start needs a time zone."))
    if not 1 <= duration_minutes <= MAX_DURATION_MINUTES:
        raise InvalidInput(_("The duration must be between 1 minute and 7 days."))
    if not 1 <= capacity <= MAX_CAPACITY:
        raise InvalidInput(_("The capacity must be between 1 and %(max)s.") % {"max": MAX_CAPACITY})
    if not trainer.is_agent or not trainer.is_active:
        raise InvalidInput(_("The trainer must be an active agent."))
    if online_url and not online_url.lower().startswith(("https://", "http://")):
        raise InvalidInput(_("The online link must be an http(s) address."))
    if not place and not online_url:
        raise InvalidInput(_("Give a place or an online link."))


@transaction.atomic
def schedule_session(
    course: Course,
    *,
    acting_user: User,
    starts_at: datetime,
    duration_minutes: int,
    capacity: int,
    trainer: User,
    place: str = "",
    online_url: str = "",
    organizations: Iterable[Organization] = (),
) -> Session:
    policy.require_agent(acting_user)
    place = _text(place, _("Place"), 200)
    online_url = _text(online_url, _("Online link"), 500)
    _check_session(
        starts_at=starts_at, duration_minutes=duration_minutes, capacity=capacity,
        trainer=trainer, place=place, online_url=online_url,
    )  # fmt: skip
    session = Session.objects.create(
        course=course, starts_at=starts_at, duration_minutes=duration_minutes,
        capacity=capacity, trainer=trainer, place=place, online_url=online_url,
    )  # fmt: skip
    session.organizations.set(list(organizations))
    return session


def _locked(session: Session) -> Session:
    """The session row, locked for the rest of the transaction (places change)."""
    locked = Session.objects.select_for_update().select_related("course", "trainer")
    return locked.get(pk=session.pk)


def _open(session: Session) -> None:
    if session.cancelled:
        raise Conflict(_("The session was cancelled."))
    if session.starts_at <= timezone.now():
        raise Conflict(_("The session has already started."))


def _queue(attendee: Attendee, kind: str, session: Session) -> None:
    from .tasks import send_training_mail

    send_training_mail.enqueue(attendee.pk, kind, session.sequence)


def _current(session: Session):
    """The attendees who get news of the session: everyone who has not declined."""
    return session.attendees.exclude(status=AttendeeStatus.DECLINED).select_related("user")


@transaction.atomic
def update_session(session: Session, *, acting_user: User, **changes: Any) -> Session:
    """Change when, where, how long, how many or who trains; the attendees get the
    updated invitation (a higher SEQUENCE). More places promote the waiting list."""
    policy.require_agent(acting_user)
    session = _locked(session)
    if session.cancelled:
        raise Conflict(_("The session was cancelled."))
    organizations = changes.pop("organizations", None)
    for name in ("starts_at", "duration_minutes", "capacity", "trainer", "place", "online_url"):
        if changes.get(name) is not None:
            setattr(session, name, changes[name])
    session.place = _text(session.place, _("Place"), 200)
    session.online_url = _text(session.online_url, _("Online link"), 500)
    _check_session(
        starts_at=session.starts_at, duration_minutes=session.duration_minutes,
        capacity=session.capacity, trainer=session.trainer, place=session.place,
        online_url=session.online_url,
    )  # fmt: skip
    if session.attendees.filter(status=AttendeeStatus.ACCEPTED).count() > session.capacity:
        raise Conflict(_("More people accepted than the new capacity allows."))
    session.sequence += 1
    session.save()
    if organizations is not None:
        session.organizations.set(list(organizations))
    promoted = {a.pk for a in _promote(session)}
    for attendee in _current(session):
        if attendee.pk not in promoted:
            _queue(attendee, "request", session)
    return session


@transaction.atomic
def cancel_session(session: Session, *, acting_user: User) -> Session:
    """Cancel: every attendee who had not declined gets a METHOD:CANCEL."""
    policy.require_agent(acting_user)
    session = _locked(session)
    if session.cancelled:
        return session
    session.status = SessionStatus.CANCELLED
    session.sequence += 1
    session.save(update_fields=["status", "sequence"])
    for attendee in _current(session):
        _queue(attendee, "cancel", session)
    return session


# -- invitations and answers -----------------------------------------------------------


def invitees(
    *, users: Iterable[User] = (), teams: Iterable[Team] = (),
    organizations: Iterable[Organization] = (),
) -> list[User]:  # fmt: skip
    """The active people with an address among the users, the teams' members and the
    organizations' members, each once."""
    scope = Q(pk__in=[u.pk for u in users])
    team_ids = [t.pk for t in teams]
    org_ids = [o.pk for o in organizations]
    if team_ids:
        scope |= Q(pk__in=User.objects.filter(teams__in=team_ids).values("pk"))
    if org_ids:
        scope |= Q(organization_id__in=org_ids)
    return list(User.objects.filter(scope, is_active=True).exclude(email="").order_by("pk"))


@transaction.atomic
def invite(
    session: Session,
    *,
    acting_user: User,
    users: Iterable[User] = (),
    teams: Iterable[Team] = (),
    organizations: Iterable[Organization] = (),
) -> list[Attendee]:
    """Invite people (by user, team or organization): each new invitee gets the
    invitation with its .ics; people already invited are left as they are."""
    policy.require_agent(acting_user)
    session = _locked(session)
    _open(session)
    people = invitees(users=users, teams=teams, organizations=organizations)
    if not people:
        raise InvalidInput(_("Nobody to invite: choose people with an email address."))
    if len(people) > MAX_INVITEES:
        raise InvalidInput(
            _("At most %(max)s people can be invited at once.") % {"max": MAX_INVITEES}
        )
    already = set(session.attendees.values_list("user_id", flat=True))
    created = Attendee.objects.bulk_create(
        Attendee(session=session, user=person, invited_by=acting_user)
        for person in people
        if person.pk not in already
    )
    for attendee in created:
        _queue(attendee, "request", session)
    return created


def _promote(session: Session) -> list[Attendee]:
    """Fill free places from the waiting list, first come first served (session locked)."""
    taken = session.attendees.filter(status=AttendeeStatus.ACCEPTED).count()
    free = session.capacity - taken
    if free <= 0:
        return []
    waiting = list(
        session.attendees.filter(status=AttendeeStatus.WAITING).order_by("waiting_since", "id")[
            :free
        ]
    )
    now = timezone.now()
    for attendee in waiting:
        attendee.status = AttendeeStatus.ACCEPTED
        attendee.waiting_since = None
        attendee.responded_at = now
        attendee.save(update_fields=["status", "waiting_since", "responded_at"])
        _queue(attendee, "promoted", session)
    return waiting


def _answer(attendee: Attendee, accept: bool) -> Attendee:
    """Record the answer in the locked session: an acceptance takes a place or joins the
    waiting list; a decline frees a place for the first person waiting."""
    session = _locked(attendee.session)
    _open(session)
    attendee = Attendee.objects.select_for_update().select_related("user").get(pk=attendee.pk)
    attendee.session = session
    before = attendee.status
    now = timezone.now()
    if accept:
        if before in (AttendeeStatus.ACCEPTED, AttendeeStatus.WAITING):
            return attendee
        taken = session.attendees.filter(status=AttendeeStatus.ACCEPTED).count()
        if taken < session.capacity:
            attendee.status, attendee.waiting_since = AttendeeStatus.ACCEPTED, None
        else:
            attendee.status, attendee.waiting_since = AttendeeStatus.WAITING, now
    else:
        if before == AttendeeStatus.DECLINED:
            return attendee
        attendee.status, attendee.waiting_since = AttendeeStatus.DECLINED, None
    attendee.responded_at = now
    attendee.save(update_fields=["status", "waiting_since", "responded_at"])
    if attendee.status == AttendeeStatus.WAITING:
        _queue(attendee, "waiting", session)
    if before == AttendeeStatus.ACCEPTED:
        _promote(session)
    return attendee


@transaction.atomic
def respond(session: Session, *, acting_user: User, accept: bool) -> Attendee:
    """The person's own answer on the portal or the API. A requester may sign up for a
    session open to their organization without an invitation."""
    attendee = session.attendees.filter(user=acting_user).first()
    if attendee is None:
        if not accept:
            raise NotFound(_("You are not invited to this session."))
        open_to_them = (
            acting_user.organization_id
            and session.organizations.filter(pk=acting_user.organization_id).exists()
        )
        if not (open_to_them or acting_user.is_agent):
            raise NotFound(_("You are not invited to this session."))
        _open(_locked(session))
        attendee, _created = Attendee.objects.get_or_create(session=session, user=acting_user)
    return _answer(attendee, accept)


def respond_token(attendee: Attendee, answer: str) -> str:
    """The signed token of the mail's accept/decline links: it names the place and the
    answer, and works without signing in."""
    return signing.dumps({"a": attendee.pk, "r": answer}, salt=RESPOND_SALT, compress=True)


def read_respond_token(token: str) -> tuple[Attendee, bool]:
    try:
        data = signing.loads(token, salt=RESPOND_SALT)
        attendee_id, answer = int(data["a"]), data["r"]
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise NotFound(_("This link is not valid.")) from None
    if answer not in ("accept", "decline"):
        raise NotFound(_("This link is not valid."))
    attendee = Attendee.objects.select_related("session__course", "user").filter(pk=attendee_id)
    found = attendee.first()
    if found is None:
        raise NotFound(_("This link is not valid."))
    return found, answer == "accept"


@transaction.atomic
def respond_by_token(token: str) -> Attendee:
    attendee, accept = read_respond_token(token)
    return _answer(attendee, accept)


# Attendee.uid; ASCII digits of a size an id can have (a mail's UID is anyone's text).
_UID = re.compile(r"training-session-([0-9]{1,18})-user-([0-9]{1,18})(?:@.*)?", re.ASCII)


def _place_of_uid(uid: str) -> tuple[int, int] | None:
    """(session id, user id) of one of our UIDs, else None."""
    found = _UID.fullmatch(uid.strip())
    return (int(found[1]), int(found[2])) if found else None


@transaction.atomic
def apply_imip_reply(data: bytes, sender: str) -> Attendee | None:
    """An iMIP METHOD:REPLY mailed back by a calendar program. Returns the place when
    the UID is one of ours and the sender is its attendee, else None (the mail is then
    not a calendar answer of ours).

    ACCEPTED and DECLINED count as on the portal (a decline frees the place for the
    waiting list); TENTATIVE or NEEDS-ACTION change nothing. A closed session (started
    or cancelled) raises Conflict, as on the portal."""
    from .ics import parse_reply

    parsed = parse_reply(data)
    place = _place_of_uid(parsed[0]) if parsed else None
    if parsed is None or place is None:
        return None
    sender = sender.strip().lower()
    partstat = parsed[1].get(sender) if sender else None
    attendee = (
        Attendee.objects.select_related("user")
        .filter(session_id=place[0], user_id=place[1])
        .first()
    )
    if partstat is None or attendee is None or attendee.user.email.lower() != sender:
        return None
    if partstat not in ("ACCEPTED", "DECLINED"):
        return attendee
    return _answer(attendee, partstat == "ACCEPTED")


# -- attendance and feedback -----------------------------------------------------------


@transaction.atomic
def take_attendance(
    session: Session, *, acting_user: User, present: dict[int, bool]
) -> list[Attendee]:
    """The trainer marks who came (user id -> present), once the session has started."""
    policy.require_trainer(acting_user, session)
    if session.cancelled:
        raise Conflict(_("The session was cancelled."))
    if session.starts_at > timezone.now():
        raise Conflict(_("Attendance can be taken once the session has started."))
    attendees = {a.user_id: a for a in session.attendees.select_related("user")}
    unknown = set(present) - set(attendees)
    if unknown:
        raise InvalidInput(
            _("These people are not in the session: %(ids)s")
            % {"ids": ", ".join(str(i) for i in sorted(unknown))}
        )
    changed = []
    for user_id, came in present.items():
        attendee = attendees[user_id]
        attendee.attended = bool(came)
        changed.append(attendee)
    Attendee.objects.bulk_update(changed, ["attended"])
    return changed


@transaction.atomic
def leave_feedback(
    session: Session, *, acting_user: User, rating: int, comment: str = ""
) -> Attendee:
    """The attendee's rating (1-5) and comment, after the session, once they came."""
    attendee = session.attendees.filter(user=acting_user).first()
    if attendee is None or attendee.status != AttendeeStatus.ACCEPTED:
        raise NotFound(_("You are not an attendee of this session."))
    if session.ends_at > timezone.now():
        raise Conflict(_("Feedback opens when the session has ended."))
    if attendee.attended is False:
        raise Conflict(_("Only people who attended may leave feedback."))
    if not isinstance(rating, int) or not 1 <= rating <= 5:
        raise InvalidInput(_("The rating must be from 1 to 5."))
    attendee.rating = rating
    attendee.comment = _text(comment, _("Comment"), 5000)
    attendee.feedback_at = timezone.now()
    attendee.save(update_fields=["rating", "comment", "feedback_at"])
    return attendee


# -- from tickets ----------------------------------------------------------------------


@transaction.atomic
def recommend_course(
    ticket: Ticket,
    course: Course,
    *,
    acting_user: User,
    session: Session | None = None,
    note: str = "",
) -> Attendee | None:
    """An agent recommends a course to the ticket's requester: the audit trail says so;
    with a session, the requester is invited to it, else they get a mail about it."""
    from soporte.accounts import policy as accounts_policy
    from soporte.mail.outbound import record_templated
    from soporte.tickets.services import log_event

    accounts_policy.require_work(acting_user, ticket)
    note = _text(note, _("Note"), 2000)
    if session is not None and session.course_id != course.pk:
        raise InvalidInput(_("The session is not one of the course's."))
    requester = ticket.requester
    log_event(
        ticket, acting_user=acting_user, kind=EventKind.COURSE_RECOMMENDED,
        new=course.title, course=course.pk, session=session.pk if session else None,
        summary=_("Recommended the course “%(title)s” to %(name)s")
        % {"title": course.title, "name": str(requester)},
    )  # fmt: skip
    if session is not None:
        made = invite(session, acting_user=acting_user, users=[requester])
        attendee = made[0] if made else session.attendees.get(user=requester)
        return attendee
    body = _("We recommend the course “%(title)s”.\n\n%(description)s\n\n%(note)s") % {
        "title": course.title, "description": course.description, "note": note,
    }  # fmt: skip
    key = f"training-recommend-{ticket.pk}-{course.pk}-{timezone.now().timestamp()}"
    record_templated(
        ticket.pk, "requester", _("Course recommended: %(title)s") % {"title": course.title},
        body.strip(), key,
    )  # fmt: skip
    return None


# -- reports ---------------------------------------------------------------------------


def coverage(*, acting_user: User, days: int = 90, course: Course | None = None) -> list[dict]:
    """Per organization: its tickets of the last `days` days in the categories the
    courses cover, and how many of its people attended those courses. Supervisors only.
    Most tickets first."""
    policy.require_supervisor(acting_user)
    if not 1 <= days <= 3660:
        raise InvalidInput(_("The period must be between 1 and 3660 days."))
    courses = Course.objects.filter(pk=course.pk) if course else Course.objects.all()
    category_ids = list(
        TicketCategory.objects.filter(courses__in=courses).values_list("pk", flat=True).distinct()
    )
    since = timezone.now() - timedelta(days=days)
    tickets = dict(
        Ticket.objects.filter(
            category_id__in=category_ids, created_at__gte=since, organization__isnull=False
        )
        .values_list("organization_id")
        .annotate(n=Count("pk"))
        .values_list("organization_id", "n")
    )
    trained = dict(
        Attendee.objects.filter(
            session__course__in=courses, attended=True, user__organization__isnull=False
        )
        .values_list("user__organization_id")
        .annotate(n=Count("user_id", distinct=True))
        .values_list("user__organization_id", "n")
    )
    names = dict(
        Organization.objects.filter(pk__in=set(tickets) | set(trained)).values_list("pk", "name")
    )
    ordered = sorted(names, key=lambda pk: (-tickets.get(pk, 0), trained.get(pk, 0), names[pk]))
    return [
        {"organization_id": pk, "organization": names[pk], "tickets": tickets.get(pk, 0),
         "people_trained": trained.get(pk, 0)}
        for pk in ordered
    ]  # fmt: skip
