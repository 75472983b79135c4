"""Triage in a browser: an agent opens a new ticket, sees what the model suggests with
its confidence, and applies the category with one click."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from soporte.tickets import services as tickets
from soporte.triage import services
from tests.triage.conftest import history, kinds, lucia, trained  # noqa: F401  (fixtures)

from .conftest import set_password

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.usefixtures("trained")
def test_an_agent_applies_a_suggested_category_in_one_click(new_page, sign_in, alice, maria):
    row = services.get_settings()
    row.auto_apply_threshold = 1.01  # offer everything, apply nothing on its own
    row.save()
    ticket = tickets.open_ticket(
        acting_user=maria,
        subject="The printer jams on every page",
        body="Hello, the printer jams on every page. Thanks!",
    )
    set_password(alice)
    page = new_page()
    sign_in(page, alice)
    page.goto(f"/desk/tickets/{ticket.number}/")

    box = page.locator("#triage-panel")
    category = box.locator("li[data-field=category]")
    expect(category).to_contain_text("Printers")
    expect(category).to_contain_text("confidence")
    category.get_by_role("button", name="Apply").click()

    expect(page.locator(".message.success")).to_contain_text("Suggestion applied")
    expect(page.locator("#triage-panel li[data-field=category]")).to_contain_text("Accepted")
    ticket.refresh_from_db()
    assert ticket.category.name == "Printers"
