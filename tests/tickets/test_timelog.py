"""Time tracking: durations as people type them, entries and their owners, the one
running timer per agent per ticket, the filtered list, the API and the pages.

Alice works the Service Desk ticket; Carol supervises; Bob (L2) does not see it; Maria
requested it and never sees or logs time."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from soporte.lib.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from soporte.tickets import timelog
from soporte.tickets.models import EventKind, Message, RunningTimer, TicketEvent, TimeEntry


@pytest.fixture
def l1_ticket(make_ticket, alice, maria, teams):
    return make_ticket(acting_user=alice, requester=maria, team=teams["L1"])


def _time_events(ticket):
    return list(TicketEvent.objects.filter(ticket=ticket, kind=EventKind.TIME_LOGGED))


# -- durations ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "seconds"),
    [
        ("25m", 1500),
        ("1h 30m", 5400),
        ("1h30m", 5400),
        ("1h30", 5400),
        ("1:30", 5400),
        ("0:45:30", 2730),
        ("90", 5400),
        ("1.5h", 5400),
        ("1,5 h", 5400),
        ("2 hours", 7200),
        ("45 min", 2700),
        ("1 hora 15 minutos", 4500),
        ("1h, 15m", 4500),
        ("  40S ", 40),
    ],
)
def test_durations_are_read_as_people_type_them(typed, seconds):
    assert timelog.parse_duration(typed) == seconds


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("", "Enter the time spent"),
        ("abc", "is not a duration"),
        ("5 parsecs", "is not a duration"),
        ("-5m", "is not a duration"),
        ("1:75", "is not a duration"),
        ("10m and then some", "is not a duration"),
        ("1h 30x", "is not a duration"),
        ("0m", "more than zero"),
        ("25h", "at most 24 hours"),
    ],
)
def test_a_bad_duration_is_refused_with_a_clear_message(typed, says):
    with pytest.raises(InvalidInput) as refused:
        timelog.parse_duration(typed)
    assert says in refused.value.message


@given(st.integers(min_value=1, max_value=1440))
def test_a_formatted_duration_reads_back_the_same(minutes):
    assert timelog.parse_duration(timelog.format_duration(minutes * 60)) == minutes * 60


# -- entries ------------------------------------------------------------------------


def test_an_agent_logs_time_and_the_history_says_so(l1_ticket, alice):
    version = l1_ticket.version
    entry = timelog.log_time(
        l1_ticket, acting_user=alice, seconds=1500, note="Drivers", billable=True
    )
    assert (entry.agent, entry.seconds, entry.note) == (alice, 1500, "Drivers")
    assert entry.billable
    [event] = _time_events(l1_ticket)
    assert event.actor == alice and event.data["summary"] == "25m logged"
    l1_ticket.refresh_from_db()
    assert l1_ticket.version == version  # a reply in progress does not go stale


def test_requesters_and_agents_outside_the_queue_cannot_log_time(l1_ticket, maria, bob):
    with pytest.raises(PermissionDenied):
        timelog.log_time(l1_ticket, acting_user=maria, seconds=60)
    with pytest.raises(NotFound):
        timelog.log_time(l1_ticket, acting_user=bob, seconds=60)
    assert not TimeEntry.objects.exists()


def test_an_agent_changes_and_deletes_only_her_own_entries(l1_ticket, alice, carol):
    hers = timelog.log_time(l1_ticket, acting_user=alice, seconds=600)
    carols = timelog.log_time(l1_ticket, acting_user=carol, seconds=900)
    timelog.update_entry(hers, acting_user=alice, seconds=1200, note="More", billable=True)
    hers.refresh_from_db()
    assert (hers.seconds, hers.note, hers.billable) == (1200, "More", True)
    with pytest.raises(PermissionDenied):
        timelog.update_entry(carols, acting_user=alice, seconds=60)
    with pytest.raises(PermissionDenied):
        timelog.delete_entry(carols, acting_user=alice)
    carols.refresh_from_db()
    assert carols.seconds == 900
    timelog.delete_entry(hers, acting_user=alice)
    assert list(TimeEntry.objects.all()) == [carols]
    summaries = [event.data["summary"] for event in _time_events(l1_ticket)]
    assert "time entry changed: 10m → 20m" in summaries
    assert "time entry of 20m deleted" in summaries


def test_a_supervisor_changes_and_deletes_anyones_entries(l1_ticket, alice, carol):
    entry = timelog.log_time(l1_ticket, acting_user=alice, seconds=600)
    timelog.update_entry(entry, acting_user=carol, billable=True)
    entry.refresh_from_db()
    assert entry.billable and entry.seconds == 600
    timelog.delete_entry(entry, acting_user=carol)
    assert not TimeEntry.objects.exists()


def test_an_entry_is_at_most_a_day(l1_ticket, alice):
    with pytest.raises(InvalidInput):
        timelog.log_time(l1_ticket, acting_user=alice, seconds=86_401)
    with pytest.raises(InvalidInput):
        timelog.log_time(l1_ticket, acting_user=alice, seconds=0)


# -- timers -------------------------------------------------------------------------


def test_one_timer_runs_per_agent_per_ticket(l1_ticket, make_ticket, alice, carol, teams):
    timelog.start_timer(l1_ticket, acting_user=alice)
    with pytest.raises(Conflict):
        timelog.start_timer(l1_ticket, acting_user=alice)
    timelog.start_timer(l1_ticket, acting_user=carol)  # her own timer
    other = make_ticket(acting_user=alice, team=teams["L1"])
    timelog.start_timer(other, acting_user=alice)  # another ticket
    assert RunningTimer.objects.filter(agent=alice).count() == 2
    assert RunningTimer.objects.count() == 3


def test_stopping_the_timer_logs_the_time_since_it_started(l1_ticket, alice):
    timer = timelog.start_timer(l1_ticket, acting_user=alice, note="Remote session")
    started = timezone.now() - timedelta(minutes=25)
    RunningTimer.objects.filter(pk=timer.pk).update(started_at=started)
    entry = timelog.stop_timer(l1_ticket, acting_user=alice, billable=True)
    assert 1500 <= entry.seconds <= 1510
    assert entry.started_at == started and entry.note == "Remote session" and entry.billable
    assert timelog.running_timer(l1_ticket, alice) is None
    with pytest.raises(Conflict):
        timelog.stop_timer(l1_ticket, acting_user=alice)


def test_a_timer_forgotten_for_days_logs_a_day_to_correct(l1_ticket, alice):
    timelog.start_timer(l1_ticket, acting_user=alice)
    RunningTimer.objects.update(started_at=timezone.now() - timedelta(days=3))
    assert timelog.stop_timer(l1_ticket, acting_user=alice).seconds == 86_400


def test_a_discarded_timer_logs_nothing(l1_ticket, alice):
    timelog.start_timer(l1_ticket, acting_user=alice)
    timelog.discard_timer(l1_ticket, acting_user=alice)
    assert not RunningTimer.objects.exists() and not TimeEntry.objects.exists()
    with pytest.raises(Conflict):
        timelog.discard_timer(l1_ticket, acting_user=alice)


def test_requesters_cannot_start_timers(l1_ticket, maria, bob):
    with pytest.raises(PermissionDenied):
        timelog.start_timer(l1_ticket, acting_user=maria)
    with pytest.raises(NotFound):
        timelog.start_timer(l1_ticket, acting_user=bob)


# -- the filtered list --------------------------------------------------------------


def test_entries_filter_by_agent_organization_dates_and_billable(
    make_ticket, alice, carol, bob, teams, maria, pedro
):
    acme = make_ticket(acting_user=alice, requester=maria, team=teams["L1"])
    globex = make_ticket(acting_user=pedro, requester=pedro)  # no team: every agent sees it
    a1 = timelog.log_time(acme, acting_user=alice, seconds=60, billable=True)
    a2 = timelog.log_time(globex, acting_user=alice, seconds=120)
    c1 = timelog.log_time(acme, acting_user=carol, seconds=180, billable=True)
    TimeEntry.objects.filter(pk=a2.pk).update(created_at=timezone.now() - timedelta(days=10))

    def ids(user, **filters):
        return {e.pk for e in timelog.visible_entries(user, timelog.EntryFilter(**filters))}

    assert ids(carol) == {a1.pk, a2.pk, c1.pk}
    assert ids(carol, agent=alice.pk) == {a1.pk, a2.pk}
    assert ids(carol, organization=acme.organization_id) == {a1.pk, c1.pk}
    assert ids(carol, billable=False) == {a2.pk}
    today = timezone.localdate()
    assert ids(carol, since=today - timedelta(days=1)) == {a1.pk, c1.pk}
    assert ids(carol, until=today - timedelta(days=5)) == {a2.pk}
    assert ids(carol, ticket=globex.number) == {a2.pk}
    # Bob (L2) sees only entries on tickets he sees: the one no team owns.
    assert ids(bob) == {a2.pk}
    with pytest.raises(InvalidInput):
        ids(carol, since=today, until=today - timedelta(days=1))
    with pytest.raises(PermissionDenied):
        ids(pedro)


# -- the API ------------------------------------------------------------------------


def test_the_api_logs_lists_changes_and_deletes_time(api, l1_ticket, alice):
    client = api(alice)
    path = f"/tickets/{l1_ticket.number}/time"
    created = client.post(path, {"duration": "1h 30m", "note": "Cabling", "billable": True})
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["seconds"], body["duration"], body["ticket"]) == (5400, "1h 30m", l1_ticket.number)
    assert client.post(path, {"seconds": 60}).status_code == 201
    listed = client.get(path).json()
    assert [entry["seconds"] for entry in listed] == [5400, 60]
    changed = client.patch(f"{path}/{body['id']}", {"duration": "45m", "billable": False})
    assert changed.status_code == 200 and changed.json()["seconds"] == 2700
    assert not changed.json()["billable"] and changed.json()["note"] == "Cabling"
    assert client.delete(f"{path}/{body['id']}").status_code == 204
    assert client.get(f"{path}").json()[0]["seconds"] == 60


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ({"duration": "soon"}, "not a duration"),
        ({"duration": "30m", "seconds": 60}, "not both"),
        ({}, "Give the time spent"),
        ({"duration": "48h"}, "at most 24 hours"),
    ],
)
def test_the_api_refuses_bad_time_with_a_clear_422(api, l1_ticket, alice, data, says):
    response = api(alice).post(f"/tickets/{l1_ticket.number}/time", data)
    assert response.status_code == 422
    assert says in str(response.json()["detail"])


def test_the_api_starts_and_stops_the_timer(api, l1_ticket, alice):
    client = api(alice)
    path = f"/tickets/{l1_ticket.number}/timer"
    assert client.post(path, {"note": "On the phone"}).status_code == 201
    again = client.post(path, {})
    assert again.status_code == 409 and "already running" in again.json()["detail"]
    stopped = client.post(f"{path}/stop", {"billable": True})
    assert stopped.status_code == 201
    assert stopped.json()["note"] == "On the phone" and stopped.json()["billable"]
    assert client.post(f"{path}/stop", {}).status_code == 409
    assert client.post(path, {}).status_code == 201
    assert client.delete(path).status_code == 204
    assert TimeEntry.objects.count() == 1


def test_the_api_lists_entries_with_filters_and_pages(api, l1_ticket, alice, carol, maria):
    for seconds in (60, 120, 180):
        timelog.log_time(l1_ticket, acting_user=alice, seconds=seconds, billable=seconds > 60)
    timelog.log_time(l1_ticket, acting_user=carol, seconds=240)
    client = api(carol)
    page = client.get("/time", {"agent": alice.pk, "limit": 2}).json()
    assert [e["seconds"] for e in page["items"]] == [180, 120]
    assert page["total_seconds"] == 360
    rest = client.get("/time", {"agent": alice.pk, "limit": 2, "cursor": page["next_cursor"]})
    assert [e["seconds"] for e in rest.json()["items"]] == [60]
    assert rest.json()["next_cursor"] is None
    assert client.get("/time", {"billable": "true"}).json()["total_seconds"] == 300
    for bad in ("x1", "9" * 20, "²"):
        assert client.get("/time", {"cursor": bad}).status_code == 400
    assert client.get("/time", {"until": "9999-12-31"}).status_code == 422
    assert client.get("/time", {"since": "nope"}).status_code == 422
    assert api(maria).get("/time").status_code == 403


# -- pages --------------------------------------------------------------------------


@pytest.fixture
def desk(alice) -> Client:
    client = Client()
    client.force_login(alice)
    return client


def test_the_composer_logs_time_with_the_message(desk, l1_ticket):
    response = desk.post(
        f"/desk/tickets/{l1_ticket.number}/compose/",
        {"kind": "note", "body": "Swapped the fuser.", "version": l1_ticket.version,
         "time_spent": "1h 15m", "time_billable": "1"},
    )  # fmt: skip
    assert response.status_code == 302
    entry = TimeEntry.objects.get()
    assert entry.seconds == 4500 and entry.billable
    assert entry.message == Message.objects.get(body_text="Swapped the fuser.")


def test_bad_time_in_the_composer_keeps_the_text_and_posts_nothing(desk, l1_ticket):
    response = desk.post(
        f"/desk/tickets/{l1_ticket.number}/compose/",
        {"kind": "reply", "body": "On my way.", "version": l1_ticket.version,
         "time_spent": "a while"},
    )  # fmt: skip
    assert response.status_code == 422
    assert "is not a duration" in response.content.decode()
    assert "On my way." in response.content.decode()  # the typed text is kept
    assert not Message.objects.filter(body_text="On my way.").exists()
    assert not TimeEntry.objects.exists()


def test_the_ticket_page_runs_the_timer_and_the_home_page_shows_it(desk, l1_ticket, alice):
    number = l1_ticket.number
    assert desk.post(f"/desk/tickets/{number}/timer/start/").status_code == 302
    page = desk.get(f"/desk/tickets/{number}/").content.decode()
    assert "Your timer is running" in page and f"/desk/tickets/{number}/timer/stop/" in page
    home = desk.get("/desk/").content.decode()
    assert "Your running timers" in home and f"#{number}" in home
    again = desk.post(f"/desk/tickets/{number}/timer/start/")
    assert again.status_code == 409 and "already running" in again.content.decode()
    assert desk.post(f"/desk/tickets/{number}/timer/stop/", {"note": "Done"}).status_code == 302
    assert TimeEntry.objects.get().note == "Done"
    assert "Your running timers" not in desk.get("/desk/").content.decode()


def test_the_time_box_logs_edits_and_deletes(desk, l1_ticket, alice, carol):
    number = l1_ticket.number
    assert desk.post(f"/desk/tickets/{number}/time/", {"duration": "20m"}).status_code == 302
    entry = TimeEntry.objects.get()
    bad = desk.post(f"/desk/tickets/{number}/time/{entry.pk}/", {"duration": "x"})
    assert bad.status_code == 422
    edited = desk.post(f"/desk/tickets/{number}/time/{entry.pk}/", {"duration": "1:00"})
    assert edited.status_code == 302
    entry.refresh_from_db()
    assert entry.seconds == 3600
    page = desk.get(f"/desk/tickets/{number}/").content.decode()
    assert "Total 1h (0s billable)" in page
    carols = timelog.log_time(l1_ticket, acting_user=carol, seconds=60)
    refused = desk.post(f"/desk/tickets/{number}/time/{carols.pk}/delete/")
    assert refused.status_code == 403
    assert desk.post(f"/desk/tickets/{number}/time/{entry.pk}/delete/").status_code == 302
    assert list(TimeEntry.objects.all()) == [carols]


def test_requesters_and_outsiders_get_no_time_pages(l1_ticket, maria, bob):
    for user, status in ((maria, 403), (bob, 404)):
        client = Client()
        client.force_login(user)
        response = client.post(f"/desk/tickets/{l1_ticket.number}/time/", {"duration": "5m"})
        assert response.status_code == status
    assert not TimeEntry.objects.exists()


def test_the_ticket_page_costs_the_same_queries_with_many_entries(
    desk, l1_ticket, alice, carol, django_assert_max_num_queries
):
    timelog.log_time(l1_ticket, acting_user=alice, seconds=60)
    with django_assert_max_num_queries(60) as few:
        desk.get(f"/desk/tickets/{l1_ticket.number}/")
    for n in range(20):
        timelog.log_time(l1_ticket, acting_user=carol if n % 2 else alice, seconds=60 + n)
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = desk.get(f"/desk/tickets/{l1_ticket.number}/")
    assert page.content.decode().count('id="time-entry-') == 21
