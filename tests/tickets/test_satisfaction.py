"""Satisfaction surveys: the link in the resolved mail, the page it opens (a GET records
nothing, the form posts), tokens that expire or were tampered with, one survey per
resolution, and what a low rating does.

Maria requested the ticket; Alice resolved it; Carol supervises; Marco (Acme) and
Pedro (Globex) may not rate it."""

from __future__ import annotations

import re
import time

import pytest
from django.core import mail, signing
from django.test import Client

from soporte.tickets import satisfaction, services
from soporte.tickets.models import EventKind, SatisfactionRating, Status, TicketEvent

LINK = re.compile(r"https?://[^\s\"<>]+/rate/([^/\s\"<>]+)/")


@pytest.fixture
def resolved(make_ticket, alice, maria, teams):
    ticket = make_ticket(acting_user=alice, requester=maria, team=teams["L1"], assignee=alice)
    services.resolve(ticket, acting_user=alice, resolution="Replaced the toner.")
    return ticket


def _path(ticket) -> str:
    return f"/rate/{satisfaction.make_token(ticket)}/"


def _rated_events(ticket):
    return list(TicketEvent.objects.filter(ticket=ticket, kind=EventKind.RATED))


# -- the link -----------------------------------------------------------------------


def test_the_resolved_mail_carries_a_link_that_opens_the_survey(
    committed, make_ticket, alice, maria, teams
):
    ticket = make_ticket(acting_user=alice, requester=maria, team=teams["L1"])
    mail.outbox.clear()
    with committed():
        services.resolve(ticket, acting_user=alice, resolution="Replaced the toner.")
    [sent] = [m for m in mail.outbox if m.to == ["maria@example.org"]]
    token = LINK.search(sent.body).group(1)
    assert token in sent.alternatives[0][0]  # the HTML part links it too
    page = Client().get(f"/rate/{token}/")  # no sign-in needed
    assert page.status_code == 200
    assert ticket.subject in page.content.decode()
    assert page["Referrer-Policy"] == "same-origin"


def test_a_ticket_reopened_before_the_mail_leaves_gets_no_link(resolved, maria):
    services.reopen(resolved, acting_user=maria)
    assert satisfaction.survey_url(resolved) is None


def test_surveys_can_be_turned_off(resolved, settings):
    settings.SATISFACTION_LINK_DAYS = 0
    assert satisfaction.survey_url(resolved) is None


# -- rating -------------------------------------------------------------------------


def test_opening_the_link_records_nothing_posting_the_form_does(resolved, maria):
    client = Client(enforce_csrf_checks=True)
    page = client.get(_path(resolved))
    assert page.status_code == 200 and "How did we do?" in page.content.decode()
    assert not SatisfactionRating.objects.exists()  # a mail scanner's GET rates nothing
    csrf = client.cookies["csrftoken"].value
    posted = client.post(
        _path(resolved), {"rating": "4", "comment": "Quick!", "csrfmiddlewaretoken": csrf}
    )
    assert posted.status_code == 200 and "Thank you" in posted.content.decode()
    rating = SatisfactionRating.objects.get()
    assert (rating.ticket, rating.rating, rating.comment) == (resolved, 4, "Quick!")
    assert rating.agent_id == resolved.assignee_id and rating.team_id == resolved.team_id
    [event] = _rated_events(resolved)
    assert event.actor == maria and event.data["summary"] == "rated 4/5"


def test_a_post_without_the_csrf_token_is_refused(resolved):
    response = Client(enforce_csrf_checks=True).post(_path(resolved), {"rating": "5"})
    assert response.status_code == 403
    assert not SatisfactionRating.objects.exists()


def test_rating_again_changes_the_rating(resolved):
    client = Client()
    client.post(_path(resolved), {"rating": "2"})
    client.post(_path(resolved), {"rating": "5", "comment": "Actually fine"})
    rating = SatisfactionRating.objects.get()
    assert (rating.rating, rating.comment) == (5, "Actually fine")
    assert _rated_events(resolved)[-1].data["summary"] == "rating changed from 2/5 to 5/5"
    page = client.get(_path(resolved)).content.decode()
    assert re.search(r'value="5"[^>]*checked', page)  # the form shows the rating given


@pytest.mark.parametrize("value", ["0", "6", "five", ""])
def test_a_rating_outside_one_to_five_is_refused(resolved, value):
    response = Client().post(_path(resolved), {"rating": value})
    assert response.status_code == 422
    assert not SatisfactionRating.objects.exists()


def test_a_reopened_and_resolved_again_ticket_gets_a_fresh_survey(resolved, alice, maria):
    first = _path(resolved)
    Client().post(first, {"rating": "3"})
    services.reopen(resolved, acting_user=maria, reason="Jams again")
    closed = Client().get(first)
    assert closed.status_code == 410 and "was reopened" in closed.content.decode()
    assert Client().post(first, {"rating": "1"}).status_code == 410
    services.resolve(resolved, acting_user=alice, resolution="New drum.")
    assert Client().get(first).status_code == 410  # the old survey stays closed
    second = _path(resolved)
    assert second != first
    assert Client().post(second, {"rating": "5"}).status_code == 200
    assert sorted(SatisfactionRating.objects.values_list("rating", flat=True)) == [3, 5]


# -- bad links ----------------------------------------------------------------------


def test_a_tampered_link_is_a_clear_400(resolved):
    token = satisfaction.make_token(resolved)
    other_ticket = signing.loads(token, salt=satisfaction.SALT)
    other_ticket["t"] += 1
    forged = signing.dumps(other_ticket, salt="not-our-salt")
    for bad in (token[:-3] + "abc", forged, "nonsense"):
        response = Client().get(f"/rate/{bad}/")
        assert response.status_code == 400
        assert "not valid" in response.content.decode()
    assert Client().post(f"/rate/{token[:-3]}xyz/", {"rating": "5"}).status_code == 400
    assert not SatisfactionRating.objects.exists()


def test_an_expired_link_is_a_clear_410(resolved, settings, monkeypatch):
    settings.SATISFACTION_LINK_DAYS = 7
    real = time.time()
    monkeypatch.setattr(time, "time", lambda: real - 8 * 86_400)
    token = satisfaction.make_token(resolved)
    monkeypatch.setattr(time, "time", lambda: real)
    response = Client().get(f"/rate/{token}/")
    assert response.status_code == 410 and "expired" in response.content.decode()
    assert Client().post(f"/rate/{token}/", {"rating": "5"}).status_code == 410
    assert not SatisfactionRating.objects.exists()


# -- low ratings --------------------------------------------------------------------


def test_a_low_rating_alerts_the_supervisors_once(resolved, carol, committed):
    mail.outbox.clear()
    with committed():
        Client().post(_path(resolved), {"rating": "1", "comment": "Nobody called back"})
    [alert] = [m for m in mail.outbox if m.to == ["carol@example.org"]]
    assert f"#{resolved.number}" in alert.subject and "1/5" in alert.subject
    assert "Nobody called back" in alert.body
    rating = SatisfactionRating.objects.get()
    assert rating.low_action == "alert" and rating.alert_sent_at is not None
    assert any(e.data.get("alert") for e in _rated_events(resolved))
    resolved.refresh_from_db()
    assert resolved.status == Status.RESOLVED
    mail.outbox.clear()
    with committed():
        Client().post(_path(resolved), {"rating": "2"})  # still low: no second alert
    assert [m for m in mail.outbox if m.to == ["carol@example.org"]] == []


def test_a_good_rating_alerts_nobody(resolved, carol, committed):
    mail.outbox.clear()
    with committed():
        Client().post(_path(resolved), {"rating": "3"})
    assert mail.outbox == []
    assert SatisfactionRating.objects.get().low_action == ""


def test_a_low_rating_can_reopen_the_ticket_instead(resolved, maria, settings, carol):
    settings.SATISFACTION_LOW_RATING_ACTION = "reopen"
    Client().post(_path(resolved), {"rating": "2"})
    resolved.refresh_from_db()
    assert resolved.status == Status.OPEN
    reopened = TicketEvent.objects.filter(
        ticket=resolved, kind=EventKind.STATUS_CHANGED, new=Status.OPEN
    ).get()
    assert reopened.actor == maria and "2/5" in reopened.data["reason"]
    assert SatisfactionRating.objects.get().low_action == "reopen"


def test_a_closed_ticket_is_not_reopened_by_a_rating_the_supervisors_hear_instead(
    resolved, alice, carol, settings, committed
):
    settings.SATISFACTION_LOW_RATING_ACTION = "reopen"
    services.close(resolved, acting_user=alice)
    mail.outbox.clear()
    with committed():
        assert Client().post(_path(resolved), {"rating": "1"}).status_code == 200
    resolved.refresh_from_db()
    assert resolved.status == Status.CLOSED
    assert SatisfactionRating.objects.get().low_action == "alert"
    assert [m.to for m in mail.outbox] == [["carol@example.org"]]


def test_the_low_rating_threshold_and_no_action_are_settings(resolved, settings, carol, committed):
    settings.SATISFACTION_LOW_RATING = 3
    settings.SATISFACTION_LOW_RATING_ACTION = "none"
    with committed():
        Client().post(_path(resolved), {"rating": "3"})
    assert SatisfactionRating.objects.get().low_action == ""
    settings.SATISFACTION_LOW_RATING_ACTION = "alert"
    with committed():
        Client().post(_path(resolved), {"rating": "3"})
    assert SatisfactionRating.objects.get().low_action == "alert"


# -- who sees and rates what --------------------------------------------------------


def _signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_requester_rates_from_the_portal_and_sees_her_rating(resolved, maria):
    client = _signed_in(maria)
    page = client.get(f"/portal/tickets/{resolved.number}/").content.decode()
    assert "Tell us how we did" in page
    go = client.get(f"/portal/tickets/{resolved.number}/rate/")
    assert go.status_code == 302 and go["Location"].startswith("/rate/")
    client.post(go["Location"], {"rating": "4", "comment": "Thanks <b>team</b>"})
    page = client.get(f"/portal/tickets/{resolved.number}/").content.decode()
    assert "You rated this resolution 4/5." in page
    assert "Thanks &lt;b&gt;team&lt;/b&gt;" in page  # escaped, never markup


def test_a_requester_cannot_rate_another_organizations_ticket(resolved, pedro, marco):
    for outsider in (pedro, marco):  # Marco is at Acme but not trusted with its tickets
        client = _signed_in(outsider)
        assert client.get(f"/portal/tickets/{resolved.number}/rate/").status_code == 404
        assert client.get(f"/portal/tickets/{resolved.number}/").status_code == 404
    assert not SatisfactionRating.objects.exists()


def test_a_colleague_who_sees_the_ticket_still_cannot_rate_it(resolved, marco):
    marco.sees_organization_tickets = True
    marco.save(update_fields=["sees_organization_tickets"])
    client = _signed_in(marco)
    assert client.get(f"/portal/tickets/{resolved.number}/").status_code == 200
    assert client.get(f"/portal/tickets/{resolved.number}/rate/").status_code == 403


def test_agents_see_the_rating_on_the_ticket_page_and_the_api(resolved, alice, bob, api):
    Client().post(_path(resolved), {"rating": "2", "comment": "Slow"})
    page = _signed_in(alice).get(f"/desk/tickets/{resolved.number}/").content.decode()
    assert "Satisfaction" in page and "2/5" in page and "Slow" in page
    body = api(alice).get(f"/tickets/{resolved.number}/rating").json()
    assert (body["rating"], body["comment"], body["ticket"]) == (2, "Slow", resolved.number)
    assert api(bob).get(f"/tickets/{resolved.number}/rating").status_code == 404


def test_the_api_says_404_when_there_is_no_rating(resolved, alice, api):
    response = api(alice).get(f"/tickets/{resolved.number}/rating")
    assert response.status_code == 404 and "no rating" in response.json()["detail"]
