"""PostgreSQL's query shapes (soporte/search/postgres.py): a requester's and an
organization lead's search in one statement; an agent's visibility checked while walking
the ranking, page after page."""

from __future__ import annotations

import pytest
from django.db import connection

from soporte.search.backend import get_backend
from soporte.search.models import Document
from soporte.search.queries import parse, scope_for

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only"),
]


def test_a_search_of_known_words_is_one_statement_that_leaves_the_session_as_it_was(
    make_ticket, maria, marco, index, django_assert_num_queries
):
    """Requesters' and organization leads' searches: the words' tsqueries are kept
    after the first search, the watched tickets are read inside the statement, and the
    planner setting a lead's search needs is set and reset in that same round trip."""
    marco.sees_organization_tickets = True
    marco.save(update_fields=["sees_organization_tickets"])
    own = make_ticket(requester=maria, subject="Monitor flickers")
    colleague = make_ticket(requester=marco, subject="Monitor flickers too")
    index(own, colleague)
    backend, query = get_backend(), parse("monitor flickers")
    for user, expected in ((maria, [own.pk]), (marco, sorted([own.pk, colleague.pk]))):
        scope = scope_for(user)
        backend.search(query, scope, limit=5, offset=0)
        with django_assert_num_queries(1):
            hits = backend.search(query, scope, limit=5, offset=0)
        assert sorted(hit.ticket_id for hit in hits) == expected
    with connection.cursor() as cursor:
        cursor.execute("SHOW enable_indexscan")
        assert cursor.fetchone()[0] == "on"


def test_an_agents_pages_follow_one_another_without_hidden_tickets(
    make_ticket, maria, carol, alice, teams, index, found
):
    visible = [make_ticket(requester=maria, subject=f"Docking station {n}") for n in range(5)]
    hidden = make_ticket(
        acting_user=carol, requester=maria, subject="Docking station L3", team=teams["L3"]
    )
    index(*visible, hidden)
    pages = [found(alice, "docking", limit=2, offset=offset) for offset in (0, 2, 4, 6)]
    assert [len(page) for page in pages] == [2, 2, 1, 0]
    assert sorted(n for page in pages for n in page) == sorted(t.number for t in visible)
    assert hidden.number in found(carol, "docking")


def test_a_window_of_the_newest_documents_is_applied_inside_the_gin_index(
    make_ticket, maria, alice, index
):
    """Migration 0007: one GIN index holds the vector, the id and the organization
    (btree_gin), so a window's `id > n` can narrow the index scan itself; a search
    without a window has no id condition at all (`id > 0` would read every id entry)."""
    old = make_ticket(requester=maria, subject="Toner cartridge empty")
    new = make_ticket(requester=maria, subject="Toner cartridge leaks")
    index(old, new)
    backend, query, scope = get_backend(), parse("toner"), scope_for(alice)
    newest_of_old = max(d.pk for d in Document.objects.filter(ticket=old))
    everything = backend.search(query, scope, limit=5, offset=0)
    assert sorted(hit.ticket_id for hit in everything) == sorted([old.pk, new.pk])
    window = backend.search(query, scope, limit=5, offset=0, after_id=newest_of_old)
    assert [hit.ticket_id for hit in window] == [new.pk]

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes"
            " WHERE tablename = 'search_document' AND indexdef LIKE '%%USING gin%%'"
        )
        assert [row[0].split(" USING ")[1] for row in cursor.fetchall()] == [
            "gin (vector, id, organization_id)"
        ]
    assert " id > " not in backend._agent_sql("x", scope, 5, 0, 0)[0]
    assert " id > " not in backend._requester_sql("x", scope_for(maria), 5, 0, 0)[0]
    # A narrow window is read in the index (the cast matches btree_gin's operator); a
    # wide one is a filter on the matches' rows.
    assert "m.id > 7::bigint" in backend._agent_sql("x", scope, 5, 0, 7, window=50_000)[0]
    assert "m.id + 0 > 7" in backend._agent_sql("x", scope, 5, 0, 7, window=200_000)[0]
