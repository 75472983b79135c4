"""soporte.lib.db.insert_row: the cheap INSERT for rows written once per message, and
insert_rows, many rows in one statement."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from soporte.accounts.models import User
from soporte.lib.db import insert_row, insert_rows
from soporte.tickets.models import Message, MessageKind, Ticket, TicketEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def maria():
    return User.objects.create(username="maria", email="maria@acme.example")


def test_it_writes_the_row_as_save_would(maria):
    ticket = insert_row(Ticket(number=5001, subject="Printer", channel="email", requester=maria))

    assert ticket.pk is not None
    assert not ticket._state.adding
    stored = Ticket.objects.get(pk=ticket.pk)
    # Defaults and auto_now fields, as save(force_insert=True) writes them.
    assert (stored.status, stored.version, stored.tier) == ("new", 1, "L1")
    assert stored.created_at == ticket.created_at is not None
    assert stored.updated_at == ticket.updated_at is not None


def test_rows_written_after_it_refer_to_it(maria):
    ticket = insert_row(Ticket(number=5002, subject="VPN", channel="web", requester=maria))
    message = insert_row(
        Message(ticket=ticket, kind=MessageKind.REPLY, author=maria, channel="web", body_text="x")
    )
    event = insert_row(TicketEvent(ticket=ticket, actor=maria, kind="created", data={"a": 1}))

    assert list(ticket.messages.values_list("pk", flat=True)) == [message.pk]
    assert TicketEvent.objects.get(pk=event.pk).data == {"a": 1}


def test_a_duplicate_is_refused_like_any_insert(maria):
    insert_row(Ticket(number=5003, subject="one", channel="web", requester=maria))

    with pytest.raises(IntegrityError), transaction.atomic():
        insert_row(Ticket(number=5003, subject="two", channel="web", requester=maria))

    assert Ticket.objects.filter(number=5003).count() == 1


def test_many_rows_are_written_in_one_statement_as_save_would(maria, django_assert_num_queries):
    tickets = [
        Ticket(number=5010 + n, subject=f"Printer {n}", channel="email", requester=maria)
        for n in range(3)
    ]

    with django_assert_num_queries(1):
        written = insert_rows(tickets)

    assert written == tickets
    assert all(t.pk is not None and not t._state.adding for t in tickets)
    stored = {t.pk: t for t in Ticket.objects.filter(number__gte=5010)}
    assert [stored[t.pk].subject for t in tickets] == ["Printer 0", "Printer 1", "Printer 2"]
    assert all(stored[t.pk].created_at == t.created_at is not None for t in tickets)
    assert {stored[t.pk].status for t in tickets} == {"new"}


def test_rows_beyond_what_one_statement_takes_go_in_the_next(maria, monkeypatch):
    from django.db import connection

    monkeypatch.setattr(connection.ops, "bulk_batch_size", lambda fields, objs: 2)
    events = [TicketEvent(actor=maria, kind="created", data={"n": n}) for n in range(5)]
    ticket = insert_row(Ticket(number=5020, subject="VPN", channel="web", requester=maria))
    for event in events:
        event.ticket = ticket

    insert_rows(events)

    assert [e.data["n"] for e in ticket.events.order_by("pk")] == [0, 1, 2, 3, 4]
    assert [e.pk for e in events] == list(ticket.events.order_by("pk").values_list("pk", flat=True))


def test_where_many_rows_cannot_return_their_ids_each_is_written_alone(
    maria, monkeypatch, django_assert_num_queries
):
    from django.db import connection

    monkeypatch.setattr(type(connection.features), "can_return_rows_from_bulk_insert", False)
    tickets = [
        Ticket(number=5050 + n, subject=f"Printer {n}", channel="email", requester=maria)
        for n in range(2)
    ]
    with django_assert_num_queries(2):
        insert_rows(tickets)
    assert [Ticket.objects.get(pk=t.pk).number for t in tickets] == [5050, 5051]


def test_rows_with_ids_already_are_refused_and_none_is_nothing(maria):
    assert insert_rows([]) == []
    with pytest.raises(ValueError, match="new rows"):
        insert_rows([Ticket(pk=1, number=5030, subject="x", channel="web", requester=maria)])


def test_a_duplicate_among_many_rows_writes_none_of_them(maria):
    tickets = [
        Ticket(number=5040, subject="one", channel="web", requester=maria),
        Ticket(number=5040, subject="two", channel="web", requester=maria),
    ]
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_rows(tickets)
    assert not Ticket.objects.filter(number=5040).exists()
