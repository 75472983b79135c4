"""Human ticket numbers (#1001, #1002, ...), gapless and safe under concurrency."""

from __future__ import annotations

from django.db import connection

FIRST_NUMBER = 1001


def next_ticket_number() -> int:
    """Take the next number. Call inside the transaction that creates the ticket.

    One UPDATE ... RETURNING on a counter row: the row lock (PostgreSQL) or the write
    lock (SQLite) makes concurrent creators queue, and a rolled-back creation gives its
    number back. The row is created on first use, after any tickets already present.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE tickets_counter SET value = value + 1 WHERE name = %s RETURNING value",
            ["ticket"],
        )
        row = cursor.fetchone()
        if row is None:
            cursor.execute(
                "INSERT INTO tickets_counter (name, value) "
                "SELECT %s, COALESCE(MAX(number), %s) FROM tickets_ticket WHERE 1 = 1 "
                "ON CONFLICT (name) DO NOTHING",
                ["ticket", FIRST_NUMBER - 1],
            )
            cursor.execute(
                "UPDATE tickets_counter SET value = value + 1 WHERE name = %s RETURNING value",
                ["ticket"],
            )
            row = cursor.fetchone()
    return int(row[0])
