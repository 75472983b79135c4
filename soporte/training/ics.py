"""iCalendar (RFC 5545) messages for a person's place in a session, as iMIP (RFC 6047)
sends them: METHOD:REQUEST to invite or update, METHOD:CANCEL when the session is
cancelled. One UID per session and attendee, so calendar programs update one event;
SEQUENCE is the session's, raised by every change. The start is given in the
attendee's time zone (with its VTIMEZONE), or in UTC when they have none.

The ORGANIZER is the support address Soporte sends from and reads, not the trainer's
own: calendar programs mail their METHOD:REPLY to the organizer, and only a reply that
reaches us can change a place (inbound.py). The trainer is named in CN and SENT-BY."""

from __future__ import annotations

from datetime import datetime
from email.utils import parseaddr
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.utils import timezone
from icalendar import Calendar, Event, vCalAddress, vText

from .models import PARTSTAT, Attendee, AttendeeStatus

PRODID = "-//Soporte//Training//EN"


def attendee_zone(name: str) -> ZoneInfo | None:
    """The person's zone, or None for UTC (or a name the system does not know)."""
    if not name or name.upper() in ("UTC", "GMT", "ETC/UTC"):
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def local_start(attendee: Attendee) -> datetime:
    zone = attendee_zone(attendee.user.time_zone)
    return attendee.session.starts_at.astimezone(zone or ZoneInfo("UTC"))


def organizer_address() -> str:
    """The address invitations come from and calendar replies go back to."""
    return parseaddr(settings.DEFAULT_FROM_EMAIL)[1]


def _address(email: str, name: str, **params: str) -> vCalAddress:
    address = vCalAddress(f"mailto:{email}")
    if name:
        address.params["CN"] = vText(name)
    for key, value in params.items():
        address.params[key] = vText(value)
    return address


def build(attendee: Attendee, method: str, *, url: str = "") -> bytes:
    """The calendar object for this attendee: METHOD "REQUEST" or "CANCEL"."""
    session, user = attendee.session, attendee.user
    course, trainer = session.course, session.trainer
    zone = attendee_zone(user.time_zone)
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", method)
    event = Event()
    event.add("uid", attendee.uid)
    event.add("sequence", session.sequence)
    event.add("dtstamp", timezone.now())
    start = session.starts_at.astimezone(zone) if zone else session.starts_at
    end = session.ends_at.astimezone(zone) if zone else session.ends_at
    event.add("dtstart", start)
    event.add("dtend", end)
    event.add("summary", course.title)
    description = course.description
    if url:
        description = f"{description}\n\n{url}".strip()
    if description:
        event.add("description", description)
    location = session.place or session.online_url
    if location:
        event.add("location", location)
    if session.online_url:
        event.add("url", session.online_url)
    sent_by = {"SENT-BY": f"mailto:{trainer.email}"} if trainer.email else {}
    event.add("organizer", _address(organizer_address(), str(trainer), **sent_by))
    cancelled = method == "CANCEL"
    partstat = PARTSTAT[AttendeeStatus(attendee.status)]
    event.add(
        "attendee",
        _address(
            user.email,
            str(user),
            CUTYPE="INDIVIDUAL",
            ROLE="REQ-PARTICIPANT",
            PARTSTAT=partstat,
            RSVP="FALSE" if cancelled else "TRUE",
        ),
    )
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    calendar.add_component(event)
    if zone is not None:
        calendar.add_missing_timezones()
    return calendar.to_ical()


def parse_reply(data: bytes) -> tuple[str, dict[str, str]] | None:
    """(UID, {attendee address: PARTSTAT}) from an iMIP METHOD:REPLY, or None when the
    bytes are not one (parsing only: nothing here trusts the sender). Addresses are
    lower-cased; a reply normally names one attendee, but some programs list more."""
    try:
        calendar = Calendar.from_ical(data)
    except Exception:  # noqa: BLE001 - any mail's attachment: unreadable is "not a reply"
        return None
    if str(calendar.get("method", "")).upper() != "REPLY":
        return None
    for event in calendar.walk("VEVENT"):
        found = event.get("attendee")
        if found is None or "uid" not in event:
            return None
        answers = {}
        for attendee in found if isinstance(found, list) else [found]:
            address = str(attendee).strip()
            if address.lower().startswith("mailto:"):
                address = address[len("mailto:") :]
            partstat = str(getattr(attendee, "params", {}).get("PARTSTAT", "")).upper()
            answers[address.strip().lower()] = partstat
        return str(event["uid"]), answers
    return None
