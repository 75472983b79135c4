"""Flow helpers: the shipped examples imported by Carol (a supervisor), and `walk`, which
answers a run through the services."""

from __future__ import annotations

import pytest

from soporte.flows import services
from soporte.flows.demo import EXAMPLES
from soporte.flows.models import Flow, FlowRun


@pytest.fixture
def printer(carol) -> Flow:
    """Printer does not print (English, public): power -> error-light -> ..."""
    flow, _ = services.import_flow(
        (EXAMPLES / "printer-not-printing.yaml").read_bytes(), acting_user=carol
    )
    return flow


@pytest.fixture
def network_es(carol) -> Flow:
    flow, _ = services.import_flow((EXAMPLES / "sin-conexion.yaml").read_bytes(), acting_user=carol)
    return flow


@pytest.fixture
def walk():
    """walk(run, user, "Yes", "No", ...) answers by label; returns the run."""

    def answer_all(run: FlowRun, user, *labels: str) -> FlowRun:
        for label in labels:
            node = services.current_node(run)
            choice = [a.label for a in node.answers].index(label)
            run = services.answer(run, acting_user=user, choice=choice)
        return run

    return answer_all


@pytest.fixture
def l1_ticket(make_ticket, alice, maria, teams):
    """Maria's ticket, opened by Alice in the Service Desk L1 queue."""
    return make_ticket(acting_user=alice, requester=maria, team=teams["L1"])
