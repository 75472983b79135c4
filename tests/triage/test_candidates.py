"""Candidates for similar tickets: the newest matches of the search index, kept to those
the person may see in the same query (candidates.visible_scope), and the candidates'
hashed word vectors kept between lookups (ml.KeptVectors)."""

from __future__ import annotations

import numpy as np
import pytest

from soporte.accounts import policy
from soporte.search.services import index_tickets
from soporte.search.text import parse_query
from soporte.tickets import services as tickets
from soporte.triage import candidates, ml


@pytest.fixture
def jams(alice, maria, teams):
    """Three printer tickets, oldest first: for L1, for L2, and for no team."""
    opened = []
    for n, team in enumerate(("L1", "L2", None)):
        ticket = tickets.open_ticket(acting_user=maria, subject=f"Printer {n}", body="It jams.")
        if team:
            tickets.update_ticket(ticket, acting_user=alice, team=teams[team])
        opened.append(ticket)
    index_tickets([t.pk for t in opened])
    return opened


def _newest(person, *, limit: int = 10, exclude: int = 0) -> list[int]:
    scope = candidates.visible_scope(policy.visible_tickets(person))
    assert scope is not None
    found = candidates.newest_matching(
        parse_query("printer jams"), every=True, exclude=exclude, limit=limit, scope=scope
    )
    return [match.ticket_id for match in found]


def test_the_newest_matches_are_only_those_the_person_may_see(jams, bob, carol):
    l1, l2, no_team = jams
    assert not policy.can_view(bob, l1)
    assert _newest(bob) == [no_team.pk, l2.pk]  # newest first
    everyone = candidates.newest_matching(
        parse_query("printer jams"), every=True, exclude=0, limit=10
    )
    assert [m.ticket_id for m in everyone] == [no_team.pk, l2.pk, l1.pk]
    assert _newest(carol) == [no_team.pk, l2.pk, l1.pk]


def test_only_the_newest_matches_scanned_are_checked(jams, alice, bob):
    l1, l2, no_team = jams
    assert _newest(bob, limit=1) == [no_team.pk]
    assert _newest(bob, limit=1, exclude=no_team.pk) == [l2.pk]
    # For Alice (L1), ticket L2 is the newest match once the newest is left out: she may
    # not see it, and the scan stops there instead of walking on to older matches.
    assert _newest(alice, limit=1, exclude=no_team.pk) == []
    assert _newest(alice, limit=2, exclude=no_team.pk) == [l1.pk]


def test_someone_who_may_see_nothing_has_no_scope(jams, alice):
    alice.is_active = False
    assert candidates.visible_scope(policy.visible_tickets(alice)) is None


def test_kept_vectors_give_the_similarities_of_fresh_ones():
    kept = ml.KeptVectors(size=2)
    text = "the printer on floor two jams"
    others = [(1, "printer jams on every page"), (2, "VPN drops"), (3, "")]

    def fresh(pairs):
        return ml.similarities(ml.vectors([text]), ml.vectors([t for _key, t in pairs]))

    assert np.allclose(kept.similarities(text, others), fresh(others))
    assert len(kept._rows) == 2  # the least recently used dropped
    assert np.allclose(kept.similarities(text, others[1:]), fresh(others[1:]))
    changed = [(2, "the printer jams again"), (1, "printer jams on every page")]
    assert np.allclose(kept.similarities(text, changed), fresh(changed))  # 2's new text
    assert kept.similarities(text, []).shape == (0,)
