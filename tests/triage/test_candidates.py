"""Candidates for similar tickets: the visibility check compiled once (candidates.visible_among)."""

from __future__ import annotations

from soporte.accounts import policy
from soporte.tickets import services as tickets
from soporte.triage import candidates


def test_visible_among_keeps_exactly_the_ids_policy_lets_the_person_see(alice, bob, maria, teams):
    opened = []
    for n, team in enumerate(("L1", "L2", None)):
        ticket = tickets.open_ticket(acting_user=maria, subject=f"Printer {n}", body="It jams.")
        if team:
            tickets.update_ticket(ticket, acting_user=alice, team=teams[team])
        opened.append(ticket)
    ids = [t.pk for t in opened] + [10**9]  # and one that does not exist
    expected = set(policy.visible_tickets(bob).filter(pk__in=ids).values_list("pk", flat=True))
    among = candidates.visible_among(policy.visible_tickets(bob))
    assert among(ids) == expected == {opened[1].pk, opened[2].pk}
    assert among(ids[:1]) == set()  # the same compiled query, other ids
    assert among([]) == set()


def test_visible_among_for_someone_who_may_see_nothing(alice, maria):
    ticket = tickets.open_ticket(acting_user=maria, subject="Printer", body="It jams.")
    alice.is_active = False
    among = candidates.visible_among(policy.visible_tickets(alice))
    assert among([ticket.pk]) == set()
