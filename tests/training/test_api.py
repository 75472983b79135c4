"""The training API: who sees which sessions, attendance, feedback, certificates,
recommendations from tickets, the coverage report, and bad input answered 4xx."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from soporte.tickets.models import Category, EventKind, TicketEvent
from soporte.training import services

from .conftest import move_to_past


def test_requesters_see_only_sessions_they_are_invited_to_or_open_to_them(
    api, make_session, carol, maria, marco, pedro, acme
):
    invited = make_session()
    services.invite(invited, acting_user=carol, users=[maria])
    open_to_acme = make_session(organizations=[acme])
    hidden = make_session()
    ids = lambda who: {row["id"] for row in api(who).get("/training/sessions").json()}  # noqa: E731
    assert ids(maria) == {invited.pk, open_to_acme.pk}
    assert ids(marco) == {open_to_acme.pk}
    assert ids(pedro) == set()
    assert ids(carol) == {invited.pk, open_to_acme.pk, hidden.pk}
    assert api(pedro).get(f"/training/sessions/{invited.pk}").status_code == 404
    assert api(marco).get(f"/training/sessions/{hidden.pk}").status_code == 404
    courses = api(pedro).get("/training/courses").json()
    assert courses == []


def test_a_requester_reads_her_session_in_her_time_zone(api, session, carol, maria):
    maria.time_zone = "Asia/Tokyo"
    maria.save(update_fields=["time_zone"])
    services.invite(session, acting_user=carol, users=[maria])
    body = api(maria).get(f"/training/sessions/{session.pk}").json()
    assert body["time_zone"] == "Asia/Tokyo"
    assert body["local_starts_at"].endswith("+09:00")
    assert body["my_status"] == "invited"
    assert body["organization_ids"] == []


def test_accepting_through_the_api_and_downloading_the_ics(api, session, carol, maria):
    services.invite(session, acting_user=carol, users=[maria])
    answer = api(maria).post(f"/training/sessions/{session.pk}/response", {"accept": True})
    assert answer.status_code == 200 and answer.json()["status"] == "accepted"
    ics = api(maria).get(f"/training/sessions/{session.pk}/invite.ics")
    assert ics["Content-Type"].startswith("text/calendar")
    assert b"PARTSTAT=ACCEPTED" in ics.content


def test_the_trainer_takes_attendance_then_feedback_and_certificate_follow(
    api, session, carol, alice, bob, maria, marco
):
    services.invite(session, acting_user=carol, users=[maria, marco])
    services.respond(session, acting_user=maria, accept=True)
    services.respond(session, acting_user=marco, accept=True)
    path = f"/training/sessions/{session.pk}"
    present = {"present": [{"user_id": maria.pk, "attended": True},
                           {"user_id": marco.pk, "attended": False}]}  # fmt: skip
    assert api(alice).post(f"{path}/attendance", present).status_code == 409  # not yet
    move_to_past(session)
    assert api(bob).post(f"{path}/attendance", present).status_code == 403  # not the trainer
    assert api(alice).post(f"{path}/attendance", present).status_code == 200
    rating = {"rating": 5, "comment": "Clear"}
    assert api(maria).post(f"{path}/feedback", rating).status_code == 200
    assert api(marco).post(f"{path}/feedback", rating).status_code == 409  # absent
    assert api(maria).post(f"{path}/feedback", {"rating": 6}).status_code == 422
    pdf = api(maria).get(f"{path}/certificate")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert api(marco).get(f"{path}/certificate").status_code == 409
    rows = {row["user_id"]: row for row in api(alice).get(f"{path}/attendees").json()}
    assert rows[maria.pk]["rating"] == 5 and rows[marco.pk]["attended"] is False


def test_attendance_of_someone_not_in_the_session_is_refused(api, session, alice, pedro):
    move_to_past(session)
    response = api(alice).post(
        f"/training/sessions/{session.pk}/attendance",
        {"present": [{"user_id": pedro.pk, "attended": True}]},
    )
    assert response.status_code == 422


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"duration_minutes": 60, "capacity": 0}, 422),
        ({"duration_minutes": 0, "capacity": 5}, 422),
        ({"duration_minutes": 60, "capacity": 5, "trainer_id": 999999}, 422),
        ({"duration_minutes": 60, "capacity": 5, "place": ""}, 422),
        ({"duration_minutes": 60, "capacity": 5, "organization_ids": [999999]}, 422),
        ({"duration_minutes": 60, "capacity": 5, "starts_at": "not a date"}, 422),
    ],
)
def test_bad_session_input_is_refused(api, course, alice, body, status):
    payload = {
        "starts_at": (timezone.now() + timedelta(days=3)).isoformat(),
        "trainer_id": alice.pk, "place": "Room 1", **body,
    }  # fmt: skip
    response = api(alice).post(f"/training/courses/{course.pk}/sessions", payload)
    assert response.status_code == status, response.content
    assert response.json()["detail"]


def test_course_files_are_checked_like_attachments(api, course, alice, maria, settings):
    path = f"/training/courses/{course.pk}/files"
    client = api(alice).client
    ok = client.post(f"/api/v1{path}", {"file": SimpleUploadedFile("notes.txt", b"hello")})
    assert ok.status_code == 201
    program = SimpleUploadedFile("setup.exe", b"MZ\x90\x00rest")
    assert client.post(f"/api/v1{path}", {"file": program}).status_code == 415
    settings.MAX_ATTACHMENT_BYTES = 10
    big = SimpleUploadedFile("big.txt", b"x" * 11)
    assert client.post(f"/api/v1{path}", {"file": big}).status_code == 413
    download = api(alice).get(f"{path}/{ok.json()['id']}")
    assert b"".join(download.streaming_content) == b"hello"
    assert api(maria).get(f"{path}/{ok.json()['id']}").status_code == 404  # no session for her


def test_an_agent_recommends_a_course_from_a_ticket(
    api, ticket, course, session, alice, maria, committed
):
    with committed():
        response = api(alice).post(
            f"/training/tickets/{ticket.number}/recommendations",
            {"course_id": course.pk, "session_id": session.pk},
        )
    assert response.status_code == 201 and response.json()["invited"] is True
    event = TicketEvent.objects.get(ticket=ticket, kind=EventKind.COURSE_RECOMMENDED)
    assert course.title in event.data["summary"]
    assert session.attendees.filter(user=maria, status="invited").exists()
    assert any(m.to == [maria.email] and "Invitation" in m.subject for m in mail.outbox)
    refused = api(maria).post(
        f"/training/tickets/{ticket.number}/recommendations", {"course_id": course.pk}
    )
    assert refused.status_code == 403


def test_a_recommendation_without_a_session_mails_the_requester(
    api, ticket, course, alice, maria, committed
):
    with committed():
        response = api(alice).post(
            f"/training/tickets/{ticket.number}/recommendations",
            {"course_id": course.pk, "note": "Worth an hour."},
        )
    assert response.status_code == 201 and response.json()["invited"] is False
    sent = [m for m in mail.outbox if m.to == [maria.email] and course.title in m.subject]
    assert sent and "Worth an hour." in sent[0].body


def test_the_coverage_report_sets_tickets_in_covered_categories_against_people_trained(
    api, carol, alice, course, make_session, make_ticket, maria, marco, pedro
):
    vpn, other = Category.objects.create(name="VPN"), Category.objects.create(name="Mail")
    services.update_course(course, acting_user=carol, categories=[vpn])
    make_ticket(requester=maria, acting_user=maria, category=vpn)
    make_ticket(requester=marco, acting_user=marco, category=vpn)
    make_ticket(requester=pedro, acting_user=pedro, category=vpn)
    make_ticket(requester=pedro, acting_user=pedro, category=other)
    session = make_session()
    services.invite(session, acting_user=carol, users=[maria])
    services.respond(session, acting_user=maria, accept=True)
    services.take_attendance(move_to_past(session), acting_user=alice, present={maria.pk: True})
    rows = api(carol).get("/training/report", {"days": 30}).json()
    found = {row["organization"]: (row["tickets"], row["people_trained"]) for row in rows}
    assert found == {"Acme": (2, 1), "Globex": (1, 0)}
    assert rows[0]["organization"] == "Acme"
    assert api(alice).get("/training/report").status_code == 403
    assert api(carol).get("/training/report", {"days": 0}).status_code == 422


def test_the_session_list_costs_the_same_queries_for_many_sessions(
    api, make_session, carol, maria, acme, django_assert_max_num_queries
):
    for _ in range(6):
        services.invite(make_session(organizations=[acme]), acting_user=carol, users=[maria])
    as_maria, as_carol = api(maria), api(carol)  # signing in is not the list's cost
    with django_assert_max_num_queries(6):
        rows = as_maria.get("/training/sessions").json()
    assert len(rows) == 6 and {row["my_status"] for row in rows} == {"invited"}
    with django_assert_max_num_queries(6):
        assert len(as_carol.get("/training/sessions").json()) == 6
