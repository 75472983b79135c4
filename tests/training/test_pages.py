"""The desk's and the portal's training pages, through the real URLs with CSRF forms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from django.core import mail
from django.test import Client
from django.utils import timezone

from soporte.training import services
from soporte.training.models import Attendee, Course

from .conftest import move_to_past


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_an_agent_creates_a_course_schedules_and_invites(alice, maria, acme, committed):
    client = _client(alice)
    assert client.get("/desk/training/").status_code == 200
    made = client.post("/desk/training/", {"title": "Phishing", "language": "en"})
    course = Course.objects.get(title="Phishing")
    assert made.status_code == 302
    start = (timezone.now() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    scheduled = client.post(
        f"/desk/training/courses/{course.pk}/",
        {"starts_at": start, "time_zone": "Europe/Madrid", "duration_minutes": 60,
         "capacity": 5, "trainer": alice.pk, "place": "Room 1"},
    )  # fmt: skip
    assert scheduled.status_code == 302, scheduled.content
    session = course.sessions.get()
    entered = datetime.strptime(start, "%Y-%m-%dT%H:%M").replace(tzinfo=ZoneInfo("Europe/Madrid"))
    assert session.starts_at == entered  # the zone given, not the server's
    assert client.get(f"/desk/training/sessions/{session.pk}/").status_code == 200
    with committed():
        invited = client.post(
            f"/desk/training/sessions/{session.pk}/invite/", {"organizations": [acme.pk]}
        )
    assert invited.status_code == 302
    assert [m.to for m in mail.outbox] == [[maria.email]]


def test_bad_page_input_answers_4xx(alice, course):
    client = _client(alice)
    assert client.post("/desk/training/", {"title": ""}).status_code == 422
    bad = client.post(
        f"/desk/training/courses/{course.pk}/",
        {"starts_at": "2030-01-01T10:00", "time_zone": "Mars/Olympus", "duration_minutes": 60,
         "capacity": 5, "trainer": alice.pk, "place": "Room"},
    )  # fmt: skip
    assert bad.status_code == 422


def test_requesters_are_kept_out_of_the_desk_pages(maria, session, pedro):
    assert _client(maria).get("/desk/training/").status_code == 403
    assert _client(maria).get(f"/desk/training/sessions/{session.pk}/").status_code == 403
    assert _client(pedro).get(f"/portal/training/sessions/{session.pk}/").status_code == 404


def test_the_portal_shows_my_sessions_and_takes_my_answer(session, carol, maria):
    services.invite(session, acting_user=carol, users=[maria])
    client = _client(maria)
    listing = client.get("/portal/training/")
    assert session.course.title in listing.content.decode()
    page = client.get(f"/portal/training/sessions/{session.pk}/")
    assert page.status_code == 200
    answered = client.post(f"/portal/training/sessions/{session.pk}/answer/", {"answer": "accept"})
    assert answered.status_code == 302
    assert Attendee.objects.get(user=maria).status == "accepted"
    assert (
        client.post(
            f"/portal/training/sessions/{session.pk}/answer/", {"answer": "maybe"}
        ).status_code
        == 422
    )


def test_the_mail_link_asks_first_and_answers_on_post(session, carol, maria):
    [attendee] = services.invite(session, acting_user=carol, users=[maria])
    url = f"/portal/training/respond/{services.respond_token(attendee, 'decline')}/"
    anonymous = Client(enforce_csrf_checks=True)
    assert anonymous.get(url).status_code == 200
    assert Attendee.objects.get(pk=attendee.pk).status == "invited"  # a GET changes nothing
    assert anonymous.post(url).status_code == 403  # no CSRF token
    token = anonymous.cookies["csrftoken"].value
    assert anonymous.post(url, {"csrfmiddlewaretoken": token}).status_code == 200
    assert Attendee.objects.get(pk=attendee.pk).status == "declined"
    assert anonymous.get("/portal/training/respond/forged/").status_code == 404


def test_feedback_and_certificate_on_the_portal(session, carol, alice, maria):
    services.invite(session, acting_user=carol, users=[maria])
    services.respond(session, acting_user=maria, accept=True)
    services.take_attendance(move_to_past(session), acting_user=alice, present={maria.pk: True})
    client = _client(maria)
    sent = client.post(
        f"/portal/training/sessions/{session.pk}/feedback/", {"rating": 4, "comment": "<b>ok</b>"}
    )
    assert sent.status_code == 302
    assert Attendee.objects.get(user=maria).rating == 4
    page = client.get(f"/portal/training/sessions/{session.pk}/").content.decode()
    assert "<b>ok</b>" not in page
    pdf = client.get(f"/portal/training/sessions/{session.pk}/certificate.pdf")
    assert pdf.content.startswith(b"%PDF")


def test_the_ticket_page_offers_to_recommend_a_course(alice, ticket, course, committed):
    client = _client(alice)
    page = client.get(f"/desk/tickets/{ticket.number}/")
    assert f"/desk/training/tickets/{ticket.number}/" in page.content.decode()
    form = client.get(f"/desk/training/tickets/{ticket.number}/").content.decode()
    assert course.title in form
    with committed():
        client.post(f"/desk/training/tickets/{ticket.number}/recommend/", {"course": course.pk})
    assert ticket.events.filter(kind="course_recommended").exists()


def test_the_recommend_box_follows_the_tickets_visibility(alice, bob, maria, make_ticket, teams):
    ticket = make_ticket(acting_user=alice, requester=maria, team=teams["L1"])  # not in L2
    assert _client(bob).get(f"/desk/training/tickets/{ticket.number}/").status_code == 404
    assert _client(maria).get(f"/desk/training/tickets/{ticket.number}/").status_code == 403


def test_the_coverage_report_page_is_for_supervisors(alice, carol):
    assert _client(carol).get("/desk/training/report/").status_code == 200
    assert _client(alice).get("/desk/training/report/").status_code == 403


def _in_zone(user, zone: str):
    user.time_zone = zone
    user.save(update_fields=["time_zone"])
    return user


def test_the_portal_shows_the_start_in_the_requesters_own_zone(make_session, carol, maria):
    """12:00 UTC on 10 March 2031 is 09:00 in Buenos Aires, and the page says where."""
    session = make_session(starts_at=datetime(2031, 3, 10, 12, 0, tzinfo=UTC))
    services.invite(session, acting_user=carol, users=[maria])
    client = _client(_in_zone(maria, "America/Argentina/Buenos_Aires"))
    for url in ("/portal/training/", f"/portal/training/sessions/{session.pk}/"):
        page = client.get(url).content.decode()
        assert "2031-03-10 09:00" in page, url
        assert "America/Argentina/Buenos_Aires" in page, url
        assert "2031-03-10 12:00" not in page, url
    detail = client.get(f"/portal/training/sessions/{session.pk}/").content.decode()
    assert '<span id="local-start">2031-03-10 09:00</span>' in detail


def test_the_desk_shows_the_start_in_the_agents_own_zone(make_session, alice, course, ticket):
    """Alice in Madrid reads 13:00 (CET) on every desk page, and types starts there."""
    session = make_session(starts_at=datetime(2031, 3, 10, 12, 0, tzinfo=UTC))
    client = _client(_in_zone(alice, "Europe/Madrid"))
    pages = {
        "session": f"/desk/training/sessions/{session.pk}/",
        "course": f"/desk/training/courses/{course.pk}/",
        "recommend box": f"/desk/training/tickets/{ticket.number}/",
    }
    for name, url in pages.items():
        page = client.get(url).content.decode()
        assert "2031-03-10 13:00" in page, name
        assert "Europe/Madrid" in page, name
        assert "12:00 UTC" not in page and "(UTC)" not in page, name
    form = client.get(f"/desk/training/courses/{course.pk}/").content.decode()
    assert 'name="time_zone" value="Europe/Madrid"' in form


def test_two_people_see_the_same_start_each_in_their_zone(make_session, carol, alice, maria):
    session = make_session(starts_at=datetime(2031, 7, 1, 15, 0, tzinfo=UTC))
    services.invite(session, acting_user=carol, users=[maria])
    madrid = _client(_in_zone(alice, "Europe/Madrid"))
    buenos_aires = _client(_in_zone(maria, "America/Argentina/Buenos_Aires"))
    desk = madrid.get(f"/desk/training/sessions/{session.pk}/").content.decode()
    portal = buenos_aires.get(f"/portal/training/sessions/{session.pk}/").content.decode()
    assert "2031-07-01 17:00</time> (Europe/Madrid)" in desk  # summer time, UTC+2
    assert "2031-07-01 12:00</span> (America/Argentina/Buenos_Aires)" in portal
