"""Human ticket numbers: #1001, #1002, ... with no gaps and no duplicates."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections, transaction

from soporte.lib.errors import InvalidInput
from soporte.tickets.models import Counter, Ticket
from soporte.tickets.numbering import FIRST_NUMBER, next_ticket_number


def test_numbers_start_at_1001_and_have_no_gaps(make_ticket):
    numbers = [make_ticket().number for _ in range(5)]
    assert FIRST_NUMBER == 1001
    assert numbers == [1001, 1002, 1003, 1004, 1005]
    assert sorted(Ticket.objects.values_list("number", flat=True)) == numbers
    assert Counter.objects.get(name="ticket").value == 1005


def test_a_rolled_back_creation_gives_its_number_back(make_ticket):
    assert make_ticket().number == 1001
    with pytest.raises(RuntimeError), transaction.atomic():
        assert make_ticket().number == 1002
        raise RuntimeError("the request failed after the ticket was written")
    assert make_ticket().number == 1002


def test_a_refused_creation_gives_its_number_back(make_ticket):
    """open_ticket takes the number, then fails on a bad tag: the number is not lost."""
    assert make_ticket().number == 1001
    with pytest.raises(InvalidInput):
        make_ticket(tags=["t" * 51])
    assert make_ticket().number == 1002


def test_the_counter_starts_after_tickets_already_present(make_ticket, maria):
    """A database filled before the counter existed (e.g. an import) keeps counting on."""
    ticket = make_ticket()
    Ticket.objects.filter(pk=ticket.pk).update(number=5000)
    Counter.objects.all().delete()
    assert make_ticket().number == 5001
    assert next_ticket_number() == 5002


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite serializes every writer on one lock; concurrency is tested on PostgreSQL",
)
@pytest.mark.django_db(transaction=True)
def test_concurrent_creation_yields_unique_gapless_numbers(make_ticket):
    """Creators in several threads (each with its own connection) queue on the counter."""
    threads, per_thread = 8, 5
    start = threading.Barrier(threads)
    numbers: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work():
        try:
            start.wait()
            for _ in range(per_thread):
                number = make_ticket().number
                with lock:
                    numbers.append(number)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connections.close_all()

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert not errors, errors
    total = threads * per_thread
    assert len(numbers) == total
    assert sorted(numbers) == list(range(FIRST_NUMBER, FIRST_NUMBER + total))
    assert Ticket.objects.count() == total
