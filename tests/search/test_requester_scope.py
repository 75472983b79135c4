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
