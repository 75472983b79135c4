"""Calendar answers by mail, end to end: the invitation leaves through Django's mail
outbox, a calendar program (Thunderbird, Outlook, Google, or one that only attaches the
file) answers it to the ORGANIZER, and the reply goes in through the real inbound door
(mail.inbound.store_raw, then the processing job) and changes the place, opening no
ticket. Replies we cannot tie to the sender's own place become tickets."""

from __future__ import annotations

from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import make_msgid, parseaddr

import pytest
from django.core import mail
from django.utils import timezone
from icalendar import Calendar, Event, vCalAddress

from soporte.mail.inbound import store_raw
from soporte.mail.models import RawMessage, RawStatus
from soporte.mail.outbound import own_addresses
from soporte.tickets.models import Ticket
from soporte.training import services
from soporte.training.models import Attendee

SUPPORT = "help@soporte.example"


@pytest.fixture(autouse=True)
def _support_address(settings):
    settings.DEFAULT_FROM_EMAIL = f"Soporte <{SUPPORT}>"


def _invitation_ics(message) -> bytes:
    """The text/calendar part of a sent mail, read from its MIME bytes as a mail
    program reads it."""
    parsed = message_from_bytes(message.message().as_bytes(), policy=policy.default)
    for part in parsed.walk():
        if part.get_content_type() == "text/calendar":
            assert part.get_param("method") == "REQUEST"
            return part.get_payload(decode=True)
    raise AssertionError("the invitation has no text/calendar part")


def _reply_ics(invitation: bytes, partstat: str, *, outlook: bool = False) -> bytes:
    """What a calendar program mails back: METHOD:REPLY, the invitation's UID, SEQUENCE
    and ORGANIZER, and only the answering ATTENDEE with its PARTSTAT. Outlook leaves the
    ORGANIZER out and writes MAILTO in capitals."""
    [event] = Calendar.from_ical(invitation).walk("VEVENT")
    reply = Calendar()
    reply.add("prodid", "-//Mozilla.org/NONSGML Mozilla Calendar V1.1//EN")
    reply.add("version", "2.0")
    reply.add("method", "REPLY")
    answer = Event()
    for name in ("uid", "sequence", "dtstart", "dtend", "summary"):
        answer.add(name, event.decoded(name))
    answer.add("dtstamp", timezone.now())
    if not outlook:
        answer.add("organizer", event["organizer"])
    invited = event["attendee"]
    address = str(invited).replace("mailto:", "MAILTO:" if outlook else "mailto:")
    attendee = vCalAddress(address)
    attendee.params["PARTSTAT"] = partstat
    attendee.params["CN"] = invited.params.get("CN", "")
    answer.add("attendee", attendee)
    reply.add_component(answer)
    return reply.to_ical()


def _invitation_and_reply_to(message) -> tuple[bytes, str]:
    """(the .ics, where the reply goes): a calendar program writes to the ORGANIZER."""
    invitation = _invitation_ics(message)
    [event] = Calendar.from_ical(invitation).walk("VEVENT")
    return invitation, str(event["organizer"]).removeprefix("mailto:")


def _mime(style: str, ics: bytes, *, sender: str, to: str, subject: str) -> bytes:
    """The reply mail as each program builds it."""
    text = ics.decode()
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="example.org")
    message.set_content(f"{subject}\n")
    if style == "thunderbird":
        # multipart/mixed: the alternative (text + calendar) and invite.ics attached.
        message.add_alternative(text, subtype="calendar", params={"method": "REPLY"})
        message.make_mixed()
        message.add_attachment(ics, maintype="application", subtype="ics", filename="invite.ics")
    elif style == "outlook":
        message.add_alternative(f"<p>{subject}</p>", subtype="html")
        message.add_alternative(text, subtype="calendar", cte="base64", params={"method": "REPLY"})
    elif style == "google":
        message.add_alternative(f"<p>{subject}</p>", subtype="html")
        message.add_alternative(text, subtype="calendar", params={"method": "REPLY"})
        message.make_mixed()
        message.add_attachment(ics, maintype="application", subtype="ics", filename="invite.ics")
    elif style == "attachment":
        message.add_attachment(ics, maintype="text", subtype="calendar", filename="reply.ics")
    else:
        raise AssertionError(style)
    return message.as_bytes(policy=message.policy.clone(linesep="\r\n"))


def _deliver(raw: bytes, committed) -> RawMessage:
    """Through the one inbound door: stored, then processed by its job after commit."""
    with committed():
        stored, created = store_raw(raw, source="smtp")
    assert created
    stored.refresh_from_db()
    assert stored.status == RawStatus.DONE, stored.error
    return stored


def _invite(session, person, carol, committed):
    mail.outbox.clear()
    with committed():
        services.invite(session, acting_user=carol, users=[person])
    [message] = mail.outbox
    return message


@pytest.mark.parametrize("style", ["thunderbird", "outlook", "google", "attachment"])
def test_an_accepting_calendar_reply_takes_the_place_and_opens_no_ticket(
    style, session, maria, carol, committed
):
    # given an invitation Maria's calendar program answers
    invitation, reply_to = _invitation_and_reply_to(_invite(session, maria, carol, committed))
    reply = _reply_ics(invitation, "ACCEPTED", outlook=style == "outlook")
    raw = _mime(style, reply, sender=f"Maria <{maria.email}>", to=reply_to,
                subject="Accepted: VPN basics")  # fmt: skip
    # when it comes in by mail
    stored = _deliver(raw, committed)
    # then her place is taken and nobody has a ticket to read
    assert Attendee.objects.get(session=session, user=maria).status == "accepted"
    assert stored.ticket_id is None
    assert not Ticket.objects.exists()


def test_the_reply_goes_to_the_support_address_we_read_not_the_trainer(
    session, maria, alice, carol, committed
):
    invitation, reply_to = _invitation_and_reply_to(_invite(session, maria, carol, committed))
    assert reply_to == SUPPORT != alice.email
    assert reply_to in own_addresses()  # mail to it is ingested, not lost
    [event] = Calendar.from_ical(invitation).walk("VEVENT")
    organizer = event["organizer"]
    assert organizer.params["CN"] == str(alice)
    assert organizer.params["SENT-BY"] == f"mailto:{alice.email}"


def test_a_declining_reply_frees_the_place_for_the_first_person_waiting(
    make_session, maria, marco, carol, committed
):
    # given a one-place session Maria holds and Marco waits for
    session = make_session(capacity=1)
    invitation, reply_to = _invitation_and_reply_to(_invite(session, maria, carol, committed))
    _invite(session, marco, carol, committed)
    with committed():
        services.respond(session, acting_user=maria, accept=True)
        services.respond(session, acting_user=marco, accept=True)
    assert Attendee.objects.get(user=marco).status == "waiting"
    mail.outbox.clear()
    # when Maria's calendar declines by mail
    raw = _mime("thunderbird", _reply_ics(invitation, "DECLINED"), sender=maria.email,
                to=reply_to, subject="Declined: VPN basics")  # fmt: skip
    _deliver(raw, committed)
    # then Marco has the place, and is told so
    assert Attendee.objects.get(user=maria).status == "declined"
    assert Attendee.objects.get(user=marco).status == "accepted"
    assert [m.to for m in mail.outbox] == [[marco.email]]
    assert not Ticket.objects.exists()


def test_a_reply_sent_by_someone_else_becomes_a_ticket(session, maria, marco, carol, committed):
    """Marco cannot answer for Maria: his mail is read by a person instead."""
    invitation, reply_to = _invitation_and_reply_to(_invite(session, maria, carol, committed))
    raw = _mime("google", _reply_ics(invitation, "DECLINED"), sender=marco.email, to=reply_to,
                subject="Declined: VPN basics")  # fmt: skip
    stored = _deliver(raw, committed)
    assert Attendee.objects.get(user=maria).status == "invited"
    assert stored.ticket is not None
    assert stored.ticket.requester == marco


def test_a_reply_a_trusted_server_says_was_forged_takes_no_place(
    session, maria, carol, committed, settings
):
    """Someone writing as Maria cannot decline her place: read by a person instead."""
    settings.MAIL_TRUSTED_AUTHSERV_IDS = ["mx.soporte.example"]
    invitation, reply_to = _invitation_and_reply_to(_invite(session, maria, carol, committed))
    raw = _mime("google", _reply_ics(invitation, "DECLINED"), sender=maria.email, to=reply_to,
                subject="Declined: VPN basics")  # fmt: skip
    forged = b"Authentication-Results: mx.soporte.example; spf=fail; dmarc=fail\r\n" + raw
    stored = _deliver(forged, committed)
    assert Attendee.objects.get(user=maria).status == "invited"
    assert list(stored.ticket.tags.values_list("name", flat=True)) == ["unverified-sender"]


def test_a_reply_for_a_place_we_do_not_have_becomes_a_ticket(session, maria, carol, committed):
    invitation, reply_to = _invitation_and_reply_to(_invite(session, maria, carol, committed))
    reply = _reply_ics(invitation, "ACCEPTED").replace(
        f"training-session-{session.pk}-".encode(), b"training-session-999999-"
    )
    raw = _mime("thunderbird", reply, sender=maria.email, to=reply_to, subject="Accepted")
    stored = _deliver(raw, committed)
    assert stored.ticket is not None
    assert Attendee.objects.get(user=maria).status == "invited"


def test_a_tentative_reply_is_taken_and_changes_nothing(session, maria, carol, committed):
    invitation, reply_to = _invitation_and_reply_to(_invite(session, maria, carol, committed))
    raw = _mime("outlook", _reply_ics(invitation, "TENTATIVE", outlook=True),
                sender=maria.email, to=reply_to, subject="Tentative: VPN basics")  # fmt: skip
    stored = _deliver(raw, committed)
    assert stored.ticket_id is None
    assert Attendee.objects.get(user=maria).status == "invited"


def test_a_reply_after_the_session_was_cancelled_is_taken_and_changes_nothing(
    session, maria, carol, committed
):
    invitation, reply_to = _invitation_and_reply_to(_invite(session, maria, carol, committed))
    services.cancel_session(session, acting_user=carol)
    raw = _mime("google", _reply_ics(invitation, "ACCEPTED"), sender=maria.email, to=reply_to,
                subject="Accepted: VPN basics")  # fmt: skip
    stored = _deliver(raw, committed)
    assert stored.ticket_id is None
    assert Attendee.objects.get(user=maria).status == "invited"


def test_an_invitation_forwarded_back_is_not_a_reply(session, maria, carol, committed):
    """Our own METHOD:REQUEST sent back (a forward) is an ordinary request."""
    invitation, reply_to = _invitation_and_reply_to(_invite(session, maria, carol, committed))
    raw = _mime("attachment", invitation, sender=maria.email, to=reply_to,
                subject="Fwd: Invitation")  # fmt: skip
    stored = _deliver(raw, committed)
    assert stored.ticket is not None
    assert Attendee.objects.get(user=maria).status == "invited"


def test_the_sender_address_is_compared_without_case(session, maria, carol, committed):
    invitation, reply_to = _invitation_and_reply_to(_invite(session, maria, carol, committed))
    shouting = parseaddr(maria.email)[1].upper()
    raw = _mime("outlook", _reply_ics(invitation, "ACCEPTED", outlook=True), sender=shouting,
                to=reply_to, subject="Accepted")  # fmt: skip
    _deliver(raw, committed)
    assert Attendee.objects.get(user=maria).status == "accepted"


def test_a_started_session_takes_no_answer_by_mail(make_session, maria, carol, committed):
    session = make_session()
    invitation, reply_to = _invitation_and_reply_to(_invite(session, maria, carol, committed))
    session.__class__.objects.filter(pk=session.pk).update(
        starts_at=timezone.now() - timedelta(minutes=5)
    )
    raw = _mime("thunderbird", _reply_ics(invitation, "DECLINED"), sender=maria.email,
                to=reply_to, subject="Declined")  # fmt: skip
    stored = _deliver(raw, committed)
    assert stored.ticket_id is None
    assert Attendee.objects.get(user=maria).status == "invited"
