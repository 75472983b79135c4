"""Playbooks helpers: the Security › Malware category with the shipped templates linked
(malware removal attaches itself to its tickets), and `malware_ticket`, Alice's ticket
for Maria in that category, in the Service Desk queue."""

from __future__ import annotations

import pytest
from django.test import Client

from soporte.playbooks.defaults import ensure_default_templates
from soporte.playbooks.models import ChecklistTemplate
from soporte.tickets.models import Category


@pytest.fixture
def malware(db) -> Category:
    security = Category.objects.create(name="Security")
    category = Category.objects.create(name="Malware", parent=security)
    ensure_default_templates()
    return category


@pytest.fixture
def removal(malware) -> ChecklistTemplate:
    return ChecklistTemplate.objects.get(key="malware-removal")


@pytest.fixture
def malware_ticket(make_ticket, alice, maria, teams, malware):
    return make_ticket(
        acting_user=alice, requester=maria, team=teams["L1"], assignee=alice, category=malware,
        subject="Pop-ups everywhere",
    )  # fmt: skip


@pytest.fixture
def desk():
    def client_for(user, **kwargs) -> Client:
        client = Client(**kwargs)
        client.force_login(user)
        return client

    return client_for


def check_all(ticket, user, required_only: bool = True) -> None:
    from soporte.playbooks import services
    from soporte.playbooks.models import ChecklistStep

    steps = ChecklistStep.objects.filter(checklist__ticket=ticket)
    if required_only:
        steps = steps.filter(required=True)
    for step in steps:
        services.set_step(ticket, step.pk, acting_user=user, done=True)
