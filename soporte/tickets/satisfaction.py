"""Satisfaction surveys: the requester rates a resolution from a one-click link.

1. When a ticket is resolved, the resolved mail carries survey_url(ticket): a signed
   token (django.core.signing) naming the ticket and *this* resolution, valid for
   SATISFACTION_LINK_DAYS days; no sign-in needed.
2. Opening the link shows a form (a GET records nothing: mail scanners prefetch links);
   posting it (with its CSRF token) records the rating, 1 to 5, and an optional comment.
   Posting again while the link lives changes the rating. A reopened ticket closes the
   survey; resolving it again sends a fresh one (another resolution, another row).
3. A rating at or below SATISFACTION_LOW_RATING does, once per survey, what
   SATISFACTION_LOW_RATING_ACTION says: "alert" (an event and a mail to the
   supervisors, by a job), "reopen" (tickets.services.reopen in the requester's name;
   a ticket that cannot be reopened alerts instead) or "none".
4. A bad token is refused with BadRequest (400), an expired or outdated one with
   SurveyGone (410): a page that says so, never a 500.

Settings (read when used, defaults in brackets): SATISFACTION_LINK_DAYS [14],
SATISFACTION_LOW_RATING [2], SATISFACTION_LOW_RATING_ACTION ["alert"].
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core import signing
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from soporte.accounts import policy
from soporte.accounts.models import Role, User
from soporte.lib.errors import BadRequest, InvalidInput, NotFound, ServiceError

from . import services
from .models import EventKind, SatisfactionRating, Status, Ticket

log = logging.getLogger(__name__)

SALT = "soporte.tickets.satisfaction"
COMMENT_MAX = 2000
ACTIONS = ("alert", "reopen", "none")


class SurveyGone(ServiceError):
    """The link was good but its survey is over: expired, or the ticket was reopened."""

    status = 410


# -- settings -----------------------------------------------------------------------


def link_days() -> int:
    """How long a rating link works, in days; 0 turns surveys off."""
    return int(getattr(settings, "SATISFACTION_LINK_DAYS", 14))


def low_rating() -> int:
    """Ratings at or below this one are low."""
    return int(getattr(settings, "SATISFACTION_LOW_RATING", 2))


def low_rating_action() -> str:
    action = getattr(settings, "SATISFACTION_LOW_RATING_ACTION", "alert")
    return action if action in ACTIONS else "alert"


# -- links --------------------------------------------------------------------------


def _stamp(resolved_at: datetime) -> str:
    return resolved_at.astimezone(UTC).isoformat()


def make_token(ticket: Ticket) -> str:
    """A signed token for the ticket's current resolution (it must be resolved)."""
    assert ticket.resolved_at is not None
    return signing.dumps({"t": ticket.pk, "r": _stamp(ticket.resolved_at)}, salt=SALT)


def survey_url(ticket: Ticket) -> str | None:
    """The absolute link the resolved mail carries; None when the ticket is not
    resolved (e.g. reopened before the mail left) or surveys are off."""
    if link_days() <= 0 or ticket.resolved_at is None:
        return None
    if ticket.status not in (Status.RESOLVED, Status.CLOSED):
        return None
    return settings.SITE_URL + reverse("rate", args=[make_token(ticket)])


@dataclass
class Survey:
    ticket: Ticket
    resolved_at: datetime
    rating: SatisfactionRating | None  # the rating already given, if any


def read_token(token: str) -> Survey:
    """The survey a token opens.

    BadRequest: not a token we signed (tampered, truncated). SurveyGone: older than
    SATISFACTION_LINK_DAYS, or the ticket is gone, reopened or resolved again since.
    """
    max_age = timedelta(days=link_days())
    try:
        data = signing.loads(token or "", salt=SALT, max_age=max_age)
    except signing.SignatureExpired:
        raise SurveyGone(_("This rating link has expired.")) from None
    except signing.BadSignature:
        raise BadRequest(
            _("This rating link is not valid. Copy the whole link from the email.")
        ) from None
    if not (isinstance(data, dict) and isinstance(data.get("t"), int) and data.get("r")):
        raise BadRequest(_("This rating link is not valid. Copy the whole link from the email."))
    ticket = (
        Ticket.objects.select_related("requester", "assignee", "team").filter(pk=data["t"]).first()
    )
    if ticket is None:
        raise SurveyGone(_("This ticket no longer exists."))
    resolved_at = ticket.resolved_at
    current = (
        resolved_at is not None
        and ticket.status in (Status.RESOLVED, Status.CLOSED)
        and _stamp(resolved_at) == data["r"]
    )
    if resolved_at is None or not current:
        raise SurveyGone(
            _(
                "Ticket #%(number)s was reopened since this link was sent, so this survey is "
                "closed. You will get a new one when it is resolved again."
            )
            % {"number": ticket.number}
        )
    if timezone.now() - resolved_at > max_age:
        raise SurveyGone(_("This rating link has expired."))
    rating = SatisfactionRating.objects.filter(ticket=ticket, resolved_at=resolved_at).first()
    return Survey(ticket, resolved_at, rating)


# -- rating -------------------------------------------------------------------------


def _resolving_agent(ticket: Ticket) -> int | None:
    """The assignee at the resolution, else the agent who resolved it."""
    if ticket.assignee_id:
        return ticket.assignee_id
    event = (
        ticket.events.filter(kind=EventKind.STATUS_CHANGED, new=Status.RESOLVED)
        .select_related("actor")
        .order_by("-id")
        .first()
    )
    if event is not None and event.actor is not None and event.actor.is_agent:
        return event.actor_id
    return None


@transaction.atomic
def rate(survey: Survey, *, rating: int, comment: str = "") -> SatisfactionRating:
    """Record (or change) the requester's rating of the survey's resolution, write a
    "rated" event in the requester's name, and act once on a low rating."""
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        raise InvalidInput(_("Choose a rating from 1 to 5."))
    comment = (comment or "").strip()
    if "\x00" in comment:
        raise InvalidInput(_("The comment contains a character that is not allowed."))
    if len(comment) > COMMENT_MAX:
        raise InvalidInput(
            _("The comment is longer than %(max)s characters.") % {"max": COMMENT_MAX}
        )
    ticket = survey.ticket
    # The ticket row is locked so a rating never races a reopen of the same ticket.
    locked = Ticket.objects.select_for_update().filter(pk=ticket.pk).first()
    if locked is None or locked.resolved_at != survey.resolved_at:
        raise SurveyGone(_("This survey is closed: the ticket changed since."))
    found = SatisfactionRating.objects.filter(ticket=ticket, resolved_at=survey.resolved_at)
    row = found.select_for_update().first()
    old = row.rating if row is not None else None
    if row is None:
        try:
            with transaction.atomic():
                row = SatisfactionRating.objects.create(
                    ticket=ticket,
                    resolved_at=survey.resolved_at,
                    rating=rating,
                    comment=comment,
                    agent_id=_resolving_agent(ticket),
                    team_id=ticket.team_id,
                )
        except IntegrityError:  # rated at the same moment from another tab
            row = found.select_for_update().get()
            old = row.rating
    if old is not None:
        row.rating, row.comment = rating, comment
        row.save(update_fields=["rating", "comment", "updated_at"])
    summary = (
        _("rated %(rating)s/5") % {"rating": rating}
        if old is None
        else _("rating changed from %(old)s/5 to %(new)s/5") % {"old": old, "new": rating}
    )
    services.log_event(
        ticket,
        acting_user=ticket.requester,
        kind=EventKind.RATED,
        summary=summary,
        rating=rating,
        rating_id=row.pk,
    )
    if rating <= low_rating():
        _act_on_low_rating(row, ticket)
    survey.rating = row
    return row


def _act_on_low_rating(row: SatisfactionRating, ticket: Ticket) -> None:
    """Once per survey: claim it with a conditional update, then alert or reopen."""
    action = low_rating_action()
    if action == "none":
        return
    if not SatisfactionRating.objects.filter(pk=row.pk, low_action="").update(low_action=action):
        return  # done before, on an earlier low rating of this survey
    row.low_action = action
    if action == "reopen":
        try:
            with transaction.atomic():
                services.reopen(
                    ticket,
                    acting_user=ticket.requester,
                    reason=_("Low satisfaction rating (%(rating)s/5)") % {"rating": row.rating},
                )
            return
        except ServiceError as error:  # e.g. closed: only agents reopen those
            log.info("Low rating on #%s not reopened (%s); alerting", ticket.number, error)
            SatisfactionRating.objects.filter(pk=row.pk).update(low_action="alert")
            row.low_action = "alert"
    services.log_event(
        ticket,
        acting_user=None,
        kind=EventKind.RATED,
        summary=_("low rating (%(rating)s/5): supervisors alerted") % {"rating": row.rating},
        rating=row.rating,
        rating_id=row.pk,
        alert=True,
    )
    from .tasks import satisfaction_alert

    satisfaction_alert.enqueue(row.pk)


def send_low_rating_alert(rating_id: int) -> int:
    """The job: mail each active supervisor (the admins when there are none) about a
    low rating, in their language; once (alert_sent_at). Returns how many mails."""
    row = (
        SatisfactionRating.objects.select_related("ticket", "agent")
        .filter(pk=rating_id, alert_sent_at__isnull=True)
        .first()
    )
    if row is None:
        return 0
    people = User.objects.filter(role=Role.SUPERVISOR, is_active=True).exclude(email="")
    if not people.exists():
        people = User.objects.filter(role=Role.ADMIN, is_active=True).exclude(email="")
    ticket = row.ticket
    link = settings.SITE_URL + reverse("desk:ticket", args=[ticket.number])
    sent = 0
    for person in people.order_by("id"):
        with translation.override(person.language or settings.LANGUAGE_CODE):
            subject = _("[#%(number)s] Low satisfaction rating: %(rating)s/5") % {
                "number": ticket.number,
                "rating": row.rating,
            }
            body = _(
                "The requester rated the resolution of ticket #%(number)s “%(subject)s” "
                "%(rating)s out of 5.\n\nAgent: %(agent)s\nComment: %(comment)s\n\n%(link)s\n"
            ) % {
                "number": ticket.number,
                "subject": ticket.subject,
                "rating": row.rating,
                "agent": row.agent or "—",
                "comment": row.comment or "—",
                "link": link,
            }
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [person.email])
        sent += 1
    SatisfactionRating.objects.filter(pk=row.pk).update(alert_sent_at=timezone.now())
    return sent


# -- reading ------------------------------------------------------------------------


def ratings_of(ticket: Ticket):
    """Every rating of the ticket, newest first (one per resolution)."""
    return SatisfactionRating.objects.filter(ticket=ticket).select_related("agent")


def get_rating(acting_user: User, number: int) -> SatisfactionRating:
    """The latest rating of a ticket the person may see; NotFound when there is none."""
    ticket = policy.get_visible_ticket(acting_user, number)
    rating = ratings_of(ticket).first()
    if rating is None:
        raise NotFound(_("Ticket #%(number)s has no rating.") % {"number": number})
    return rating


def requester_survey_url(user: User, ticket: Ticket) -> str | None:
    """The rating link for the ticket's requester on the portal (relative); None for
    anyone else or when there is nothing to rate."""
    if ticket.requester_id != user.pk or survey_url(ticket) is None:
        return None
    return reverse("rate", args=[make_token(ticket)])
