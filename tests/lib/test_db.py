"""soporte.lib.db.insert_row: the cheap INSERT for rows written once per message."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from soporte.accounts.models import User
from soporte.lib.db import insert_row
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
