"""PostgreSQL's two query shapes (soporte/search/postgres.py) give the same answers: a
requester's tickets listed as an array or, past the array's limit, as a subquery; an
agent's visibility checked while walking the ranking, page after page."""

from __future__ import annotations

import pytest
from django.db import connection

from soporte.search import postgres

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only"),
]


def test_a_requester_finds_the_same_past_the_array_limit(
    make_ticket, maria, marco, index, found, monkeypatch
):
    tickets = [make_ticket(requester=maria, subject=f"Monitor flickers {n}") for n in range(3)]
    index(*tickets, make_ticket(requester=marco, subject="Monitor flickers too"))
    listed = found(maria, "monitor")
    assert sorted(listed) == sorted(t.number for t in tickets)
    monkeypatch.setattr(postgres, "_MAX_LISTED", 1)
    assert found(maria, "monitor") == listed


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
