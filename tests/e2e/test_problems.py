"""Problems in the browser: an agent makes a problem from a ticket, marks it a known error
with a workaround, and the ticket page shows the workaround."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from soporte.problems.models import Problem

from .conftest import set_password

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_agent_turns_a_ticket_into_a_known_error(new_page, sign_in, alice, maria, make_ticket):
    ticket = make_ticket(subject="Outlook keeps asking for my password")
    set_password(alice)
    page = new_page()
    sign_in(page, alice)

    page.goto(f"/desk/tickets/{ticket.number}/")
    page.get_by_role("link", name="New problem from this ticket").click()
    expect(page.locator("#id_title")).to_have_value("Outlook keeps asking for my password")
    page.select_option("#id_status", "known_error")
    page.fill("#id_root_cause", "Legacy authentication was switched off.")
    page.fill("#id_workaround", "Remove the account in Outlook and add it again.")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".messages")).to_contain_text("Problem recorded.")
    problem = Problem.objects.get()
    assert list(problem.tickets.values_list("number", flat=True)) == [ticket.number]

    page.get_by_role("link", name=f"#{ticket.number}").click()
    panel = page.locator("#ticket-problems")
    expect(panel).to_contain_text("Known error")
    expect(panel.locator(".workaround")).to_contain_text(
        "Remove the account in Outlook and add it again."
    )
