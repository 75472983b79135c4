"""At intake: the same requester's near-identical ticket is flagged with a one-click
merge; a burst of similar tickets becomes a probable major incident."""

from __future__ import annotations

from datetime import timedelta

import pytest

from soporte.lib.errors import Conflict, PermissionDenied
from soporte.mail.models import OutboundMail
from soporte.problems.models import Problem
from soporte.tickets import services as tickets
from soporte.tickets.models import EventKind, Status, Ticket, TicketEvent
from soporte.triage import services
from soporte.triage.models import (
    DuplicateFlag,
    DuplicateStatus,
    Incident,
    IncidentStatus,
    IncidentTicket,
)
from tests.conftest import make_user

OUTAGE = "The email server is down, nobody can send email"


@pytest.fixture
def open_as(committed):
    def make(user, subject=OUTAGE, body="", **overrides):
        with committed():
            ticket = tickets.open_ticket(
                acting_user=user, subject=subject, body=body or f"{subject}.", **overrides
            )
        ticket.refresh_from_db()
        return ticket

    return make


# -- duplicates --------------------------------------------------------------------------


def test_the_same_requester_writing_the_same_thing_again_is_flagged(maria, open_as):
    first = open_as(maria, "Printer on floor 2 jams", "It jams on every page since Monday.")
    again = open_as(maria, "Printer on floor 2 jams!", "It jams on every page since monday")
    flag = DuplicateFlag.objects.get(ticket=again)
    assert flag.original == first and flag.similarity >= 0.8
    event = TicketEvent.objects.get(ticket=again, kind=EventKind.DUPLICATE_FLAGGED)
    assert event.data["original"] == first.number
    assert not DuplicateFlag.objects.filter(ticket=first).exists()


def test_other_words_or_another_requester_are_not_duplicates(maria, marco, open_as):
    open_as(maria, "Printer on floor 2 jams", "It jams on every page since Monday.")
    other_words = open_as(maria, "New keyboard please", "My keyboard lost two keys.")
    other_person = open_as(marco, "Printer on floor 2 jams", "It jams on every page since Monday.")
    assert not DuplicateFlag.objects.filter(ticket__in=[other_words, other_person]).exists()


def test_a_ticket_older_than_the_window_is_not_an_original(maria, open_as, settings_row):
    first = open_as(maria, "Printer on floor 2 jams", "It jams on every page.")
    Ticket.objects.filter(pk=first.pk).update(
        created_at=first.created_at - timedelta(hours=settings_row.duplicate_hours + 1)
    )
    again = open_as(maria, "Printer on floor 2 jams", "It jams on every page.")
    assert not DuplicateFlag.objects.filter(ticket=again).exists()


@pytest.fixture
def flagged(maria, alice, teams, open_as):
    first = open_as(maria, "Printer on floor 2 jams", "It jams on every page.")
    again = open_as(maria, "Printer on floor 2 jams", "It jams on every page!")
    assert DuplicateFlag.objects.filter(ticket=again).exists()
    return first, again


def test_an_agent_merges_a_flagged_duplicate_in_one_step(flagged, alice):
    first, again = flagged
    into = services.merge_duplicate(again, acting_user=alice)
    again.refresh_from_db()
    assert into == first and again.merged_into == first and again.status == Status.CLOSED
    assert DuplicateFlag.objects.get(ticket=again).status == DuplicateStatus.MERGED
    with pytest.raises(Conflict):
        services.merge_duplicate(again, acting_user=alice)


def test_a_dismissed_flag_stays_dismissed_and_requesters_cannot_merge(flagged, alice, maria):
    _first, again = flagged
    with pytest.raises(PermissionDenied):
        services.merge_duplicate(again, acting_user=maria)
    services.dismiss_duplicate(again, acting_user=alice)
    assert DuplicateFlag.objects.get(ticket=again).status == DuplicateStatus.DISMISSED
    again.refresh_from_db()
    assert again.merged_into is None


# -- storms ------------------------------------------------------------------------------


@pytest.fixture
def requesters(acme):
    return [make_user(f"user{n}", organization=acme) for n in range(6)]


@pytest.fixture
def small_storms(settings_row):
    settings_row.storm_size = 3
    settings_row.save()
    return settings_row


WORDINGS = [
    "The email server is down, nobody can send email",
    "Email server down? I cannot send email",
    "Nobody in sales can send email, is the email server down",
    "email server down again, can't send email",
]


def test_similar_tickets_in_a_burst_open_a_probable_major_incident(
    requesters, small_storms, open_as
):
    opened = [
        open_as(person, wording) for person, wording in zip(requesters, WORDINGS[:2], strict=False)
    ]
    assert not Incident.objects.exists()
    opened.append(open_as(requesters[2], WORDINGS[2]))
    incident = Incident.objects.get()
    assert (incident.reason, incident.status, incident.ticket_count) == ("text", "open", 3)
    assert set(IncidentTicket.objects.values_list("ticket_id", flat=True)) == {t.pk for t in opened}
    for ticket in opened:
        assert TicketEvent.objects.filter(ticket=ticket, kind=EventKind.INCIDENT_LINKED).exists()
    # A problem record is opened for it, linked to its tickets.
    problem = Problem.objects.get(pk=incident.problem_id)
    assert set(problem.tickets.all()) == set(opened)
    # The next matching ticket joins it; an unrelated one does not.
    later = open_as(requesters[3], WORDINGS[3])
    other = open_as(requesters[4], "Need a new mouse", "The wheel is broken.")
    incident.refresh_from_db()
    assert incident.ticket_count == 4
    assert IncidentTicket.objects.filter(ticket=later, incident=incident).exists()
    assert not IncidentTicket.objects.filter(ticket=other).exists()
    assert set(problem.tickets.all()) == {*opened, later}


def test_a_ticket_merged_away_does_not_count_towards_a_storm(requesters, small_storms, open_as):
    first = open_as(requesters[0], WORDINGS[0])
    second = open_as(requesters[1], WORDINGS[1])
    Ticket.objects.filter(pk=second.pk).update(merged_into=first, status=Status.CLOSED)
    open_as(requesters[2], WORDINGS[2])
    assert not Incident.objects.exists()  # two tickets, not three
    open_as(requesters[3], WORDINGS[3])
    assert set(Incident.objects.get().links.values_list("ticket_id", flat=True)) == (
        set(Ticket.objects.filter(merged_into__isnull=True).values_list("pk", flat=True))
    )


def test_the_team_on_duty_is_told_once(requesters, small_storms, open_as, teams, alice):
    for person, wording in zip(requesters, WORDINGS, strict=False):
        open_as(alice, wording, requester=person, team=teams["L1"])
    alerts = OutboundMail.objects.filter(subject__contains="Probable major incident")
    assert alerts.count() == 1
    assert alice.email in str(alerts.get().to)


def test_new_matching_tickets_get_the_status_message_when_asked(
    requesters, small_storms, open_as, carol
):
    for person, wording in zip(requesters, WORDINGS[:3], strict=False):
        open_as(person, wording)
    incident = Incident.objects.get()
    small_storms.storm_auto_reply = True
    small_storms.save()
    services.update_incident(
        incident, acting_user=carol, status_message="We know; the mail server is being fixed."
    )
    later = open_as(requesters[3], WORDINGS[3])
    replies = later.messages.filter(author__username="soporte-system")
    assert [m.body_text for m in replies] == ["We know; the mail server is being fixed."]


def test_a_closed_incident_takes_no_more_tickets(requesters, small_storms, open_as, carol, alice):
    for person, wording in zip(requesters, WORDINGS[:3], strict=False):
        open_as(person, wording)
    incident = Incident.objects.get()
    with pytest.raises(PermissionDenied):
        services.update_incident(incident, acting_user=alice, status="closed")
    services.update_incident(incident, acting_user=carol, status=IncidentStatus.CLOSED)
    later = open_as(requesters[3], WORDINGS[3])
    assert not IncidentTicket.objects.filter(ticket=later, incident=incident).exists()


def test_tickets_about_one_asset_are_a_storm_whatever_their_words(
    requesters, small_storms, committed, ada, alice
):
    from soporte.assets import services as assets
    from soporte.assets.defaults import ensure_default_types
    from soporte.assets.models import AssetType

    ensure_default_types()
    switch = assets.create_asset(
        acting_user=ada, tag="SW-1", type=AssetType.objects.get(name="Desktop")
    )
    words = ["Slow network", "Printer offline", "Cannot open the intranet"]
    for person, subject in zip(requesters, words, strict=False):
        with committed():
            ticket = tickets.open_ticket(acting_user=person, subject=subject, body=subject)
            assets.link_ticket(switch, ticket, acting_user=alice)
    incident = Incident.objects.get()
    assert (incident.reason, incident.reason_key, incident.ticket_count) == (
        "asset",
        str(switch.pk),
        3,
    )


def test_a_storm_is_linked_in_one_batch_and_a_rerun_adds_nothing(requesters, small_storms, open_as):
    from soporte.problems.models import ProblemTicket
    from soporte.tickets.signals import change_batch_ending

    opened = [open_as(p, w) for p, w in zip(requesters, WORDINGS[:2], strict=False)]
    batches = []

    def note(sender, *, batch, **kwargs):
        batches.append(batch)

    change_batch_ending.connect(note, dispatch_uid="test.storm_batches")
    try:
        opened.append(open_as(requesters[2], WORDINGS[2]))
    finally:
        change_batch_ending.disconnect(dispatch_uid="test.storm_batches")
    # The incident's and the problem's links of all three tickets: one batch of changes.
    assert len(batches) == 1
    ids = [t.pk for t in opened]

    def trail():
        return sorted(
            TicketEvent.objects.filter(
                ticket__in=ids, kind__in=[EventKind.INCIDENT_LINKED, EventKind.PROBLEM_LINKED]
            ).values_list("ticket_id", "kind")
        )

    expected = sorted((pk, kind) for pk in ids for kind in ("incident_linked", "problem_linked"))
    assert trail() == expected
    services.triage_tickets(ids)
    assert trail() == expected
    assert IncidentTicket.objects.count() == ProblemTicket.objects.count() == 3
