"""Two people taking the last place at the same moment: the session row is locked, so
one gets the place and the other the waiting list. PostgreSQL only (SQLite runs one
writer at a time anyway)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from soporte.training import services
from soporte.training.models import AttendeeStatus

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_the_last_place_goes_to_one_person_only(make_session, carol, maria, marco):
    session = make_session(capacity=1)
    services.invite(session, acting_user=carol, users=[maria, marco])
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def accept(person):
        try:
            start.wait()
            services.respond(session, acting_user=person, accept=True)
        except BaseException as error:  # noqa: BLE001  (reported below)
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=accept, args=(p,)) for p in (maria, marco)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    statuses = sorted(session.attendees.values_list("status", flat=True))
    assert statuses == sorted([AttendeeStatus.ACCEPTED, AttendeeStatus.WAITING])
