"""PostgreSQL's query shapes (soporte/search/postgres.py): a requester's and an
organization lead's search in one statement; an agent's visibility checked while walking
the ranking, page after page."""

from __future__ import annotations

import pytest
from django.db import connection

from soporte.search.backend import get_backend
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
