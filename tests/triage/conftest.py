"""Triage helpers: a labelled history (synthetic tickets in English and Spanish, opened
through the ticket services with the category, team and priority an agent chose), and a
model trained on it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from soporte.accounts.models import Role
from soporte.search.services import index_tickets
from soporte.tickets.models import Category, Message, Status, Ticket
from soporte.triage import services, synthetic
from tests.conftest import make_user

TEAM_OF = {"Service Desk": "L1", "Infrastructure": "L2", "Applications": "L3"}


@pytest.fixture
def lucia(acme):
    """A Spanish-speaking requester at Acme."""
    return make_user("lucia", organization=acme, language="es")


@pytest.fixture
def kinds(db) -> dict[str, Category]:
    return {name: Category.objects.create(name=name) for name in synthetic.CATALOGUE}


@pytest.fixture
def history(alice, maria, lucia, teams, kinds):
    """160 resolved tickets of last month, labelled as agents left them (seeded, no
    storms). Written in bulk: history is data here, not the behaviour under test."""
    rows = synthetic.generate(160, seed=11, storms=0, noise=0.0)
    month_ago = timezone.now() - timedelta(days=30)
    made = Ticket.objects.bulk_create(
        Ticket(
            number=900_000 + index,
            subject=row.subject,
            status=Status.RESOLVED,
            priority=row.priority,
            channel="web",
            requester=lucia if row.language == "es" else maria,
            organization=maria.organization,
            category=kinds[row.category],
            team=teams[TEAM_OF[row.team]],
            created_at=month_ago + timedelta(minutes=index),
        )
        for index, row in enumerate(rows)
    )
    for index, ticket in enumerate(made):  # auto_now_add overrode the dates on insert
        ticket.created_at = month_ago + timedelta(minutes=index)
    Ticket.objects.bulk_update(made, ["created_at"])
    Message.objects.bulk_create(
        Message(ticket=ticket, kind="reply", author=ticket.requester, channel="web",
                body_text=row.body)
        for ticket, row in zip(made, rows, strict=True)
    )  # fmt: skip
    index_tickets([ticket.pk for ticket in made])
    return made


@pytest.fixture
def trained(history, ada):
    return services.train_model(acting_user=ada, seed=0)


@pytest.fixture
def settings_row(db):
    return services.get_settings()


@pytest.fixture
def dana(teams):
    """An agent of no team: sees only tickets no team owns yet."""
    return make_user("dana", Role.AGENT)
