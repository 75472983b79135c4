"""Triage of many new tickets at once (the batched job), and similar tickets found among
many: the batch decides as one ticket at a time would, in a fixed number of queries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from soporte.search.services import index_tickets
from soporte.tickets import services as tickets
from soporte.tickets.models import EventKind, Message, Status, Ticket, TicketEvent
from soporte.tickets.signals import ticket_changed
from soporte.triage import ml, services, synthetic
from soporte.triage.models import DuplicateFlag, Incident, IncidentTicket
from soporte.triage.tasks import triage_ticket
from tests.conftest import make_user


def _bulk_open(rows, requesters, *, start):
    """Tickets written in bulk, at the rows' own times from `start` (the job not run)."""
    made = Ticket.objects.bulk_create(
        Ticket(
            number=800_000 + index,
            subject=row.subject[:250],
            status=Status.NEW,
            priority=row.priority,
            channel="email",
            requester=requesters[index % len(requesters)],
            organization=requesters[0].organization,
        )
        for index, row in enumerate(rows)
    )
    for ticket, row in zip(made, rows, strict=True):  # auto_now_add overrode the dates
        ticket.created_at = start + (row.at - rows[0].at)
    Ticket.objects.bulk_update(made, ["created_at"])
    Message.objects.bulk_create(
        Message(ticket=ticket, kind="reply", author=ticket.requester, channel="email",
                body_text=row.body)
        for ticket, row in zip(made, rows, strict=True)
    )  # fmt: skip
    return made


@pytest.fixture
def requesters(acme):
    return [make_user(f"req{n}", organization=acme) for n in range(7)]


@pytest.mark.parametrize("chunk", [services.STORM_CHUNK, 7])
def test_a_stream_triaged_in_batches_groups_its_storms_as_one_at_a_time_would(
    requesters, settings_row, monkeypatch, chunk
):
    # given: a day of tickets with three injected storms, none triaged yet, the
    # similarities of a batch computed `chunk` tickets at a time
    monkeypatch.setattr(services, "STORM_CHUNK", chunk)
    settings_row.storm_by_category = False  # text, as the replay below compares
    settings_row.save()
    rows = synthetic.generate(160, seed=7, storms=3, days=1)
    made = _bulk_open(rows, requesters, start=timezone.now() - timedelta(days=2))
    # when: the worker claims them 50 at a time, oldest first
    ids = [t.pk for t in sorted(made, key=lambda t: (t.created_at, t.pk))]
    for first in range(0, len(ids), 50):
        results = triage_ticket.func([[pk] for pk in ids[first : first + 50]])
        assert len(results) == len(ids[first : first + 50])
    # then: the incidents hold exactly the tickets the stream replay groups
    stored = {t.pk: t for t in Ticket.objects.filter(pk__in=ids).select_related()}
    arrivals = [
        ml.Arrival(pk, stored[pk].created_at, ml.ticket_text(stored[pk].subject, row.body))
        for pk, row in zip([t.pk for t in made], rows, strict=True)
    ]
    arrivals.sort(key=lambda a: (a.at, a.id))
    rules = ml.StormRules(
        size=settings_row.storm_size,
        minutes=settings_row.storm_minutes,
        similarity=settings_row.storm_similarity,
        by_category=False,
    )
    expected = {frozenset(a.id for a in found.members) for found in ml.track(arrivals, rules)}
    grouped: dict[int, set[int]] = {}
    for incident_id, ticket_id in IncidentTicket.objects.values_list("incident_id", "ticket_id"):
        grouped.setdefault(incident_id, set()).add(ticket_id)
    assert len(expected) >= 2
    assert {frozenset(group) for group in grouped.values()} == expected
    for incident in Incident.objects.all():
        assert incident.ticket_count == len(grouped[incident.pk])
        assert incident.problem_id is not None


def test_a_rerun_of_a_batch_changes_nothing(requesters, settings_row):
    rows = synthetic.generate(60, seed=7, storms=3, days=1)
    made = _bulk_open(rows, requesters, start=timezone.now() - timedelta(days=2))
    calls = [[t.pk] for t in made]
    triage_ticket.func(calls)
    links = sorted(IncidentTicket.objects.values_list("incident_id", "ticket_id"))
    assert links
    again = triage_ticket.func(calls)
    assert sorted(IncidentTicket.objects.values_list("incident_id", "ticket_id")) == links
    # The rerun answers each linked ticket's incident (an earlier member's included).
    incident_of = {ticket_id: incident_id for incident_id, ticket_id in links}
    assert [r.get("incident") for r in again] == [incident_of.get(t.pk) for t in made]


def test_a_batch_of_quiet_tickets_costs_a_fixed_number_of_queries(
    requesters, settings_row, django_assert_max_num_queries
):
    """Fifty tickets far apart (no storm, no duplicate, no model yet): the same few
    queries as one ticket, not fifty times them."""
    settings_row.duplicate_hours = 1
    settings_row.save()
    rows = synthetic.generate(50, seed=5, storms=0, days=20)
    made = _bulk_open(rows, requesters, start=timezone.now() - timedelta(days=30))
    with django_assert_max_num_queries(12):
        results = triage_ticket.func([[t.pk] for t in made])
    assert [r.get("incident", "missing") for r in results] == [None] * 50


# -- duplicates among many ---------------------------------------------------------------

PAIRS = ["Printer on floor 2 jams on every page", "VPN drops every ten minutes",
         "Laptop screen flickers after the update"]  # fmt: skip


@pytest.fixture
def written_twice(requesters):
    """Three requesters who each wrote the same thing twice, a minute apart (not triaged)."""
    start = timezone.now() - timedelta(hours=1)
    rows = [
        synthetic.Generated(0, start + timedelta(minutes=n), "en", PAIRS[n // 2],
                            PAIRS[n // 2] + ("." if n % 2 else "!"), "Printers", "P3",
                            "Service Desk", None)
        for n in range(6)
    ]  # fmt: skip
    return _bulk_open(rows, [requesters[n // 2] for n in range(6)], start=start)


def test_a_batchs_duplicates_are_flagged_each_with_its_own_original(written_twice):
    made = written_twice
    results = triage_ticket.func([[t.pk] for t in made])
    flags = {f.ticket_id: f for f in DuplicateFlag.objects.all()}
    assert {pk: f.original_id for pk, f in flags.items()} == {
        made[n].pk: made[n - 1].pk for n in (1, 3, 5)
    }
    assert [r["duplicate"] for r in results] == [
        flags[t.pk].pk if t.pk in flags else None for t in made
    ]
    events = TicketEvent.objects.filter(kind=EventKind.DUPLICATE_FLAGGED)
    assert {e.ticket_id: e.data for e in events} == {
        made[n].pk: {
            "original": made[n - 1].number,
            "similarity": round(flags[made[n].pk].similarity, 3),
            "summary": f"Probably the same as #{made[n - 1].number}",
        }
        for n in (1, 3, 5)
    }
    # A rerun answers the same flags and writes nothing.
    assert triage_ticket.func([[t.pk] for t in made]) == results
    assert events.count() == 3


def test_a_flag_that_fails_leaves_the_batchs_other_flags_in_place(written_twice):
    made = written_twice

    def refuse(sender, *, ticket_id, event_kinds, **kwargs):
        if ticket_id == made[3].pk and EventKind.DUPLICATE_FLAGGED in event_kinds:
            raise RuntimeError("refused")

    ticket_changed.connect(refuse, dispatch_uid="test.refuse_flag")
    try:
        results = triage_ticket.func([[t.pk] for t in made])
    finally:
        ticket_changed.disconnect(dispatch_uid="test.refuse_flag")
    flagged = {made[1].pk, made[5].pk}
    assert set(DuplicateFlag.objects.values_list("ticket_id", flat=True)) == flagged
    events = TicketEvent.objects.filter(kind=EventKind.DUPLICATE_FLAGGED)
    assert set(events.values_list("ticket_id", flat=True)) == flagged
    assert [bool(r["duplicate"]) for r in results] == [t.pk in flagged for t in made]


# -- similar tickets among many ------------------------------------------------------------


def test_a_near_duplicate_ranks_first_however_many_newer_tickets_share_its_common_words(
    trained, maria, carol, alice, teams, committed
):
    # given: an old ticket with rare words, and more newer tickets sharing its common
    # words than one page of candidates holds
    with committed():
        original = tickets.open_ticket(
            acting_user=maria,
            subject="Plotter T830 prints magenta stripes",
            body="The plotter T830 in room 4B prints magenta stripes on every page.",
        )
        tickets.update_ticket(original, acting_user=alice, team=teams["L1"])
    Ticket.objects.filter(pk=original.pk).update(created_at=timezone.now() - timedelta(days=60))
    rows = [
        synthetic.Generated(0, timezone.now(), "en", "The printer prints stripes",
                            f"The printer prints stripes on every page, case {n}.",
                            "Printers", "P3", "Service Desk", None)
        for n in range(services.SIMILAR_CANDIDATES + 50)
    ]  # fmt: skip
    newer = _bulk_open(rows, [maria], start=timezone.now() - timedelta(days=1))
    index_tickets([t.pk for t in newer])
    with committed():
        again = tickets.open_ticket(
            acting_user=maria,
            subject="plotter T830: magenta stripes again",
            body="Our plotter T830 prints magenta stripes on every page again.",
        )
    # when / then: as a supervisor, and as an agent of the original's team
    for person in (carol, alice):
        found = services.similar_tickets(person, again)
        assert found[0].number == original.number, person
        assert again.number not in [s.number for s in found]
        assert len(found) == 5


def test_rarest_words_are_chosen_by_the_models_document_frequencies(trained):
    from soporte.search.text import parse_query

    query = parse_query("the printer jams zyxwv every page")
    rare = services._rarest(query, "en", 2)
    # A word the history never had counts as the rarest; typed order is kept.
    assert "zyxwv" in rare.words and len(rare.words) == 2
    assert list(rare.words) == [w for w in query.words if w in rare.words]


def test_a_window_larger_than_the_vector_cache_is_vectorised_whole(monkeypatch):
    from soporte.triage import services

    monkeypatch.setattr(services, "_TRIAGE_VECTORS", ml.KeptVectors(3))
    kept = services._TRIAGE_VECTORS
    keys = [(pk, f"printer {pk} jams") for pk in range(1, 6)]
    assert len(kept.rows(keys[:2])) == 2
    rows = kept.rows(keys)  # two kept, three new, the cache holds three
    assert len(rows) == 5 and len(kept._rows) == 3
    assert (ml.stack(rows) != ml.vectors([text for _pk, text in keys])).nnz == 0
