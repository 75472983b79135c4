"""A troubleshooting flow in the browser: an L1 agent opens "Troubleshoot" on a ticket,
answers step by step (going back once), reaches a solution, and the path appears on
the ticket as an internal note."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from soporte.flows import services
from soporte.flows.demo import EXAMPLES
from soporte.tickets import services as tickets
from soporte.tickets.models import EventKind

from .conftest import set_password

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_agent_runs_a_flow_on_a_ticket_to_a_solution(new_page, sign_in, alice, carol, maria,
                                                        teams):  # fmt: skip
    services.import_flow((EXAMPLES / "printer-not-printing.yaml").read_bytes(), acting_user=carol)
    ticket = tickets.open_ticket(
        acting_user=alice, requester=maria, subject="Nothing prints", body="Nothing at all.",
        team=teams["L1"],
    )  # fmt: skip
    set_password(alice)
    page = new_page()
    sign_in(page, alice)

    page.goto(f"/desk/tickets/{ticket.number}/")
    page.locator("#flows-panel").get_by_role("link", name="Troubleshoot").click()
    page.get_by_role("button", name="Printer does not print").click()

    expect(page.locator(".flow-question")).to_contain_text("Is the printer switched on")
    page.get_by_role("button", name="Yes").click()
    expect(page.locator(".flow-question")).to_contain_text("Does the display show an error")
    page.get_by_role("button", name="Back").click()
    expect(page.locator(".flow-question")).to_contain_text("Is the printer switched on")
    page.get_by_role("button", name="No").click()
    expect(page.locator(".flow-solution")).to_contain_text("power cable")
    page.get_by_role("button", name="Solved: record it on the ticket").click()

    expect(page).to_have_url(f"{page.url.split('/desk/')[0]}/desk/tickets/{ticket.number}/")
    expect(page.locator(".messages")).to_contain_text("internal note")
    expect(page.get_by_text('Troubleshooting flow "Printer does not print"')).to_be_visible()
    expect(
        page.get_by_text("Is the printer switched on, with its display lit? — No")
    ).to_be_visible()
    assert ticket.events.filter(kind=EventKind.FLOW_RUN).count() == 1
