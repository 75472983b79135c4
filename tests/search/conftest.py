"""Helpers for search tests: index tickets explicitly, search as a person."""

from __future__ import annotations

import pytest

from soporte.search import services
from soporte.search.queries import search_tickets


@pytest.fixture
def index():
    """index(*tickets): bring their search documents up to date, as the receiver does
    after each commit."""

    def run(*tickets) -> None:
        for ticket in tickets:
            services.index_ticket(ticket.pk)

    return run


@pytest.fixture
def found():
    """found(user, words) -> the numbers of the tickets the search returns, best first."""

    def run(user, text: str, **kwargs) -> list[int]:
        return [hit.number for hit in search_tickets(user, text, **kwargs).items]

    return run


@pytest.fixture
def without_receiver():
    """Ticket changes are not indexed by the receiver, only by explicit index() calls:
    for tests that count what index_ticket itself does."""
    from soporte.search.receivers import on_ticket_changed
    from soporte.tickets.signals import ticket_changed

    ticket_changed.disconnect(dispatch_uid="search.index_on_ticket_change")
    yield
    ticket_changed.connect(on_ticket_changed, dispatch_uid="search.index_on_ticket_change")
