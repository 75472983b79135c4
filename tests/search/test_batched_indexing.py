"""Ticket changes are indexed by a batched job after their commit: many tickets in a fixed
number of queries, with the same documents as one by one."""

from __future__ import annotations

import pytest

from soporte.jobs.models import Job
from soporte.search import services as search
from soporte.search.models import Document, Kind
from soporte.tickets import services

pytestmark = pytest.mark.django_db


def _documents() -> list[tuple]:
    return sorted(
        Document.objects.filter(kind__in=[Kind.TICKET, Kind.MESSAGE]).values_list(
            "kind", "object_id", "ticket_id", "internal", "title", "body"
        )
    )


def test_a_change_queues_the_indexing_of_its_ticket(make_ticket, maria):
    ticket = make_ticket(acting_user=maria, subject="Webcam", body="La webcam no va")
    assert Job.objects.filter(name="search.index_tickets", args=[ticket.pk]).exists()
    assert not Document.objects.filter(ticket_id=ticket.pk).exists()  # not before the commit


def test_a_change_that_leaves_the_text_alone_queues_nothing(make_ticket, maria, alice):
    """Events that only record a link (problem, incident, duplicate) or a clock move
    change no indexed text: no indexing job for them. A reply still queues one."""
    from soporte.tickets.models import EventKind

    ticket = make_ticket(acting_user=maria, subject="Webcam", body="La webcam no va")
    queued = Job.objects.filter(name="search.index_tickets", args=[ticket.pk])
    before = queued.count()
    services.log_event(ticket, acting_user=None, kind=EventKind.SLA_WARNING, summary="x")
    services.log_event(ticket, acting_user=None, kind=EventKind.DUPLICATE_FLAGGED, summary="x")
    assert queued.count() == before
    services.reply(ticket, acting_user=alice, body="¿Está enchufada?")
    assert queued.count() == before + 1


def test_many_tickets_are_indexed_in_a_fixed_number_of_queries(
    make_ticket, maria, alice, django_assert_max_num_queries
):
    tickets = [make_ticket(acting_user=maria, subject=f"Monitor {n}") for n in range(12)]
    for ticket in tickets[:6]:
        services.reply(ticket, acting_user=alice, body="¿Está enchufado?")
        services.add_note(ticket, acting_user=alice, body="Nota interna")
    with django_assert_max_num_queries(12):
        changes = search.index_tickets([t.pk for t in tickets])
    assert changes == search.Changes(written=12 + 12)
    assert search.index_tickets([t.pk for t in tickets]) == search.Changes()


def test_indexing_together_writes_what_indexing_one_by_one_does(make_ticket, maria, alice):
    tickets = [make_ticket(acting_user=maria, subject=f"Teclado {n}") for n in range(3)]
    services.reply(tickets[0], acting_user=alice, body="Pruebe otro puerto USB")
    services.resolve(tickets[1], acting_user=alice, resolution="Cambiamos el teclado")
    duplicate = make_ticket(acting_user=maria, subject="Teclado repetido", body="Igual")
    services.add_note(duplicate, acting_user=alice, body="Nota del duplicado")
    search.index_tickets([duplicate.pk])
    services.merge(duplicate, into=tickets[2], acting_user=alice)
    ids = [t.pk for t in [*tickets, duplicate]]

    search.index_tickets(ids)
    together = _documents()
    Document.objects.all().delete()
    for pk in ids:
        search.index_ticket(pk)

    assert together == _documents()
    assert not Document.objects.filter(ticket_id=duplicate.pk).exists()
