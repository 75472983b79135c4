"""A requester finds their own tickets through the requester copied onto each search
document (soporte/search/models.py), and the tickets they watch through the watchers
list: also after a ticket changes requester, and after the migration's backfill."""

from __future__ import annotations

import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import connection

from soporte.search.models import Document
from soporte.tickets import services
from soporte.tickets.models import Ticket

pytestmark = pytest.mark.django_db


def _requesters(ticket) -> set[int | None]:
    return set(Document.objects.filter(ticket_id=ticket.pk).values_list("requester_id", flat=True))


def test_a_ticket_given_to_another_requester_is_found_by_the_new_one_only(
    make_ticket, maria, marco, alice, index, found
):
    # given
    ticket = make_ticket(requester=maria, subject="Escáner roto", body="El escáner no enciende")
    services.reply(ticket, acting_user=alice, body="Pruebe el cable del escáner")
    index(ticket)
    assert found(maria, "escaner") == [ticket.number]
    assert found(marco, "escaner") == []
    # when
    Ticket.objects.filter(pk=ticket.pk).update(requester=marco)
    # then: hidden from Maria at once, before its documents are corrected
    assert found(maria, "escaner") == []
    index(ticket)
    assert _requesters(ticket) == {marco.pk}
    assert found(maria, "cable") == []
    assert found(marco, "escaner") == [ticket.number]
    assert found(marco, "cable") == [ticket.number]


def test_a_requester_finds_the_tickets_they_watch_and_no_other(
    make_ticket, maria, marco, index, found
):
    own = make_ticket(requester=maria, subject="Ratón inalámbrico")
    watched = make_ticket(requester=marco, subject="Ratón sin pilas")
    unwatched = make_ticket(requester=marco, subject="Ratón con doble clic")
    watched.watchers.add(maria)
    index(own, watched, unwatched)
    assert sorted(found(maria, "raton")) == sorted([own.number, watched.number])
    assert sorted(found(marco, "raton")) == sorted([watched.number, unwatched.number])


def test_the_migration_copies_the_requester_onto_existing_documents(
    make_ticket, maria, alice, index, found
):
    ticket = make_ticket(requester=maria, subject="Altavoz mudo")
    services.reply(ticket, acting_user=alice, body="Suba el volumen")
    index(ticket)
    Document.objects.update(requester_id=None)  # as before the migration
    assert found(maria, "altavoz") == []
    migration = importlib.import_module("soporte.search.migrations.0006_document_requester")
    # The backfill needs only the editor's connection and execute(); SQLite's real editor
    # cannot open inside the test's transaction.
    editor = SimpleNamespace(
        connection=connection,
        execute=lambda sql, params=None: connection.cursor().execute(sql, params),
    )
    migration.backfill(apps, editor)
    assert _requesters(ticket) == {maria.pk}
    assert found(maria, "altavoz") == [ticket.number]
    assert found(maria, "volumen") == [ticket.number]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's own-documents-first search")
def test_a_requesters_documents_read_first_rank_as_the_index_ranks_them(
    make_ticket, maria, marco, alice, index, monkeypatch
):
    """fts5.py reads a plain requester's documents first and ranks them itself (bm25 as
    the FTS5 rank computes it); that must find and order what walking the index's
    matches finds, with the same scores, internal notes and others' tickets left out."""
    from soporte.search import fts5
    from soporte.search.queries import parse, scope_for, ticket_hits

    tickets = [
        make_ticket(requester=maria, subject="Impresora atascada", body="La impresora no imprime"),
        make_ticket(requester=maria, subject="Printer toner", body="Toner low on the printer"),
        make_ticket(requester=maria, subject="Monitor", body="Screen flickers; impresora ok"),
        make_ticket(requester=marco, subject="Impresora de Marco", body="Impresora rota"),
    ]
    services.add_note(tickets[2], acting_user=alice, body="Impresora impresora")
    services.reply(tickets[1], acting_user=alice, body="Cambie el tóner de la impresora")
    watched = make_ticket(requester=marco, subject="Impresora compartida", body="Sin papel")
    watched.watchers.add(maria)
    index(*tickets, watched)

    def hits(text: str, own_first: int) -> list[tuple[int, int, float]]:
        monkeypatch.setattr(fts5, "OWN_FIRST", own_first)
        found = ticket_hits(parse(text), scope_for(maria), limit=10, offset=0)
        return [(hit.ticket_id, hit.document_id, round(hit.score, 9)) for hit in found]

    for text in ["impresora", "printer toner", "impresora toner", "monitor", "teclado"]:
        assert hits(text, own_first=10_000) == hits(text, own_first=0), text
    assert {ticket_id for ticket_id, _, _ in hits("impresora", own_first=10_000)} == {
        tickets[0].pk,
        tickets[1].pk,
        tickets[2].pk,
        watched.pk,
    }
