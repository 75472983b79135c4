"""An organization's lead finds the organization's tickets through the organization
copied onto each search document (soporte/search/models.py), never another's: also
after a ticket moves, after a merge, a full reindex, and the migration's backfill."""

from __future__ import annotations

import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import connection

from soporte.search import services as search
from soporte.search.models import Document
from soporte.tickets import services
from soporte.tickets.models import Ticket

pytestmark = pytest.mark.django_db


def _lead(user):
    user.sees_organization_tickets = True
    user.save(update_fields=["sees_organization_tickets"])
    return user


@pytest.fixture
def marco_leads_acme(marco):
    return _lead(marco)


@pytest.fixture
def pedro_leads_globex(pedro):
    return _lead(pedro)


def _organizations(ticket) -> set[int | None]:
    return set(
        Document.objects.filter(ticket_id=ticket.pk).values_list("organization_id", flat=True)
    )


def test_a_ticket_moved_to_another_organization_is_found_by_the_new_one_only(
    make_ticket, maria, alice, globex, marco_leads_acme, pedro_leads_globex, index, found
):
    # given
    ticket = make_ticket(requester=maria, subject="Pantalla azul", body="Pantalla azul")
    services.reply(ticket, acting_user=alice, body="Reinicie la pantalla, por favor")
    index(ticket)
    assert found(marco_leads_acme, "pantalla") == [ticket.number]
    assert found(pedro_leads_globex, "pantalla") == []
    # when (no service moves a ticket yet; the receiver re-indexes on any field change)
    Ticket.objects.filter(pk=ticket.pk).update(organization=globex)
    # then: hidden from Acme at once, before its documents are corrected
    assert found(marco_leads_acme, "pantalla") == []
    index(ticket)
    assert _organizations(ticket) == {globex.pk}
    assert Document.objects.filter(ticket_id=ticket.pk).count() == 2
    assert found(marco_leads_acme, "pantalla") == []
    assert found(marco_leads_acme, "reinicie") == []
    assert found(pedro_leads_globex, "pantalla") == [ticket.number]
    assert found(pedro_leads_globex, "reinicie") == [ticket.number]
    # Maria requested it: she still finds it, in whichever organization.
    assert found(maria, "pantalla") == [ticket.number]


def test_a_lead_finds_their_own_ticket_of_another_organization(
    make_ticket, globex, marco_leads_acme, pedro_leads_globex, maria, index, found
):
    own = make_ticket(requester=marco_leads_acme, subject="Portátil lento")
    colleague = make_ticket(requester=maria, subject="Portátil sin batería")
    Ticket.objects.filter(pk=own.pk).update(organization=globex)
    index(own, colleague)
    assert sorted(found(marco_leads_acme, "portatil")) == sorted([own.number, colleague.number])
    assert found(pedro_leads_globex, "portatil") == [own.number]


def test_a_lead_finds_a_watched_ticket_of_the_organization_once(
    make_ticket, marco_leads_acme, pedro, maria, index, found
):
    """The lead's search reads the organization's documents, their own, and those of
    the other tickets they see apart: a ticket in two of those is found once. Watching
    another organization's ticket shows it to nobody (accounts.policy)."""
    colleague = make_ticket(requester=maria, subject="Proyector apagado")
    colleague.watchers.add(marco_leads_acme)
    own = make_ticket(requester=marco_leads_acme, subject="Proyector sin cable")
    elsewhere = make_ticket(requester=pedro, subject="Proyector roto")
    elsewhere.watchers.add(marco_leads_acme)
    index(colleague, own, elsewhere)
    assert sorted(found(marco_leads_acme, "proyector")) == sorted([colleague.number, own.number])


def test_a_lead_never_finds_a_ticket_by_words_of_an_internal_note(
    make_ticket, maria, alice, marco_leads_acme, index, found
):
    ticket = make_ticket(requester=maria, subject="Correo lento")
    services.add_note(ticket, acting_user=alice, body="Sospecho del antivirus")
    index(ticket)
    assert found(marco_leads_acme, "correo") == [ticket.number]
    assert found(marco_leads_acme, "antivirus") == []


def test_a_message_merged_into_another_organizations_ticket_takes_its_organization(
    make_ticket, maria, pedro_leads_globex, marco_leads_acme, alice, index, found
):
    source = make_ticket(requester=maria, subject="Impresora atascada")
    services.reply(source, acting_user=alice, body="Revise la bandeja del girasol")
    target = make_ticket(requester=pedro_leads_globex, subject="Impresora de Globex")
    index(source, target)
    services.merge(source, into=target, acting_user=alice)
    index(source, target)
    assert _organizations(target) == {target.organization_id}
    assert found(pedro_leads_globex, "girasol") == [target.number]
    assert found(marco_leads_acme, "girasol") == []


def test_a_full_reindex_copies_each_tickets_organization(
    make_ticket, maria, pedro, alice, acme, globex
):
    acmes = make_ticket(requester=maria, subject="Teclado")
    services.reply(acmes, acting_user=alice, body="¿Qué teclas?")
    globexs = make_ticket(requester=pedro, subject="Ratón")
    search.reindex()
    assert _organizations(acmes) == {acme.pk}
    assert _organizations(globexs) == {globex.pk}


def test_the_migration_copies_the_organization_onto_existing_documents(
    make_ticket, maria, alice, acme, marco_leads_acme, index, found
):
    ticket = make_ticket(requester=maria, subject="Monitor apagado")
    services.reply(ticket, acting_user=alice, body="Pruebe otro cable")
    index(ticket)
    Document.objects.update(organization_id=None)  # as before the migration
    assert found(marco_leads_acme, "monitor") == []
    migration = importlib.import_module("soporte.search.migrations.0005_document_organization")
    # The backfill needs only the editor's connection and execute(); SQLite's real editor
    # cannot open inside the test's transaction.
    editor = SimpleNamespace(
        connection=connection,
        execute=lambda sql, params=None: connection.cursor().execute(sql, params),
    )
    migration.backfill(apps, editor)
    assert _organizations(ticket) == {acme.pk}
    assert found(marco_leads_acme, "monitor") == [ticket.number]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's ranking of matches")
def test_matches_ranked_outside_the_index_rank_as_the_index_ranks_them(
    make_ticket, maria, pedro, marco_leads_acme, alice, index, monkeypatch
):
    """fts5.py walks an organization lead's matches, and an agent's in a window when
    few are expected, and ranks those in scope itself (bm25 as the FTS5 rank computes
    it): the same tickets, documents and scores as the rank, with internal notes and
    other organizations' tickets left out of the lead's."""
    from soporte.search import fts5
    from soporte.search.backend import get_backend
    from soporte.search.queries import parse, scope_for
    from soporte.search.text import fts5_match

    tickets = [
        make_ticket(requester=maria, subject="Impresora atascada", body="La impresora no imprime"),
        make_ticket(requester=maria, subject="Printer toner", body="Toner low on the printer"),
        make_ticket(requester=marco_leads_acme, subject="Monitor", body="Screen; impresora ok"),
    ]
    services.add_note(tickets[2], acting_user=alice, body="Impresora impresora")
    services.reply(tickets[1], acting_user=alice, body="Cambie el tóner de la impresora")
    elsewhere = make_ticket(requester=pedro, subject="Impresora de Globex", body="Impresora")
    index(*tickets, elsewhere)
    backend = get_backend()
    lead, agent = scope_for(marco_leads_acme), scope_for(alice)
    assert lead.organization_id is not None

    for scope in (lead, agent):
        for text in ["impresora", "printer toner", "impresora toner", "monitor", "teclado"]:
            query = parse(text)
            assert backend._few_matches(query, 10)  # ten documents: few matches
            here = backend.search(query, scope, limit=10, offset=0, window=10)
            sql, params = backend._matches_first_sql(fts5_match(query), scope, 10, 0, 0)
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                ranked = [(ticket, doc, round(-score, 9)) for ticket, doc, score in cursor]
            found = [(h.ticket_id, h.document_id, round(h.score, 9)) for h in here]
            assert found == ranked, text
    found = {hit.ticket_id for hit in backend.search(parse("impresora"), lead, limit=10, offset=0)}
    assert found == {ticket.pk for ticket in tickets}
    everywhere = backend.search(parse("impresora"), agent, limit=10, offset=0, window=10)
    assert {hit.ticket_id for hit in everywhere} == {t.pk for t in [*tickets, elsewhere]}
    # More matches than expected for an agent: ranked by the index after all.
    monkeypatch.setattr(fts5, "RANK_HERE_AT_MOST", 1)
    query = parse("impresora")
    assert backend._matches_ranked_here(query, agent, limit=10, offset=0, after_id=0) is None
    again = backend.search(query, agent, limit=10, offset=0, window=10)
    assert [(h.ticket_id, h.document_id, round(h.score, 9)) for h in again] == [
        (h.ticket_id, h.document_id, round(h.score, 9)) for h in everywhere
    ]
