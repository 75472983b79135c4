"""The invitation mail and its iCalendar object (RFC 5545 / iMIP), read back with the
`icalendar` package as a calendar program would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from django.core import mail
from icalendar import Calendar

from soporte.training import ics, services
from soporte.training.models import Attendee


def _calendars(message) -> list[Calendar]:
    """Every text/calendar part of a sent mail, parsed."""
    parsed = []
    for content, mimetype in message.alternatives:
        if mimetype.startswith("text/calendar"):
            parsed.append(Calendar.from_ical(content))
    for _name, content, mimetype in message.attachments:
        if "ics" in mimetype or "calendar" in mimetype:
            parsed.append(Calendar.from_ical(content))
    return parsed


def _only_event(calendar: Calendar):
    [event] = calendar.walk("VEVENT")
    return event


def test_an_invitation_mail_carries_a_valid_request_in_the_attendees_zone(
    session, maria, carol, alice, committed, settings
):
    """METHOD:REQUEST, a VEVENT with UID, SEQUENCE, ORGANIZER (the support address,
    sent by the trainer), the attendee needing to answer, and DTSTART in her zone with
    its VTIMEZONE."""
    settings.DEFAULT_FROM_EMAIL = "Soporte <support@localhost>"
    maria.time_zone = "Europe/Madrid"
    maria.save(update_fields=["time_zone"])
    start = datetime(2031, 3, 10, 9, 30, tzinfo=UTC)
    session = services.update_session(session, acting_user=carol, starts_at=start)
    with committed():
        services.invite(session, acting_user=carol, users=[maria])
    [message] = mail.outbox
    assert message.to == [maria.email]
    calendars = _calendars(message)
    assert len(calendars) == 2  # the alternative and the attachment
    for calendar in calendars:
        assert str(calendar["method"]) == "REQUEST"
        assert str(calendar["version"]) == "2.0"
        event = _only_event(calendar)
        attendee = Attendee.objects.get(session=session, user=maria)
        assert str(event["uid"]) == attendee.uid
        assert int(event["sequence"]) == session.sequence == 1
        assert str(event["organizer"]) == "mailto:support@localhost"
        assert event["organizer"].params["SENT-BY"] == f"mailto:{alice.email}"
        who = event["attendee"]
        assert str(who) == f"mailto:{maria.email}"
        assert who.params["PARTSTAT"] == "NEEDS-ACTION"
        assert who.params["RSVP"] == "TRUE"
        assert event["dtstart"].params["TZID"] == "Europe/Madrid"
        assert event["dtstart"].dt == start
        assert event["dtstart"].dt.utcoffset() == timedelta(hours=1)
        assert event["dtend"].dt - event["dtstart"].dt == timedelta(minutes=90)
        [zone] = calendar.walk("VTIMEZONE")
        assert str(zone["tzid"]) == "Europe/Madrid"
    assert "10:30 (Europe/Madrid)" in message.body  # her local time, not the server's
    assert "/portal/training/respond/" in message.body


def test_an_attendee_in_utc_gets_a_utc_start_and_no_vtimezone(session, marco, carol):
    services.invite(session, acting_user=carol, users=[marco])
    attendee = Attendee.objects.select_related("session__course", "user").get(user=marco)
    calendar = Calendar.from_ical(ics.build(attendee, "REQUEST"))
    event = _only_event(calendar)
    assert event["dtstart"].dt == session.starts_at.replace(microsecond=0) or (
        event["dtstart"].dt == session.starts_at
    )
    assert event["dtstart"].dt.tzinfo is not None
    assert event["dtstart"].dt.utcoffset() == timedelta(0)
    assert "TZID" not in event["dtstart"].params
    assert calendar.walk("VTIMEZONE") == []
    assert b"DTSTART:" in ics.build(attendee, "REQUEST")


def test_a_change_resends_the_same_uid_with_a_higher_sequence(session, maria, carol, committed):
    with committed():
        services.invite(session, acting_user=carol, users=[maria])
        services.respond(session, acting_user=maria, accept=True)
    first = _only_event(_calendars(mail.outbox[0])[0])
    mail.outbox.clear()
    with committed():
        services.update_session(session, acting_user=carol, place="Room 9")
    [message] = mail.outbox
    again = _only_event(_calendars(message)[0])
    assert str(again["uid"]) == str(first["uid"])
    assert int(again["sequence"]) > int(first["sequence"])
    assert str(again["location"]) == "Room 9"
    assert again["attendee"].params["PARTSTAT"] == "ACCEPTED"


def test_a_cancelled_session_sends_method_cancel_to_who_had_not_declined(
    session, maria, marco, pedro, carol, committed
):
    with committed():
        services.invite(session, acting_user=carol, users=[maria, marco, pedro])
        services.respond(session, acting_user=pedro, accept=False)
    mail.outbox.clear()
    with committed():
        services.cancel_session(session, acting_user=carol)
    assert sorted(m.to[0] for m in mail.outbox) == sorted([maria.email, marco.email])
    for message in mail.outbox:
        calendar = _calendars(message)[0]
        assert str(calendar["method"]) == "CANCEL"
        assert str(_only_event(calendar)["status"]) == "CANCELLED"


def test_inviting_a_team_and_an_organization_invites_each_member_once(
    session, teams, alice, maria, marco, acme, carol, committed
):
    with committed():
        made = services.invite(
            session, acting_user=carol, users=[maria], teams=[teams["L1"]], organizations=[acme]
        )
    assert sorted(a.user.username for a in made) == ["alice", "marco", "maria"]
    assert len(mail.outbox) == 3
    with committed():
        again = services.invite(session, acting_user=carol, organizations=[acme])
    assert again == [] and len(mail.outbox) == 3


def test_a_stale_mail_job_sends_nothing(session, maria, carol):
    """A job queued before a change has the old SEQUENCE: the newer mail replaces it."""
    from soporte.training.tasks import send_training_mail

    [attendee] = services.invite(session, acting_user=carol, users=[maria])
    services.update_session(session, acting_user=carol, place="Room 2")
    assert send_training_mail(attendee.pk, "request", 0) is False
    assert send_training_mail(attendee.pk, "request", 1) is True
    assert len(mail.outbox) == 1


def test_an_imip_reply_from_the_attendee_records_the_answer(session, maria, marco, carol):
    [attendee] = services.invite(session, acting_user=carol, users=[maria])
    attendee = Attendee.objects.select_related("session__course", "user").get(pk=attendee.pk)
    reply = (
        ics.build(attendee, "REQUEST")
        .replace(b"METHOD:REQUEST", b"METHOD:REPLY")
        .replace(b"PARTSTAT=NEEDS-ACTION", b"PARTSTAT=ACCEPTED")
    )
    assert services.apply_imip_reply(reply, marco.email) is None  # not hers to answer
    assert services.apply_imip_reply(reply, maria.email).status == "accepted"
    assert services.apply_imip_reply(b"not a calendar", maria.email) is None


def test_local_start_is_in_the_attendees_zone(session, maria, carol):
    maria.time_zone = "America/Argentina/Buenos_Aires"
    maria.save(update_fields=["time_zone"])
    [attendee] = services.invite(session, acting_user=carol, users=[maria])
    local = ics.local_start(attendee)
    assert local.tzinfo == ZoneInfo("America/Argentina/Buenos_Aires")
    assert local == session.starts_at


def test_the_invitation_body_gives_the_start_in_buenos_aires_for_her(
    make_session, maria, marco, carol, committed
):
    """Each attendee reads the start in their own zone, named; an unknown zone is UTC
    and says so."""
    maria.time_zone = "America/Argentina/Buenos_Aires"
    maria.save(update_fields=["time_zone"])
    marco.time_zone = "Nowhere/Atlantis"
    marco.save(update_fields=["time_zone"])
    session = make_session(starts_at=datetime(2031, 3, 10, 12, 0, tzinfo=UTC))
    with committed():
        services.invite(session, acting_user=carol, users=[maria, marco])
    bodies = {m.to[0]: m.body for m in mail.outbox}
    assert "2031-03-10 09:00 (America/Argentina/Buenos_Aires)" in bodies[maria.email]
    assert "2031-03-10 12:00 (UTC)" in bodies[marco.email]
    assert "Nowhere" not in bodies[marco.email]


def test_an_imip_reply_with_a_uid_not_of_ours_is_not_applied(session, maria, carol):
    [attendee] = services.invite(session, acting_user=carol, users=[maria])
    attendee = Attendee.objects.select_related("session__course", "user").get(pk=attendee.pk)
    reply = (
        ics.build(attendee, "REQUEST")
        .replace(b"METHOD:REQUEST", b"METHOD:REPLY")
        .replace(b"PARTSTAT=NEEDS-ACTION", b"PARTSTAT=DECLINED")
    )
    uid = attendee.uid.encode()
    for other in (
        uid.replace(b"training-", b"x-training-"),
        uid.replace(f"-{session.pk}-".encode(), "-²-".encode()),
        uid.replace(f"-{session.pk}-".encode(), b"-" + b"9" * 40 + b"-"),
    ):
        assert services.apply_imip_reply(reply.replace(uid, other), maria.email) is None
    assert Attendee.objects.get(pk=attendee.pk).status == "invited"
    assert services.apply_imip_reply(reply, maria.email).status == "declined"
