"""The mail about a person's place in a session: text with the accept/decline links,
and the .ics (text/calendar; method=REQUEST or CANCEL) attached and as an alternative,
as calendar programs expect (RFC 6047)."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from . import ics, services
from .models import Attendee

KINDS = ("request", "cancel", "promoted", "waiting")


def build(attendee: Attendee, kind: str) -> EmailMultiAlternatives:
    session, user = attendee.session, attendee.user
    method = "CANCEL" if kind == "cancel" else "REQUEST"
    portal = settings.SITE_URL + reverse("training:session", args=[session.pk])
    links = {
        answer: settings.SITE_URL
        + reverse("training:respond", args=[services.respond_token(attendee, answer)])
        for answer in ("accept", "decline")
    }
    # The attendee's own zone, named as used (UTC when theirs is unknown).
    when = ics.local_start(attendee)
    with translation.override(user.language or settings.LANGUAGE_CODE):
        subjects = {
            "request": _("Invitation: %(title)s"),
            "cancel": _("Cancelled: %(title)s"),
            "promoted": _("A place is yours: %(title)s"),
            "waiting": _("On the waiting list: %(title)s"),
        }
        subject = subjects[kind] % {"title": session.course.title}
        context = {
            "attendee": attendee, "session": session, "course": session.course,
            "kind": kind, "links": links, "portal": portal,
            "when": when.strftime("%Y-%m-%d %H:%M"), "time_zone": str(when.tzinfo),
        }  # fmt: skip
        body = render_to_string("training/invitation_email.txt", context)
    calendar = ics.build(attendee, method, url=portal)
    mail = EmailMultiAlternatives(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])
    content_type = f"text/calendar; method={method}; charset=utf-8"
    mail.attach_alternative(calendar.decode(), content_type)
    mail.attach("invite.ics", calendar, f"application/ics; method={method}")
    return mail
