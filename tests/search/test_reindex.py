"""`soporte reindex` and reindex(): rebuild every document from tickets and messages."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import call_command

from soporte.search import services as search
from soporte.search.models import Document, Kind
from soporte.search.queries import search_tickets
from soporte.tickets import services
from soporte.tickets.models import Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def conversation(make_ticket, alice, maria, teams):
    """Two tickets: one with a reply and an internal note, one merged into the first."""
    ticket = make_ticket(acting_user=alice, requester=maria, team=teams["L1"], subject="Wifi")
    services.reply(ticket, acting_user=alice, body="Reinicie el router")
    services.add_note(ticket, acting_user=alice, body="Router del proveedor")
    duplicate = make_ticket(acting_user=alice, requester=maria, team=teams["L1"], subject="Red")
    services.merge(duplicate, into=ticket, acting_user=alice)
    return ticket


def test_reindex_rebuilds_every_document(conversation, carol, maria):
    Document.objects.all().delete()
    done = []
    count = search.reindex(progress=lambda n, total: done.append((n, total)))
    # The ticket's document (subject and description), the reply, the note, and the
    # duplicate's first message that moved in the merge; the duplicate has none.
    kinds = sorted(Document.objects.values_list("kind", "internal"))
    assert count == 4 == len(kinds)
    assert kinds == [("message", False), ("message", False), ("message", True), ("ticket", False)]
    assert done[-1][0] == 4
    assert [hit.number for hit in search_tickets(carol, "router proveedor").items] == [
        conversation.number
    ]
    assert search_tickets(maria, "proveedor").items == []


def test_reindex_drops_stale_documents(conversation):
    search.index_documents(
        [
            Document(
                kind=Kind.MESSAGE, object_id=10**9, body="stale", updated_at=conversation.updated_at
            )
        ]
    )
    search.reindex()
    assert not Document.objects.filter(object_id=10**9).exists()


def test_the_command_shows_progress_and_a_final_rate(conversation):
    out, err = StringIO(), StringIO()
    call_command("reindex", stdout=out, stderr=err)
    assert re.fullmatch(r"Indexed 4 documents in \d+\.\d s \([\d,]+/s\)\.\n", out.getvalue())
    assert re.search(r"\[#+\.*\] 4/\d+ documents, [\d,]+/s", err.getvalue())


def test_reindex_keeps_other_areas_documents(conversation, carol):
    """An article written by the knowledge base stays indexed and found."""
    from soporte.search.objects import object_scope, search_objects
    from soporte.search.text import parse_query
    from soporte.tickets.models import Ticket

    search.index_documents(
        [
            Document(
                kind=Kind.ARTICLE,
                object_id=conversation.pk,  # any id the scope below allows
                title="Reiniciar el módem",
                body="Desenchufe el módem diez segundos",
                updated_at=conversation.updated_at,
            )
        ]
    )
    search.reindex()
    scope = object_scope(Ticket.objects.all(), include_internal=False)
    hits = search_objects(Kind.ARTICLE, parse_query("modem"), scope, limit=5)
    assert [hit.object_id for hit in hits] == [conversation.pk]
    assert Document.objects.filter(kind=Kind.ARTICLE).count() == 1


_FIELDS = (
    "kind", "object_id", "ticket_id", "organization_id", "requester_id", "internal",
    "title", "body", "updated_at",
)  # fmt: skip


def _documents() -> list[tuple]:
    return sorted(
        Document.objects.filter(kind__in=[Kind.TICKET, Kind.MESSAGE]).values_list(*_FIELDS)
    )


def test_reindex_writes_what_indexing_each_ticket_writes(
    conversation, make_ticket, alice, maria, pedro
):
    """The set-based rebuild (one INSERT ... SELECT per chunk of tickets) matches
    index_tickets, field for field: descriptions, resolutions, notes, merges, bodies
    past MAX_BODY, a ticket whose first message is an internal note."""
    # given
    resolved = make_ticket(requester=pedro, subject="Impresora", body="No imprime")
    services.reply(resolved, acting_user=alice, body="Cambie el tóner")
    services.resolve(resolved, acting_user=alice, resolution="Tóner nuevo instalado")
    make_ticket(requester=maria, subject="Registro", body="x" * (search.MAX_BODY + 10))
    note_first = make_ticket(acting_user=alice, requester=maria, subject="Llamada", body="Nota")
    services.reply(note_first, acting_user=maria, body="Sigue sin funcionar")
    note_first.messages.filter(body_text="Nota").update(internal=True)
    search.index_tickets(Ticket.objects.values_list("pk", flat=True))
    one_by_one = _documents()
    # when
    Document.objects.all().delete()
    count = search.reindex(chunk=2)  # several chunks, one of them the merged ticket
    # then
    assert _documents() == one_by_one
    assert count == len(one_by_one)
    assert {row[4] for row in one_by_one} == {maria.pk, pedro.pk}
