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
