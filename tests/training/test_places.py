"""Capacity and the waiting list: first come, first served, promoted when someone with
a place declines; answers only while the session is ahead and not cancelled."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from soporte.accounts.models import Role
from soporte.lib.errors import Conflict, InvalidInput, NotFound
from soporte.training import services
from soporte.training.models import Attendee, AttendeeStatus
from tests.conftest import make_user


def _status(session, user) -> str:
    return Attendee.objects.get(session=session, user=user).status


@pytest.fixture
def people(acme):
    return [make_user(f"person{i}", organization=acme) for i in range(4)]


def test_acceptances_past_capacity_join_the_waiting_list_in_order(make_session, carol, people):
    session = make_session(capacity=2)
    services.invite(session, acting_user=carol, users=people)
    for person in people:
        services.respond(session, acting_user=person, accept=True)
    assert [_status(session, p) for p in people] == ["accepted", "accepted", "waiting", "waiting"]
    assert session.attendees.filter(status="accepted").count() == session.capacity


def test_a_decline_promotes_the_first_person_waiting_with_a_mail(
    make_session, carol, people, committed
):
    session = make_session(capacity=2)
    services.invite(session, acting_user=carol, users=people)
    for person in people:
        services.respond(session, acting_user=person, accept=True)
    mail.outbox.clear()
    with committed():
        services.respond(session, acting_user=people[0], accept=False)
    assert [_status(session, p) for p in people] == ["declined", "accepted", "accepted", "waiting"]
    [message] = mail.outbox
    assert message.to == [people[2].email]
    assert "A place is yours" in message.subject


def test_a_decline_from_the_waiting_list_promotes_nobody(make_session, carol, people):
    session = make_session(capacity=1)
    services.invite(session, acting_user=carol, users=people[:3])
    for person in people[:3]:
        services.respond(session, acting_user=person, accept=True)
    services.respond(session, acting_user=people[1], accept=False)
    assert [_status(session, p) for p in people[:3]] == ["accepted", "declined", "waiting"]


def test_more_places_promote_the_waiting_list(make_session, carol, people):
    session = make_session(capacity=1)
    services.invite(session, acting_user=carol, users=people[:3])
    for person in people[:3]:
        services.respond(session, acting_user=person, accept=True)
    services.update_session(session, acting_user=carol, capacity=2)
    assert [_status(session, p) for p in people[:3]] == ["accepted", "accepted", "waiting"]


def test_the_capacity_cannot_drop_below_those_accepted(make_session, carol, people):
    session = make_session(capacity=3)
    services.invite(session, acting_user=carol, users=people[:3])
    for person in people[:3]:
        services.respond(session, acting_user=person, accept=True)
    with pytest.raises(Conflict):
        services.update_session(session, acting_user=carol, capacity=2)


def test_answering_twice_keeps_the_place(make_session, carol, people):
    session = make_session(capacity=1)
    services.invite(session, acting_user=carol, users=people[:2])
    services.respond(session, acting_user=people[0], accept=True)
    services.respond(session, acting_user=people[0], accept=True)
    services.respond(session, acting_user=people[1], accept=True)
    assert [_status(session, p) for p in people[:2]] == ["accepted", "waiting"]


def test_no_answers_once_the_session_started_or_was_cancelled(make_session, carol, maria):
    started = make_session(starts_at=timezone.now() - timedelta(minutes=5))
    services.invite(make_session(), acting_user=carol, users=[maria])
    with pytest.raises(Conflict):
        services.invite(started, acting_user=carol, users=[maria])
    cancelled = make_session()
    services.invite(cancelled, acting_user=carol, users=[maria])
    services.cancel_session(cancelled, acting_user=carol)
    with pytest.raises(Conflict):
        services.respond(cancelled, acting_user=maria, accept=True)


def test_a_requester_signs_up_only_for_a_session_open_to_her_organization(
    make_session, maria, pedro, acme
):
    open_one = make_session(organizations=[acme])
    assert services.respond(open_one, acting_user=maria, accept=True).status == "accepted"
    with pytest.raises(NotFound):
        services.respond(open_one, acting_user=pedro, accept=True)


def test_the_signed_link_answers_without_signing_in(session, carol, maria):
    [attendee] = services.invite(session, acting_user=carol, users=[maria])
    services.respond_by_token(services.respond_token(attendee, "decline"))
    assert _status(session, maria) == AttendeeStatus.DECLINED
    services.respond_by_token(services.respond_token(attendee, "accept"))
    assert _status(session, maria) == AttendeeStatus.ACCEPTED
    with pytest.raises(NotFound):
        services.respond_by_token(services.respond_token(attendee, "accept")[:-2] + "xx")


def test_session_input_is_checked(make_session, maria, course, carol, alice):
    with pytest.raises(InvalidInput):
        make_session(capacity=0)
    with pytest.raises(InvalidInput):
        make_session(trainer=maria)
    with pytest.raises(InvalidInput):
        make_session(place="", online_url="")
    with pytest.raises(InvalidInput):
        make_session(online_url="javascript:alert(1)")
    with pytest.raises(InvalidInput):
        services.invite(make_session(), acting_user=carol, users=[])
    agent_without_mail = make_user("nomail", Role.AGENT, email="")
    with pytest.raises(InvalidInput):
        services.invite(make_session(), acting_user=alice, users=[agent_without_mail])


def test_the_demo_schedules_a_session_open_to_acme_with_maria_invited(
    alice, carol, maria, acme, committed
):
    from soporte.training import demo

    with committed():
        demo.load({"people": {"supervisor": carol, "ana": alice, "maria": maria},
                   "orgs": {"acme": acme}})  # fmt: skip
    attendee = Attendee.objects.select_related("session").get(user=maria)
    assert attendee.status == AttendeeStatus.INVITED
    assert list(attendee.session.organizations.all()) == [acme]
    assert [m.to for m in mail.outbox] == [[maria.email]]
